#!/usr/bin/env bash
# `make reset`: stops the services `make up` started, drops the development database and deletes
# the development Redis keys, so the next `make up` starts from an empty deployment and loads the
# demo. Test databases and test Redis prefixes are not touched.
set -euo pipefail
source "$(dirname "$0")/common.sh"

# A running `make up` ends too; Postgres and Redis must answer for the reset itself.
"$REPO_ROOT/scripts/down.sh" >/dev/null
"$REPO_ROOT/scripts/ensure-deps.sh" >/dev/null
database=$(basename "${LEADPOOL_DATABASE__URL%%\?*}")
psql "$LEADPOOL_PG_ADMIN_URL" -qc "DROP DATABASE IF EXISTS \"$database\" WITH (FORCE)" >/dev/null
say "dropped database $database"
prefix="${LEADPOOL_REDIS__KEY_PREFIX:-leadpool:}"
deleted=0
while read -r key; do
    [ -n "$key" ] || continue
    redis-cli -u "$LEADPOOL_REDIS_URL" del "$key" >/dev/null
    deleted=$((deleted + 1))
done < <(redis-cli -u "$LEADPOOL_REDIS_URL" --scan --pattern "${prefix}*")
say "deleted $deleted Redis keys under $prefix; make up starts from scratch"
