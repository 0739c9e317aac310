#!/bin/sh
# The demo's "local VM" provider for forgejo-fleet's shell provider (docs/shell-provider.md):
#   command: [/path/to/forgejo-fleet/scripts/providers/local.sh]
set -eu
root=$(CDPATH='' cd -- "$(dirname -- "$0")/../.." && pwd)
cd "$root"
exec node --conditions=source --import tsx scripts/providers/local.ts "$@"
