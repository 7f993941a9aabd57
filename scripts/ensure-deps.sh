#!/usr/bin/env bash
# Makes sure the tools and servers Leadpool needs are present and running on this machine:
# a Rust toolchain, a C linker, Postgres on 127.0.0.1:5432 and Redis on 127.0.0.1:6379.
# Installed servers are started; missing ones are installed with apt-get first. What this script
# starts is recorded in .run/ so `make down` stops only that.
set -euo pipefail
source "$(dirname "$0")/common.sh"

ensure_toolchain() {
    command -v cc >/dev/null || apt_install build-essential
    command -v curl >/dev/null || apt_install curl ca-certificates
    if ! command -v cargo >/dev/null; then
        if [ -x "$HOME/.cargo/bin/cargo" ]; then
            export PATH="$HOME/.cargo/bin:$PATH"
        else
            say "installing the Rust toolchain with rustup"
            curl --proto '=https' --tlsv1.2 -sSf https://sh.rustup.rs | sh -s -- -y --profile minimal -c rustfmt,clippy
            export PATH="$HOME/.cargo/bin:$PATH"
        fi
    fi
}

postgres_accepts_us() {
    psql "$LEADPOOL_PG_ADMIN_URL" -qAtc 'SELECT 1' >/dev/null 2>&1
}

ensure_postgres() {
    command -v pg_isready >/dev/null || command -v pg_lsclusters >/dev/null || apt_install postgresql postgresql-client
    command -v psql >/dev/null || apt_install postgresql-client
    if ! pg_isready -q -h 127.0.0.1 -p 5432; then
        command -v pg_lsclusters >/dev/null || apt_install postgresql
        local cluster
        cluster=$(pg_lsclusters --no-header 2>/dev/null | awk '{print $1" "$2; exit}')
        [ -n "$cluster" ] || die "Postgres is installed but has no cluster; create one with pg_createcluster"
        say "starting Postgres cluster $cluster"
        # shellcheck disable=SC2086
        as_root pg_ctlcluster --skip-systemctl-redirect $cluster start
        touch "$RUN_DIR/started-postgres"
        for _ in $(seq 1 50); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.2; done
        pg_isready -q -h 127.0.0.1 -p 5432 || die "Postgres did not come up on 127.0.0.1:5432"
    fi
    if ! postgres_accepts_us; then
        say "giving the postgres role the local development password"
        as_postgres "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\"" \
            || die "cannot log in to Postgres as $LEADPOOL_PG_ADMIN_URL; set LEADPOOL_PG_ADMIN_URL"
        postgres_accepts_us || die "cannot log in to Postgres as $LEADPOOL_PG_ADMIN_URL"
    fi
}

ensure_redis() {
    command -v redis-cli >/dev/null || apt_install redis-server redis-tools
    if [ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" != "PONG" ]; then
        command -v redis-server >/dev/null || apt_install redis-server
        say "starting Redis on 127.0.0.1:6379"
        redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
            --logfile "$RUN_DIR/logs/redis.log" --pidfile "$RUN_DIR/redis.pid"
        touch "$RUN_DIR/started-redis"
        for _ in $(seq 1 50); do [ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = "PONG" ] && break; sleep 0.1; done
        [ "$(redis-cli -h 127.0.0.1 ping 2>/dev/null)" = "PONG" ] || die "Redis did not come up on 127.0.0.1:6379"
    fi
}

# The console: Node.js to build it, nginx to serve it with the API under one origin.
ensure_console_tools() {
    command -v node >/dev/null || apt_install nodejs npm
    command -v nginx >/dev/null || apt_install nginx-light 2>/dev/null || apt_install nginx
    command -v python3 >/dev/null || apt_install python3
}

ensure_toolchain
ensure_postgres
ensure_redis
ensure_console_tools
say "Postgres and Redis are up"
