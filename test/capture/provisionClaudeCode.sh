#!/usr/bin/env bash
# Provisions the real Claude Code (npm @anthropic-ai/claude-code, pinned) into .tools/claude-code
# (git-ignored) for the capture tests; never a dependency a user's `npm ci` downloads.
# Idempotent: a second run finds the stamped install and returns at once. Built as
# test/e2e/provision.sh builds code-server: the install runs with none of the outer npm's
# variables, in a fresh staging folder that is checked and stamped before it replaces
# .tools/claude-code, so an interrupted install never leaves a half-built tool that later runs trust.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=.tools/claude-code
VERSION=2.1.328
STAMP_TEXT="claude-code $VERSION"

# True when $1 holds a working Claude Code of the wanted version.
complete() {
  local dir=$1
  [ "$(cat "$dir/.provisioned" 2>/dev/null)" = "$STAMP_TEXT" ] || return 1
  "$dir/node_modules/@anthropic-ai/claude-code/bin/claude.exe" --version 2>/dev/null | grep -q "^$VERSION "
}

if complete "$TOOLS"; then
  echo "claude-code provision: ready ($VERSION)"
  exit 0
fi

# shellcheck source=test/cleanNpm.sh
source test/cleanNpm.sh

mkdir -p .tools
rm -rf .tools/claude-code.staging-*
STAGING=$(mktemp -d .tools/claude-code.staging-XXXXXX)
trap 'rm -rf "$STAGING"' EXIT
cat > "$STAGING/package.json" <<JSON
{
  "name": "agent-audit-trail-claude-code-tools",
  "private": true,
  "version": "0.0.0",
  "allowScripts": { "@anthropic-ai/claude-code": true }
}
JSON
echo "claude-code provision: npm install @anthropic-ai/claude-code@$VERSION"
# Its postinstall puts the platform's native binary (an optional dependency) in place of bin/claude.exe.
(cd "$STAGING" && clean_npm npm install --no-audit --no-fund --loglevel=error "@anthropic-ai/claude-code@$VERSION")
echo "$STAMP_TEXT" > "$STAGING/.provisioned"
if ! complete "$STAGING"; then
  echo "claude-code provision: the installed Claude Code does not run (see above)" >&2
  exit 1
fi
rm -rf "$TOOLS"
mv "$STAGING" "$TOOLS"
trap - EXIT
echo "claude-code provision: ready ($VERSION)"
