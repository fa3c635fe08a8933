#!/usr/bin/env bash
# Provisions what the end-to-end tests need, from Debian and the npm registry only, into
# .tools/e2e (git-ignored). Idempotent: a second run finds everything and returns at once.
#   - Debian: chromium (the browser Playwright drives), libkrb5-dev (code-server's native
#     modules build against it), sqlite3 (tests open trails without our code).
#   - npm: node@24 (code-server 4.139 needs Node 24; the package puts a binary in
#     node_modules/node/bin), then code-server@4.139.1, installed with that Node on PATH and
#     its install script allowed (it builds its native modules).
#
# Why it is built the way it is:
#   - `npm test` runs this from inside npm, which exports npm_config_* variables describing the
#     *outer* run (npm_config_user_agent names Node 20; code-server's install script reads it
#     and refuses). The inner installs therefore run with every npm_* variable removed, exactly
#     as if this script had been started from a plain shell.
#   - An interrupted install must never leave a half-built .tools/e2e that later runs trust
#     (dangling .bin links broke every later run). Everything is built in a fresh staging
#     folder, checked, stamped, and only then moved into place; a leftover staging folder or an
#     unstamped .tools/e2e is thrown away and rebuilt.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=.tools/e2e
CODE_SERVER_VERSION=4.139.1
NODE_MAJOR=24
STAMP_TEXT="code-server $CODE_SERVER_VERSION node $NODE_MAJOR"

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

need=()
[ -x /usr/bin/chromium ] || need+=(chromium)
dpkg -s libkrb5-dev >/dev/null 2>&1 || need+=(libkrb5-dev)
command -v sqlite3 >/dev/null || need+=(sqlite3)
# Go and its packaged golang.org/x/mod: the independent verifier of evidence bundles
# (test/go/verifybundle, built by test/attacks/evidenceGoCrossCheck.test.ts).
command -v go >/dev/null || need+=(golang-go)
# strace: the test that new folders are fsync'd into their parents reads the system calls.
command -v strace >/dev/null || need+=(strace)
dpkg -s golang-golang-x-mod-dev >/dev/null 2>&1 || need+=(golang-golang-x-mod-dev)
if [ ${#need[@]} -gt 0 ]; then
  echo "e2e provision: apt-get install ${need[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need[@]}" >/dev/null
fi

# True when $1 holds a complete, working toolset of the wanted versions.
complete() {
  local dir=$1
  [ "$(cat "$dir/.provisioned" 2>/dev/null)" = "$STAMP_TEXT" ] || return 1
  [ "$("$dir/node_modules/node/bin/node" --version 2>/dev/null | cut -d. -f1)" = "v$NODE_MAJOR" ] || return 1
  [ -f "$dir/node_modules/code-server/out/node/entry.js" ] || return 1
}

if complete "$TOOLS"; then
  echo "e2e provision: ready (code-server $CODE_SERVER_VERSION, $("$TOOLS/node_modules/node/bin/node" --version), $(/usr/bin/chromium --version 2>/dev/null | head -1))"
  exit 0
fi

# shellcheck source=test/cleanNpm.sh
source test/cleanNpm.sh

mkdir -p .tools
rm -rf .tools/e2e.staging-*
STAGING=$(mktemp -d .tools/e2e.staging-XXXXXX)
trap 'rm -rf "$STAGING"' EXIT
cat > "$STAGING/package.json" <<JSON
{
  "name": "agent-audit-trail-e2e-tools",
  "private": true,
  "version": "0.0.0",
  "allowScripts": { "code-server": true }
}
JSON

echo "e2e provision: npm install node@$NODE_MAJOR"
(cd "$STAGING" && clean_npm npm install --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR")
echo "e2e provision: npm install code-server@$CODE_SERVER_VERSION (builds native modules; a few minutes)"
(cd "$STAGING" && PATH="$PWD/node_modules/node/bin:$PATH" clean_npm npm install --no-audit --no-fund --loglevel=error "node@$NODE_MAJOR" "code-server@$CODE_SERVER_VERSION")
echo "$STAMP_TEXT" > "$STAGING/.provisioned"
if ! complete "$STAGING"; then
  echo "e2e provision: the installed tools do not work (see above)" >&2
  exit 1
fi
rm -rf "$TOOLS"
mv "$STAGING" "$TOOLS"
trap - EXIT
echo "e2e provision: ready (code-server $CODE_SERVER_VERSION, $("$TOOLS/node_modules/node/bin/node" --version), $(/usr/bin/chromium --version 2>/dev/null | head -1))"
