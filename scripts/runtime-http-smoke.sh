#!/usr/bin/env bash
# Checks a running forgejo-fleet dispatcher (and optionally the autoscaler) over HTTP.
# Run with -h for the usage. Used by scripts/smoke-local.sh, scripts/smoke-live.sh and the
# live_smoke job of .forgejo/workflows/ci.yml.
set -euo pipefail

usage() {
  cat <<'EOF'
usage: DISPATCHER_URL=URL DISPATCHER_TOKEN_FILE=FILE scripts/runtime-http-smoke.sh [-h]

Checks a running dispatcher over HTTP and exits 0 when every check passes:
  GET /healthz          200, {"status":"ok"}
  GET /readyz           200 (store writable, Forgejo reachable); on 503 prints the failing checks
  GET /openapi.json     200, an OpenAPI 3 document with /v1/dispatch
  GET /v1/routes        401 without a token and with a wrong one; 200 with at least one route
  GET /v1/dispatches    200 with the token
  GET /v1/budgets       200 with the token: today's caps the token may see (404 from an older dispatcher: noted)
  GET /metrics          200, Prometheus text (SMOKE_METRICS=skip to leave out)
  autoscaler            with AUTOSCALER_URL: its /healthz, /readyz (every scope polls fine) and /metrics
  optional dispatch     SMOKE_DISPATCH=1: POST /v1/dispatch, wait until it is provisioning or
                        later, DELETE /v1/dispatches/{id}, expect it cancelled. This creates a real
                        VM (and a runner registration) for a short while, then removes both; the
                        dispatch is cancelled on every exit path once created.

Environment:
  DISPATCHER_URL           required, e.g. http://127.0.0.1:8080 (no trailing slash needed)
  DISPATCHER_TOKEN_FILE    file holding a bearer token of one of the dispatcher's clients
  DISPATCHER_TOKEN         the token itself, when no file is given (prefer the file)
  OPS_URL                  where /healthz, /readyz and /metrics are served: the dispatcher's `ops.listen`
                           when it has one (default $DISPATCHER_URL)
  OPS_TOKEN_FILE           file holding the dispatcher's `ops` token, when it has one
  METRICS_URL              default $OPS_URL/metrics
  SMOKE_METRICS            require (default) | skip
  AUTOSCALER_URL           optional: the autoscaler's ops listener (`metrics.listen`), e.g. http://127.0.0.1:9101
  SMOKE_DISPATCH           0 (default) | 1
  SMOKE_SCOPE              with SMOKE_DISPATCH=1: a scope the token may dispatch for, e.g. org:acme
  SMOKE_LABELS             with SMOKE_DISPATCH=1: comma-separated runs-on labels, e.g. linux,small
  SMOKE_DISPATCH_TIMEOUT   seconds to wait for the dispatch to reach provisioning (default 300)
  SMOKE_HTTP_TIMEOUT       seconds per HTTP request (default 10)
  SMOKE_RESULT_FILE        optional: the id of the smoke dispatch is written here (for smoke-live.sh)

Needs curl and jq. Exit status: 0 all checks passed, 1 a check failed, 2 usage or environment error.
The token is never printed and never put on a command line (curl reads it from a 0600 file).
EOF
}

fail() {
  echo "FAIL $*" >&2
  exit 1
}

usage_error() {
  echo "runtime-http-smoke: $*" >&2
  echo "run with -h for the usage" >&2
  exit 2
}

ok() {
  echo "ok   $*"
}

while getopts ':h' opt; do
  case "$opt" in
    h)
      usage
      exit 0
      ;;
    *) usage_error "unknown option -${OPTARG}" ;;
  esac
