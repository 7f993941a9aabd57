#!/usr/bin/env bash
# `make down`: stops what `make up` started — the services, and Postgres or Redis only if
# `make up` had to start them. `--services-only` leaves Postgres and Redis alone.
set -uo pipefail
source "$(dirname "$0")/common.sh"

stop_pid_file() {
    local file="$1"
    [ -f "$file" ] || return 0
    local pid
    pid=$(cat "$file")
    if kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid" 2>/dev/null
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -f "$file"
}

for service in intake routing claim scheduler; do
    stop_pid_file "$RUN_DIR/$service.pid"
done
stop_pid_file "$RUN_DIR/nginx.pid"
stop_pid_file "$RUN_DIR/tail.pid"
echo "services stopped"
[ "${1:-}" = "--services-only" ] && exit 0

if [ -f "$RUN_DIR/started-redis" ]; then
    redis-cli -h 127.0.0.1 -p 6379 shutdown nosave >/dev/null 2>&1 || true
    rm -f "$RUN_DIR/started-redis"
    echo "redis stopped"
fi
if [ -f "$RUN_DIR/started-postgres" ]; then
    cluster=$(pg_lsclusters --no-header 2>/dev/null | awk '{print $1" "$2; exit}')
    # shellcheck disable=SC2086
    [ -n "$cluster" ] && as_root pg_ctlcluster --skip-systemctl-redirect $cluster stop
    rm -f "$RUN_DIR/started-postgres"
    echo "postgres stopped"
fi
# Last, so a `make down` from another terminal ends `make up`'s foreground wait too.
if [ -f "$RUN_DIR/up.pid" ] && [ "$(cat "$RUN_DIR/up.pid")" != "$PPID" ]; then
    up=$(cat "$RUN_DIR/up.pid")
    rm -f "$RUN_DIR/up.pid"
    kill -TERM "$up" 2>/dev/null || true
fi
rm -f "$RUN_DIR/up.pid"
