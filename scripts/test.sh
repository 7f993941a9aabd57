#!/usr/bin/env bash
# `make test`: every test — unit, integration, end-to-end — against the local Postgres and Redis.
# Each test creates (and drops) its own database and Redis key prefix, so they run in parallel.
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO_ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

export TEST_DATABASE_URL="${TEST_DATABASE_URL:-$LEADPOOL_PG_ADMIN_URL}"
export TEST_REDIS_URL="${TEST_REDIS_URL:-$LEADPOOL_REDIS_URL}"

# Databases left behind by a test run that was killed.
stale=$(psql "$TEST_DATABASE_URL" -qAtc "SELECT datname FROM pg_database WHERE datname LIKE 'leadpool\_test\_%'")
for db in $stale; do
    psql "$TEST_DATABASE_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null
done

# Headless Chromium (Debian's package; nothing downloads a browser) draws the simulation
# report's plots in leadpoolctl's tests and runs the console's end-to-end tests.
command -v chromium >/dev/null || apt_install chromium

if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --workspace "$@"
else
    warn "cargo-nextest not found; running cargo test (install it with: cargo install cargo-nextest --locked)"
    cargo test --workspace "$@"
fi

# The console end to end: a real headless Chromium against the real stack its tests start
# from these binaries.
if [ $# -eq 0 ]; then
    cargo build --bins
    scripts/console.sh build
    (cd console && LEADPOOL_BIN_DIR="$REPO_ROOT/target/debug" npm run --silent test:e2e)
fi