done
shift $((OPTIND - 1))
[[ $# -eq 0 ]] || usage_error "unexpected argument: $1"

for tool in curl jq; do
  command -v "$tool" >/dev/null 2>&1 || usage_error "$tool is required (Debian: apt-get install $tool)"
done

[[ -n "${DISPATCHER_URL:-}" ]] || usage_error "DISPATCHER_URL is not set"
base="${DISPATCHER_URL%/}"
[[ "$base" =~ ^https?:// ]] || usage_error "DISPATCHER_URL must start with http:// or https:// (got '$base')"

token=""
if [[ -n "${DISPATCHER_TOKEN_FILE:-}" ]]; then
  [[ -r "$DISPATCHER_TOKEN_FILE" ]] || usage_error "DISPATCHER_TOKEN_FILE $DISPATCHER_TOKEN_FILE is not readable"
  token="$(tr -d '[:space:]' <"$DISPATCHER_TOKEN_FILE")"
  [[ -n "$token" ]] || usage_error "DISPATCHER_TOKEN_FILE $DISPATCHER_TOKEN_FILE is empty"
elif [[ -n "${DISPATCHER_TOKEN:-}" ]]; then
  token="$(printf '%s' "$DISPATCHER_TOKEN" | tr -d '[:space:]')"
else
  usage_error "set DISPATCHER_TOKEN_FILE (or DISPATCHER_TOKEN)"
fi

ops_base="${OPS_URL:-$base}"
ops_base="${ops_base%/}"
[[ "$ops_base" =~ ^https?:// ]] || usage_error "OPS_URL must start with http:// or https:// (got '$ops_base')"
ops_token=""
if [[ -n "${OPS_TOKEN_FILE:-}" ]]; then
  [[ -r "$OPS_TOKEN_FILE" ]] || usage_error "OPS_TOKEN_FILE $OPS_TOKEN_FILE is not readable"
  ops_token="$(tr -d '[:space:]' <"$OPS_TOKEN_FILE")"
  [[ -n "$ops_token" ]] || usage_error "OPS_TOKEN_FILE $OPS_TOKEN_FILE is empty"
fi

metrics_mode="${SMOKE_METRICS:-require}"
[[ "$metrics_mode" == require || "$metrics_mode" == skip ]] ||
  usage_error "SMOKE_METRICS must be require or skip (got '$metrics_mode')"
dispatch="${SMOKE_DISPATCH:-0}"
[[ "$dispatch" == 0 || "$dispatch" == 1 ]] || usage_error "SMOKE_DISPATCH must be 0 or 1 (got '$dispatch')"
http_timeout="${SMOKE_HTTP_TIMEOUT:-10}"
[[ "$http_timeout" =~ ^[1-9][0-9]*$ ]] || usage_error "SMOKE_HTTP_TIMEOUT must be a whole number of seconds"
dispatch_timeout="${SMOKE_DISPATCH_TIMEOUT:-300}"
[[ "$dispatch_timeout" =~ ^[1-9][0-9]*$ ]] || usage_error "SMOKE_DISPATCH_TIMEOUT must be a whole number of seconds"
autoscaler="${AUTOSCALER_URL:-}"
autoscaler="${autoscaler%/}"
[[ -z "$autoscaler" || "$autoscaler" =~ ^https?:// ]] ||
  usage_error "AUTOSCALER_URL must start with http:// or https:// (got '$autoscaler')"
if [[ "$dispatch" == 1 ]]; then
  [[ -n "${SMOKE_SCOPE:-}" ]] || usage_error "SMOKE_DISPATCH=1 needs SMOKE_SCOPE (e.g. org:acme)"
  [[ -n "${SMOKE_LABELS:-}" ]] || usage_error "SMOKE_DISPATCH=1 needs SMOKE_LABELS (e.g. linux,small)"
fi

work="$(mktemp -d)"
chmod 0700 "$work"
auth_header="$work/auth-header"
(
  umask 077
  printf 'Authorization: Bearer %s\n' "$token" >"$auth_header"
)
ops_header="$work/ops-header"
(
  umask 077
  if [[ -n "$ops_token" ]]; then printf 'Authorization: Bearer %s\n' "$ops_token" >"$ops_header"; else : >"$ops_header"; fi
)
unset ops_token
bad_header="$work/bad-header"
printf 'Authorization: Bearer %s\n' "not-a-valid-token-$$" >"$bad_header"
unset token

dispatch_id=""
cancelled=0
cleanup() {
  local rc=$?
  if [[ -n "$dispatch_id" && "$cancelled" == 0 ]]; then
    echo "cleanup: cancelling dispatch $dispatch_id" >&2
    curl -sS -o /dev/null --max-time "$http_timeout" -X DELETE -H "@$auth_header" \
      "$base/v1/dispatches/$dispatch_id" || echo "cleanup: could not cancel $dispatch_id; cancel it by hand" >&2
  fi
  rm -rf "$work"
  exit "$rc"
}
trap cleanup EXIT

# request METHOD PATH AUTH [BODY]: sets $status and writes the body to $work/body.
# AUTH is `token`, `ops` (the ops token, when there is one), `none` or `bad`.
request() {
  local method="$1" url="$2" auth="$3" body="${4:-}"
  local args=(-sS -o "$work/body" -w '%{http_code}' --max-time "$http_timeout" -X "$method")
  case "$auth" in
    token) args+=(-H "@$auth_header") ;;
    ops) [[ -s "$ops_header" ]] && args+=(-H "@$ops_header") ;;
    bad) args+=(-H "@$bad_header") ;;
    none) ;;
  esac
  if [[ -n "$body" ]]; then
    args+=(-H 'Content-Type: application/json' --data-binary "$body")
  fi
  if ! status="$(curl "${args[@]}" "$url" 2>"$work/curl-error")"; then
    fail "$method $url: $(head -c 300 "$work/curl-error")"
  fi
}

body_excerpt() {
  head -c 400 "$work/body" | tr '\n' ' '
}

expect_status() {
  local what="$1" want="$2"
  [[ "$status" == "$want" ]] || fail "$what: expected HTTP $want, got $status: $(body_excerpt)"
}

expect_json() {
  local what="$1" filter="$2" description="$3"
  jq -e "$filter" "$work/body" >/dev/null 2>&1 || fail "$what: expected $description, got: $(body_excerpt)"
}

request GET "$ops_base/healthz" none
if [[ "$status" == 404 && -z "${OPS_URL:-}" ]]; then
  fail "GET /healthz: 404 at $base; a dispatcher with ops.listen serves it on that listener: set OPS_URL"
fi
expect_status 'GET /healthz' 200
expect_json 'GET /healthz' '.status == "ok"' '{"status":"ok"}'
ok 'GET /healthz'

request GET "$ops_base/readyz" ops
if [[ "$status" == 503 ]]; then
  fail "GET /readyz: not ready: $(jq -c '.checks // .' "$work/body" 2>/dev/null || body_excerpt)"
fi
expect_status 'GET /readyz' 200
ok 'GET /readyz'

request GET "$base/openapi.json" none
expect_status 'GET /openapi.json' 200
expect_json 'GET /openapi.json' '(.openapi | startswith("3")) and (.paths["/v1/dispatch"] != null)' \
  'an OpenAPI 3 document with /v1/dispatch'
ok "GET /openapi.json ($(jq -r '.paths | length' "$work/body") paths)"

request GET "$base/v1/routes" none
expect_status 'GET /v1/routes without a token' 401
expect_json 'GET /v1/routes without a token' '.error.code == "unauthorized"' 'error code "unauthorized"'
request GET "$base/v1/routes" bad
expect_status 'GET /v1/routes with a wrong token' 401
ok 'GET /v1/routes refuses a missing or wrong token (401)'

request GET "$base/v1/routes" token
expect_status 'GET /v1/routes' 200
expect_json 'GET /v1/routes' '(.routes | type == "array") and (.routes | length > 0)' 'at least one route'
ok "GET /v1/routes ($(jq -r '[.routes[] | "\(.name) [\(.labels | join(","))] \(.live_vms) live"] | join("; ")' "$work/body"))"

request GET "$base/v1/dispatches?limit=1" token
expect_status 'GET /v1/dispatches' 200
expect_json 'GET /v1/dispatches' '.items | type == "array"' 'a page of dispatches'
ok 'GET /v1/dispatches'

request GET "$base/v1/budgets" token
if [[ "$status" == 404 ]]; then
  echo "skip GET /v1/budgets (this dispatcher does not offer it)"
else
  expect_status 'GET /v1/budgets' 200
  expect_json 'GET /v1/budgets' '.items | type == "array"' 'a list of budgets'
  ok "GET /v1/budgets ($(jq -r '.items | length' "$work/body") caps)"
fi

check_metrics() {
  local url="$1" auth="$2"
  request GET "$url" "$auth"
  expect_status "GET $url" 200
  grep -q '^# TYPE ' "$work/body" || fail "GET $url: expected Prometheus text (# TYPE lines), got: $(body_excerpt)"
  ok "GET $url ($(grep -c '^# TYPE ' "$work/body") metrics)"
}

if [[ "$metrics_mode" == require ]]; then
  metrics_url="${METRICS_URL:-$ops_base/metrics}"
  # The ops token goes only to the dispatcher's own ops address, never to another host.
  if [[ "$metrics_url" == "$ops_base/"* ]]; then check_metrics "$metrics_url" ops; else check_metrics "$metrics_url" none; fi
else
  echo "skip GET /metrics (SMOKE_METRICS=skip)"
fi
if [[ -n "$autoscaler" ]]; then
  request GET "$autoscaler/healthz" none
  expect_status 'autoscaler GET /healthz' 200
  ok 'autoscaler GET /healthz'
  request GET "$autoscaler/readyz" none
  if [[ "$status" == 503 ]]; then
    fail "autoscaler GET /readyz: not ready: $(body_excerpt)"
  fi
  expect_status 'autoscaler GET /readyz' 200
  ok 'autoscaler GET /readyz'
  check_metrics "$autoscaler/metrics" none
fi

if [[ "$dispatch" == 1 ]]; then
  payload="$(jq -cn --arg scope "$SMOKE_SCOPE" --arg labels "$SMOKE_LABELS" \
    '{scope: $scope, labels: ($labels | split(",") | map(gsub("^\\s+|\\s+$"; "")) | map(select(. != "")))}')"
  request POST "$base/v1/dispatch" token "$payload"
  expect_status "POST /v1/dispatch $payload" 202
  dispatch_id="$(jq -r '.id // empty' "$work/body")"
  [[ -n "$dispatch_id" ]] || fail "POST /v1/dispatch: no id in the answer: $(body_excerpt)"
  ok "POST /v1/dispatch → $dispatch_id on route $(jq -r '.route' "$work/body")"
  if [[ -n "${SMOKE_RESULT_FILE:-}" ]]; then printf '%s\n' "$dispatch_id" >"$SMOKE_RESULT_FILE"; fi

  deadline=$((SECONDS + dispatch_timeout))
  state=""
  while :; do
    request GET "$base/v1/dispatches/$dispatch_id" token
    expect_status "GET /v1/dispatches/$dispatch_id" 200
    state="$(jq -r '.state' "$work/body")"
    case "$state" in
      provisioning | booting | running | finished) break ;;
      failed | cancelled) fail "dispatch $dispatch_id ended $state: $(jq -r '.error // "no error recorded"' "$work/body")" ;;
    esac
    ((SECONDS < deadline)) || fail "dispatch $dispatch_id still $state after ${dispatch_timeout}s"
    sleep 1
  done
  ok "dispatch $dispatch_id reached $state"

  request DELETE "$base/v1/dispatches/$dispatch_id" token
  if [[ "$status" == 409 ]]; then
    # Already finished or failed between our GET and DELETE: nothing is left to cancel.
    cancelled=1
    ok "DELETE /v1/dispatches/$dispatch_id: already over ($(jq -r '.error.message' "$work/body"))"
  else
    expect_status "DELETE /v1/dispatches/$dispatch_id" 200
    cancelled=1
    expect_json "DELETE /v1/dispatches/$dispatch_id" '.state == "cancelled" or .state == "finished"' \
      'state cancelled'
    ok "DELETE /v1/dispatches/$dispatch_id → $(jq -r '.state' "$work/body")"
  fi
fi

echo "runtime-http-smoke: all checks passed against $base"
