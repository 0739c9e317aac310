#!/usr/bin/env bash
# The whole forgejo-fleet loop on this machine: fake Forgejo, dispatcher, autoscaler, local provider.
# Exits 0 only when every job ran and nothing was left behind. Run with -h. CI runs it (.ci/run).
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

die() {
  echo "smoke-local: $*" >&2
  exit "${2:-1}"
}

command -v node >/dev/null 2>&1 || die "node is required (Node.js 20.18 or newer)" 2
node -e 'const [a, b] = process.versions.node.split(".").map(Number); process.exit(a > 20 || (a === 20 && b >= 18) ? 0 : 1)' ||
  die "Node.js 20.18 or newer is required (found $(node --version))" 2
[[ -d node_modules/tsx ]] || die "dependencies are missing: run npm ci first" 2
extra=()
for tool in curl jq; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "smoke-local: $tool is missing (Debian: apt-get install $tool): skipping the HTTP smoke, the loop still runs" >&2
    extra=(--no-http-smoke)
  fi
done

# Usage, option checks and the loop itself: scripts/smoke/local-loop.ts (-h prints the options).
exec node --conditions=source --import tsx scripts/smoke/local-loop.ts "$@" "${extra[@]}"
