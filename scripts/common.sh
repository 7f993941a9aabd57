# Shared by the scripts in this folder. Source it; do not run it.

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
RUN_DIR="$REPO_ROOT/.run"
mkdir -p "$RUN_DIR/logs"

# Local defaults. A password is set because a fresh Postgres install refuses passwordless TCP
# logins; servers with trust authentication simply ignore it.
: "${LEADPOOL_PG_ADMIN_URL:=postgres://postgres:postgres@127.0.0.1:5432/postgres}"
: "${LEADPOOL_DATABASE__URL:=postgres://postgres:postgres@127.0.0.1:5432/leadpool}"
: "${LEADPOOL_REDIS_URL:=redis://127.0.0.1:6379}"
export LEADPOOL_DATABASE__URL

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
warn() { printf '\033[33mwarning: %s\033[0m\n' "$*" >&2; }
die() { printf '\033[31merror: %s\033[0m\n' "$*" >&2; exit 1; }

# Runs a command as root: directly when we are root, through sudo otherwise.
as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

# Runs a command as the postgres OS user (peer authentication on the local socket).
as_postgres() {
    if [ "$(id -u)" -eq 0 ]; then su postgres -s /bin/sh -c "$*"; else sudo -u postgres sh -c "$*"; fi
}

apt_install() {
    command -v apt-get >/dev/null || die "$* is missing and this is not a Debian/Ubuntu machine: install it by hand"
    say "installing $* with apt-get"
    as_root env DEBIAN_FRONTEND=noninteractive apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

# The development secret services verify tokens with; made once per checkout, never committed.
dev_secret() {
    local file="$RUN_DIR/dev-secret"
    if [ ! -s "$file" ]; then
        head -c 48 /dev/urandom | base64 | tr -d '\n/+=' > "$file"
        chmod 600 "$file"
    fi
    cat "$file"
}
