#!/usr/bin/env bash
# Compile-time checked SQL: the `sqlx::query!` macros read the query metadata checked in under
# `.sqlx/`, so a machine without a database builds. This script regenerates that metadata from a
# freshly migrated database (`prepare`), or fails when it is stale (`check`, part of `make lint`).
#   scripts/sqlx.sh prepare | check | env
# `env` prints the variables that let the macros check against the database live while you
# write a query: eval "$(scripts/sqlx.sh env)".
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO_ROOT"
export PATH="$HOME/.cargo/bin:$PATH"

SQLX_CLI_VERSION=0.8.6   # the sqlx version in Cargo.toml
DB_NAME=leadpool_sqlx_metadata
DB_URL="${LEADPOOL_PG_ADMIN_URL%/*}/$DB_NAME"

ensure_sqlx_cli() {
    if ! cargo sqlx --version 2>/dev/null | grep -q " $SQLX_CLI_VERSION"; then
        say "installing sqlx-cli $SQLX_CLI_VERSION (once per machine)"
        cargo install sqlx-cli --version "$SQLX_CLI_VERSION" --locked --quiet \
            --no-default-features --features postgres,rustls
    fi
}

# A database with exactly the schema of the migrations in this checkout.
fresh_database() {
    export PGOPTIONS="-c client_min_messages=warning"
    psql "$LEADPOOL_PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS $DB_NAME WITH (FORCE)" >/dev/null
    psql "$LEADPOOL_PG_ADMIN_URL" -qc "CREATE DATABASE $DB_NAME" >/dev/null
    DATABASE_URL="$DB_URL" cargo sqlx migrate run --source shared/store/migrations >/dev/null
}

case "${1:-}" in
    prepare)
        ensure_sqlx_cli
        fresh_database
        DATABASE_URL="$DB_URL" cargo sqlx prepare --workspace -- --all-targets
        ;;
    check)
        ensure_sqlx_cli
        fresh_database
        DATABASE_URL="$DB_URL" cargo sqlx prepare --workspace --check -- --all-targets \
            || die "the query metadata in .sqlx/ is stale: run scripts/sqlx.sh prepare and commit .sqlx/"
        ;;
    env)
        fresh_database
        echo "export DATABASE_URL=$DB_URL SQLX_OFFLINE=false"
        ;;
    *)
        die "usage: scripts/sqlx.sh prepare | check | env"
        ;;
esac
