#!/usr/bin/env bash
# Provisions what the end-to-end tests need, from Debian and the npm registry only, into
# .tools/e2e (git-ignored). Idempotent: a second run finds everything and returns at once.
#   - Debian: chromium (the browser Playwright drives), libkrb5-dev (code-server's native
#     modules build against it).
#   - npm: node@24 (code-server 4.139 needs Node 24; the package puts a binary in
#     node_modules/node/bin), then code-server@4.139.1, installed with that Node on PATH and
#     its install script allowed (it builds its native modules).
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=.tools/e2e
CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
command -v sqlite3 >/dev/null || need+=(sqlite3)
if [ ${#need[@]} -gt 0 ]; then
  echo "e2e provision: apt-get install ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

mkdir -p "$TOOLS"
if [ ! -f "$TOOLS/package.json" ]; then
  cat > "$TOOLS/package.json" <<JSON
{
  "name": "agent-audit-trail-e2e-tools",
  "private": true,
  "version": "0.0.0",
  "allowScripts": { "code-server": true }
}
JSON
fi

node24="$TOOLS/node_modules/node/bin/node"
if [ ! -x "$node24" ] || [ "$("$node24" --version | cut -d. -f1)" != "v$NODE_MAJOR" ]; then
  echo "e2e provision: npm install node@$NODE_MAJOR"
  (cd "$TOOLS" && npm install --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR")
fi

cs_pkg="$TOOLS/node_modules/code-server/package.json"
if [ ! -f "$cs_pkg" ] || ! grep -q "\"version\": \"$CODE_SERVER_VERSION\"" "$cs_pkg"; then
  echo "e2e provision: npm install code-server@$CODE_SERVER_VERSION (builds native modules; a few minutes)"
  (cd "$TOOLS" && PATH="$PWD/node_modules/node/bin:$PATH" npm install --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" "code-server@$CODE_SERVER_VERSION")
fi
echo "e2e provision: ready (code-server $CODE_SERVER_VERSION, $("$node24" --version), $(/usr/bin/chromium --version 2>/dev/null | head -1))"
