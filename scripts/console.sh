#!/usr/bin/env bash
# The web console's build for make up, make test and the Tiltfile: dependencies installed from
# the lockfile when it changed, console/dist rebuilt when a source or a proto changed.
#   scripts/console.sh build      (prints nothing when all is current)
#   scripts/console.sh check      exit 1 (with the reason) when Node.js cannot build the console
set -euo pipefail
source "$(dirname "$0")/common.sh"
cd "$REPO_ROOT/console"

# The console's toolchain (Vite) needs Node.js 20.19 or newer.
node_ok() {
    command -v node >/dev/null || { echo "Node.js is not installed"; return 1; }
    local version
    version=$(node -p 'process.versions.node')
    node -e 'const [a,b]=process.versions.node.split(".").map(Number); process.exit(a>20||(a===20&&b>=19)?0:1)' \
        || { echo "Node.js $version is older than 20.19"; return 1; }
}

case "${1:-}" in
    check)
        node_ok
        ;;
    build)
        if ! why=$(node_ok); then
            die "$why: the console needs Node.js 20.19+ (Debian 13's nodejs, or nodejs.org)"
        fi
        if [ ! -f node_modules/.package-lock.json ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
            say "installing the console's dependencies (npm ci)"
            PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error
        fi
        stamp=dist/.built
        if [ ! -f "$stamp" ] || [ -n "$(find src proto ../proto index.html vite.config.ts package.json buf.gen.yaml \
                -newer "$stamp" -print -quit 2>/dev/null)" ]; then
            say "building the console"
            npm run --silent build >/dev/null
            touch "$stamp"
        fi
        ;;
    *)
        die "usage: scripts/console.sh build | check"
        ;;
esac
