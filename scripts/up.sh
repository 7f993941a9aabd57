#!/usr/bin/env bash
# `make up`: brings Postgres and Redis up, builds, migrates, starts the four services, loads a
# demo and shows a rep claiming a lead. Stays in the foreground (following the logs) until
# Ctrl-C; `make down` from another terminal stops it too.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO_ROOT"

"$REPO_ROOT/scripts/ensure-deps.sh"
export PATH="$HOME/.cargo/bin:$PATH"

say "building"
cargo build --bins
# The console is optional for the stack: without a recent Node.js the services still come up.
console=true
scripts/console.sh build || { console=false; warn "the console was not built (above); the services come up without it"; }

export LEADPOOL_AUTH__HS256_SECRET
LEADPOOL_AUTH__HS256_SECRET="$(dev_secret)"
export LEADPOOL_TELEMETRY__LOG_FORMAT=pretty
export LEADPOOL_SERVER__DRAIN_DELAY=0s
# Migrations run once here; the services need not race for them.
export LEADPOOL_DATABASE__MIGRATE_ON_START=false

say "migrating $LEADPOOL_DATABASE__URL"
target/debug/leadpool-migrate

"$REPO_ROOT/scripts/down.sh" --services-only >/dev/null 2>&1 || true
echo $$ > "$RUN_DIR/up.pid"
# Whatever ends this script — Ctrl-C, make down, a failed step — stops what it started.
trap '"$REPO_ROOT/scripts/down.sh"' EXIT
trap 'exit 0' INT TERM

# Each service gets only the settings it knows: configuration refuses unknown keys, so a
# misspelt variable is an error rather than silently ignored.
start() {
    local service="$1"
    shift
    env "$@" target/debug/leadpool-"$service" >"$RUN_DIR/logs/$service.log" 2>&1 &
    echo $! > "$RUN_DIR/$service.pid"
}
# The development sign-in (pick a person of the policy; the console's sign-in page) exists
# only here, with the development secret.
start routing LEADPOOL_AUTH__DEV_SIGN_IN=true
start intake
start claim LEADPOOL_REDIS__URL="$LEADPOOL_REDIS_URL"
start scheduler
say "started intake :50051, routing :50052, claim :50053, scheduler :50054"

# One origin for the browser: the console's files and every service's gRPC-web calls, routed
# by the one table (proto/routes.yaml). No identity provider here: the development sign-in.
CONSOLE_ADDR="${LEADPOOL_CONSOLE_ADDR:-127.0.0.1:8080}"
if $console; then
    echo '{"signIn": "dev"}' > "$RUN_DIR/console-config.json"
    python3 scripts/routes.py nginx --listen "$CONSOLE_ADDR" --root console/dist \
        --config-json "$RUN_DIR/console-config.json" --prefix "$RUN_DIR/nginx" \
        --backend intake=127.0.0.1:50051 --backend routing=127.0.0.1:50052 \
        --backend claim=127.0.0.1:50053 --backend scheduler=127.0.0.1:50054
    nginx -p "$RUN_DIR/nginx" -c "$RUN_DIR/nginx/nginx.conf" -g 'daemon off;' \
        >"$RUN_DIR/logs/nginx.log" 2>&1 &
    echo $! > "$RUN_DIR/nginx.pid"
fi

ready=false
for _ in $(seq 1 60); do
    for service in routing intake claim scheduler; do
        if ! kill -0 "$(cat "$RUN_DIR/$service.pid")" 2>/dev/null; then
            cat "$RUN_DIR/logs/$service.log"
            die "leadpool-$service stopped during start-up; its log is above"
        fi
    done
    if target/debug/leadpoolctl health --timeout 1s 2>/dev/null; then ready=true; break; fi
done
if ! $ready; then
    tail -n 20 "$RUN_DIR"/logs/{routing,intake,claim,scheduler}.log
    die "the services did not become ready within a minute; their logs are above"
fi

say "loading the demo"
# A demo that cannot run never takes the stack down with it.
target/debug/leadpoolctl demo --policy examples/p2-segmented-pools.yaml \
    || warn "the demo did not finish (see above); the services are up. make reset starts from an empty database"

console_line="  console: http://$CONSOLE_ADDR/   (sign in as anyone of the demo: wendy is a rep, max a manager)"
$console || console_line="  console: not built (needs Node.js 20.19+)"
cat <<MSG

$(say "Leadpool is up")
$console_line
  gRPC:   intake 127.0.0.1:50051  routing :50052  claim :50053  scheduler :50054
  metrics: http://127.0.0.1:9091/metrics (intake) … :9094 (scheduler)
  logs:   .run/logs/
  tokens: make token SUBJECT=reps/wendy ROLES=rep      (this one is valid for 8h:)
          $(target/debug/leadpoolctl token --subject reps/wendy --roles rep)
  try:    export LEADPOOL_AUTH__HS256_SECRET=\$(cat .run/dev-secret)
          target/debug/leadpoolctl pools
          target/debug/leadpoolctl explain route --score 80 --region west --source mql
          target/debug/leadpoolctl explain access --rep nora --pool east
          target/debug/leadpoolctl claim next west --as reps/nora
          target/debug/leadpoolctl apply -f examples/p3-tiered-pools.yaml --dry-run
          target/debug/leadpoolctl simulate -f examples/p3-tiered-pools.yaml \\
              --from $(date -u -d '1 day ago' +%FT%TZ) --to $(date -u +%FT%TZ) --html .run/what-if.html
          target/debug/leadpoolctl events watch            # every change, as it happens
          target/debug/leadpoolctl webhooks create --url http://127.0.0.1:8080/hook
  stop:   Ctrl-C here, or make down

MSG

tail -n 0 -F "$RUN_DIR"/logs/{routing,intake,claim,scheduler}.log &
echo $! > "$RUN_DIR/tail.pid"
wait
