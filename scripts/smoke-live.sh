#!/usr/bin/env bash
# Smoke test of a real forgejo-fleet deployment, driven from the environment. Run with -h.
set -euo pipefail

usage() {
  cat <<'USAGE'
usage: DISPATCHER_URL=URL DISPATCHER_TOKEN_FILE=FILE [SMOKE_SCOPE=SCOPE SMOKE_LABELS=L1,L2] scripts/smoke-live.sh [-h]

Checks a deployed dispatcher end to end, then leaves nothing behind:
  1. every HTTP check of scripts/runtime-http-smoke.sh (health, readiness, OpenAPI, auth, routes,
     dispatches, metrics; the autoscaler's health, readiness and metrics with AUTOSCALER_URL);
  2. unless SMOKE_DISPATCH=0: one real dispatch for SMOKE_SCOPE and SMOKE_LABELS. It waits until the
     VM is being provisioned, cancels it with DELETE /v1/dispatches/{id} (which deletes the VM and
     its runner registration), and checks the dispatch ended cancelled. The dispatch is cancelled
     on every exit path once it exists, including Ctrl-C.

Environment (see scripts/runtime-http-smoke.sh -h for the rest):
  DISPATCHER_URL          required, e.g. https://fleet.internal:8080
  DISPATCHER_TOKEN_FILE   required: a client token of the dispatcher config (`clients[].token_file`)
  SMOKE_DISPATCH          1 (default here) | 0 for read-only checks
  SMOKE_SCOPE             the scope to dispatch for, e.g. org:acme (needed unless SMOKE_DISPATCH=0)
  SMOKE_LABELS            runs-on labels a route takes, e.g. linux,small (needed unless SMOKE_DISPATCH=0)
  AUTOSCALER_URL          optional: the autoscaler's ops listener (metrics.listen): /healthz, /readyz, /metrics

A dispatch costs one short-lived VM. Use a small route. Exit status: 0 passed, 1 a check failed,
2 usage or environment error.
USAGE
}

die() {
  echo "smoke-live: $1" >&2
  exit "${2:-1}"
}

while getopts ':h' opt; do
  case "$opt" in
    h)
      usage
      exit 0
      ;;
    *) die "unknown option -${OPTARG} (run with -h for the usage)" 2 ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || die "unexpected argument: $1 (run with -h for the usage)" 2

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
[[ -n "${DISPATCHER_URL:-}" ]] || die "DISPATCHER_URL is not set (run with -h for the usage)" 2
[[ -n "${DISPATCHER_TOKEN_FILE:-}" ]] || die "DISPATCHER_TOKEN_FILE is not set (run with -h for the usage)" 2
[[ -r "$DISPATCHER_TOKEN_FILE" ]] || die "DISPATCHER_TOKEN_FILE $DISPATCHER_TOKEN_FILE is not readable" 2
export SMOKE_DISPATCH="${SMOKE_DISPATCH:-1}"
if [[ "$SMOKE_DISPATCH" == 1 ]]; then
  [[ -n "${SMOKE_SCOPE:-}" && -n "${SMOKE_LABELS:-}" ]] ||
    die "set SMOKE_SCOPE and SMOKE_LABELS for the test dispatch, or SMOKE_DISPATCH=0 for read-only checks" 2
fi

result="$(mktemp)"
trap 'rm -f "$result"' EXIT
echo "smoke-live: checking $DISPATCHER_URL (dispatch: $SMOKE_DISPATCH)"
SMOKE_RESULT_FILE="$result" "$here/runtime-http-smoke.sh"

if [[ "$SMOKE_DISPATCH" == 1 ]]; then
  id="$(tr -d '[:space:]' <"$result")"
  [[ -n "$id" ]] || die "the smoke dispatch id was not recorded"
  # Read back: the dispatch must have ended, and the dispatcher must not count it as live.
  state="$(
    curl -sS --fail-with-body --max-time 10 -H "@"<(printf 'Authorization: Bearer %s\n' "$(tr -d '[:space:]' <"$DISPATCHER_TOKEN_FILE")") \
      "${DISPATCHER_URL%/}/v1/dispatches/$id" | jq -r '.state'
  )" || die "could not read back dispatch $id"
  case "$state" in
    cancelled | finished) echo "ok   dispatch $id is $state: VM and runner registration released" ;;
    *) die "dispatch $id is $state after the cancel; check it with: forgejo-fleet why $id" ;;
  esac
fi
echo "smoke-live: passed"
