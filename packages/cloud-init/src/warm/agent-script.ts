/**
 * The warm-VM agent, byte for byte the same as `agent.sh` beside this file (agent.test.ts
 * checks, and rewrites this file when run with UPDATE_AGENT_SCRIPT=1). A string constant
 * because tsc does not copy .sh files into dist/: the built package must render the same
 * user-data as the sources. Edit agent.sh, not this.
 */
export const AGENT_SCRIPT = String.raw`#!/bin/sh
# forgejo-fleet warm-VM agent: long-polls the dispatcher for this VM's one job, runs it with
# forgejo-runner one-job, then powers the VM off. The VM runs at most one job and never
# outlives this script (EXIT trap), whatever the dispatcher answers.
#
# Configuration comes from the environment (the warm bootstrap script sets it; tests point it
# at a sandbox). Every variable is required: a missing one stops the script under set -u.
#   FLEET_AGENT_URL           agent endpoint base URL, no trailing slash
#   FLEET_VM_ID               this VM's id (w + 12 base32 characters)
#   FLEET_AGENT_AUTH_FILE     curl config holding the Authorization header (0600, one-time secret)
#   FLEET_AGENT_WORK_DIR      private scratch directory for the answers (tmpfs)
#   FLEET_RUNNER_BIN          forgejo-runner binary
#   FLEET_TOKEN_FILE          where the runner token is written (0600)
#   FLEET_RUNNER_CONFIG       where the runner config is written
#   FLEET_AGENT_POLL_TIMEOUT  seconds one poll may take (the server holds it about 25 s)
#   FLEET_AGENT_BACKOFF_MAX   cap of the retry backoff in seconds (0 in tests)
#   FLEET_HOST_USER           run the runner as this user (runner.host_user), '' for root; the
#   FLEET_HOST_GID            bootstrap has created it, checked it and fenced it off the
#   FLEET_HOST_HOME           metadata service, and passes its primary gid and home
# Needs curl, and python3 to read the JSON answer: every image that runs cloud-init has it
# (cloud-init is a Python 3 program), unlike jq, so nothing is installed at boot for it.
# No brace expansions or backquotes in this file: it is embedded in a JavaScript template literal.
set -eu

AGENT_URL=$FLEET_AGENT_URL
VM_ID=$FLEET_VM_ID
AUTH_FILE=$FLEET_AGENT_AUTH_FILE
WORK_DIR=$FLEET_AGENT_WORK_DIR
RUNNER_BIN=$FLEET_RUNNER_BIN
TOKEN_FILE=$FLEET_TOKEN_FILE
RUNNER_CONFIG=$FLEET_RUNNER_CONFIG
POLL_TIMEOUT=$FLEET_AGENT_POLL_TIMEOUT
BACKOFF_MAX=$FLEET_AGENT_BACKOFF_MAX
HOST_USER=$FLEET_HOST_USER
HOST_GID=$FLEET_HOST_GID
HOST_HOME=$FLEET_HOST_HOME

RESPONSE=$WORK_DIR/agent-response
HEADERS=$WORK_DIR/agent-headers
FIELDS=$WORK_DIR/agent-fields
# As the cold bootstrap: a backstop shutdown this long after the job timeout.
DEADLINE_SLACK=1200
# Byte-wise character classes in the checks below, whatever locale the image has.
LC_ALL=C

log() { printf 'forgejo-fleet-agent[%s]: %s\n' "$VM_ID" "$*"; }
die() {
  log "error: $*"
  exit 1
}

# Runs on every exit (job done, refusal, bad answer, set -e, signal).
finish() {
  status=$?
  set +e
  trap - EXIT
  rm -f "$TOKEN_FILE" "$AUTH_FILE" "$RESPONSE" "$HEADERS" "$FIELDS"
  log "agent exit status $status; powering off"
  sync
  poweroff || systemctl poweroff || shutdown -P now
}

preflight() {
  command -v curl >/dev/null 2>&1 || die "curl is not installed"
  command -v python3 >/dev/null 2>&1 || die "python3 is not installed: cannot read the assignment"
  # The id goes into the JSON body as it is: w and 12 base32 characters need no escaping.
  case $VM_ID in w????????????) ;; *) die "FLEET_VM_ID must be w and 12 base32 characters" ;; esac
  case $VM_ID in *[!a-z2-7]*) die "FLEET_VM_ID must be w and 12 base32 characters" ;; esac
  is_url "$AGENT_URL" || die "FLEET_AGENT_URL must be a plain http(s) URL"
  [ -r "$AUTH_FILE" ] || die "the agent secret file $AUTH_FILE is missing"
  [ -x "$RUNNER_BIN" ] || die "forgejo-runner is not executable at $RUNNER_BIN"
  is_count "$POLL_TIMEOUT" || die "FLEET_AGENT_POLL_TIMEOUT must be a number"
  is_count "$BACKOFF_MAX" || die "FLEET_AGENT_BACKOFF_MAX must be a number"
  # Fail closed: a host user without a usable gid or home must not fall back to root.
  if [ -n "$HOST_USER" ]; then
    case $HOST_GID in '' | 0 | *[!0-9]*) die "FLEET_HOST_GID must be the host user's non-zero gid" ;; esac
    case $HOST_HOME in /?*) ;; *) die "FLEET_HOST_HOME must be an absolute path" ;; esac
  fi
}

# A plain decimal of at most six digits (the job timeout's maximum, 604800, has six).
is_count() {
  case $1 in '' | *[!0-9]* | ???????*) return 1 ;; esac
}

# One poll; prints the HTTP status. A non-zero exit means no HTTP answer (DNS, connect, TLS,
# reset, timeout). -q must come first: no ~/.curlrc. The secret reaches curl only inside the
# -K file, never on a command line; the body carries nothing secret.
poll() {
  rm -f "$RESPONSE" "$HEADERS"
  curl -q -sS -X POST --max-time "$POLL_TIMEOUT" --connect-timeout 10 --max-filesize 65536 \
    -K "$AUTH_FILE" -H 'Content-Type: application/json' -H 'Accept: application/json' \
    --data-binary "{\"vm_id\":\"$VM_ID\"}" -D "$HEADERS" -o "$RESPONSE" -w '%{http_code}' \
    "$AGENT_URL/v1/agent/poll"
}

# Seconds a 429 asks for: Retry-After in seconds, 5 without one (or for an HTTP date), at most
# 60 so a broken header cannot park the VM.
retry_after() {
  seconds=$(tr -d '\r' <"$HEADERS" | while IFS=' :' read -r name value; do
    case $name in [Rr][Ee][Tt][Rr][Yy]-[Aa][Ff][Tt][Ee][Rr])
      printf '%s' "$value"
      break
      ;;
    esac
  done) || seconds=''
  case $seconds in '' | *[!0-9]*) seconds=5 ;; ?????*) seconds=60 ;; esac
  [ "$seconds" -le 60 ] || seconds=60
  printf '%s' "$seconds"
}

reset_backoff() {
  delay=1
  [ "$delay" -le "$BACKOFF_MAX" ] || delay=$BACKOFF_MAX
}

# Sleeps between half the delay and the delay, then doubles it up to BACKOFF_MAX: VMs that lost
# the dispatcher together do not come back in lockstep.
backoff() {
  wait_for=$delay
  if [ "$delay" -gt 1 ]; then
    random=$(od -An -N2 -tu2 /dev/urandom 2>/dev/null | tr -d ' \n') || random=0
    case $random in '' | *[!0-9]*) random=0 ;; esac
    wait_for=$((delay - random % (delay / 2 + 1)))
  fi
  log "retrying in $wait_for s"
  sleep "$wait_for"
  delay=$((delay * 2))
  [ "$delay" -le "$BACKOFF_MAX" ] || delay=$BACKOFF_MAX
}

# The answer as lines: instance_url, uuid, token, name, handle, job_timeout_seconds, then one
# line per label. Only one JSON object, and only non-empty strings of printable ASCII without
# spaces, so no value can add a line. Errors go nowhere: Python's message might quote the
# answer, and the answer holds the token.
parse_assignment() {
  python3 -c '
import json, re, sys
ok = re.compile(r"[!-~]{1,2048}")
def s(v):
    if not isinstance(v, str) or not ok.fullmatch(v):
        raise ValueError("bad string")
    return v
with open(sys.argv[1], encoding="utf-8") as f:
    d = json.load(f)
t = d["job_timeout_seconds"]
if isinstance(t, bool) or not isinstance(t, (int, float)) or not 0 < t < 1e9 or t != int(t):
    raise ValueError("bad number")
labels = d["labels"]
if not isinstance(labels, list) or not 0 < len(labels) <= 64:
    raise ValueError("bad labels")
r = d["runner"]
lines = [s(d["instance_url"]), s(r["uuid"]), s(r["token"]), s(r["name"]), s(d["handle"]), str(int(t))]
print("\n".join(lines + [s(x) for x in labels]))
' "$RESPONSE" 2>/dev/null
}

# Values reach the runner as separate arguments, never through eval, so these checks are not
# about quoting: they refuse what the dispatcher never sends (the cold path's character sets).
is_url() {
  case $1 in http://?* | https://?*) ;; *) return 1 ;; esac
  case $1 in *[!]A-Za-z0-9._~:/%[-]*) return 1 ;; esac
}
is_uuid() {
  case $1 in ????????-????-????-????-????????????) ;; *) return 1 ;; esac
  case $1 in *[!0-9A-Fa-f-]*) return 1 ;; esac
}
is_token() {
  case $1 in ????????????????*) ;; *) return 1 ;; esac
  case $1 in *[!A-Za-z0-9._~+/=-]*) return 1 ;; esac
}
is_word() {
  case $1 in [A-Za-z0-9]*) ;; *) return 1 ;; esac
  case $1 in *[!A-Za-z0-9._:-]*) return 1 ;; esac
}
is_timeout() {
  is_count "$1" || return 1
  case $1 in 0*) return 1 ;; esac
  [ "$1" -ge 60 ] && [ "$1" -le 604800 ]
}
is_label() {
  case $1 in [A-Za-z0-9]*:?*) ;; *) return 1 ;; esac
  case $1 in *[!A-Za-z0-9._/:@+-]*) return 1 ;; esac
}
invalid() { die "invalid assignment: $1"; }

# Never returns: runs the job the 200 answer assigned, then exits (and the trap powers off).
run_job() {
  if ! parse_assignment >"$FIELDS"; then
    invalid "not one JSON object of the expected shape"
  fi
  rm -f "$RESPONSE"
  # The dispatcher accepts the secret once; from here on it is worthless, so drop it now.
  rm -f "$AUTH_FILE"
  n=0
  set --
  while IFS= read -r line; do
    n=$((n + 1))
    case $n in
      1) instance_url=$line ;;
      2) uuid=$line ;;
      3) token=$line ;;
      4) name=$line ;;
      5) handle=$line ;;
      6) job_timeout=$line ;;
      *)
        is_label "$line" || invalid "labels"
        set -- "$@" --label "$line"
        ;;
    esac
  done <"$FIELDS"
  rm -f "$FIELDS"
  [ "$n" -ge 7 ] || invalid "labels"
  is_url "$instance_url" || invalid "instance_url"
  is_uuid "$uuid" || invalid "runner.uuid"
  is_token "$token" || invalid "runner.token"
  is_word "$name" || invalid "runner.name"
  is_word "$handle" || invalid "handle"
  is_timeout "$job_timeout" || invalid "job_timeout_seconds"

  # The same two files the cold path has cloud-init write: the token (0600 by umask, printf is
  # a builtin so it never shows on a command line) and a config holding only runner.timeout.
  rm -f "$TOKEN_FILE"
  printf '%s' "$token" >"$TOKEN_FILE"
  token=''
  printf 'runner:\n  timeout: %ss\n' "$job_timeout" >"$RUNNER_CONFIG"
  # Replaces the idle deadline the bootstrap scheduled with this job's. Cancel first: systemd
  # would replace it anyway, but sysvinit's shutdown refuses a second schedule.
  shutdown -c >/dev/null 2>&1 || true
  shutdown -P "+$(((job_timeout + DEADLINE_SLACK + 59) / 60))" >/dev/null 2>&1 ||
    log "warning: could not schedule the deadline shutdown"
  # As the cold path: --wait because the handle may not be assignable yet, and the timeout
  # because --wait never returns when the job was cancelled or taken.
  set -- "$RUNNER_BIN" -c "$RUNNER_CONFIG" one-job --url "$instance_url" --uuid "$uuid" \
    --token-url "file://$TOKEN_FILE" "$@" --handle "$handle" --wait
  if [ -n "$HOST_USER" ]; then
    # As the cold path (host-user.ts): the files become the job user's, and the runner drops
    # root for good, with no_new_privs so no setuid program can raise it again.
    chown "$HOST_USER" "$TOKEN_FILE" "$RUNNER_CONFIG"
    cd "$HOST_HOME"
    set -- setpriv --reuid="$HOST_USER" --regid="$HOST_GID" --init-groups --no-new-privs -- \
      env HOME="$HOST_HOME" USER="$HOST_USER" LOGNAME="$HOST_USER" "$@"
  fi
  log "job assigned to runner $name; starting forgejo-runner one-job, timeout $job_timeout s"
  runner_exit=0
  timeout --signal=TERM --kill-after=30s "$job_timeout" "$@" || runner_exit=$?
  rm -f "$TOKEN_FILE"
  case $runner_exit in
    0) log "forgejo-runner exited 0" ;;
    124 | 137) log "forgejo-runner stopped by the job timeout (exit $runner_exit)" ;;
    *) log "forgejo-runner exited $runner_exit" ;;
  esac
  exit "$runner_exit"
}

main() {
  trap finish EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  umask 077
  preflight
  reset_backoff
  log "waiting for a job from $AGENT_URL"
  while :; do
    code=''
    if ! code=$(poll); then
      log "poll failed without an HTTP answer"
      backoff
      continue
    fi
    case $code in
      200) run_job ;;
      204) reset_backoff ;;
      401 | 403 | 404 | 410)
        log "the dispatcher refused this VM (HTTP $code): secret spent or VM unknown"
        exit 3
        ;;
      429)
        reset_backoff
        wait_for=$(retry_after)
        log "rate limited: retrying in $wait_for s"
        sleep "$wait_for"
        ;;
      *)
        log "unexpected HTTP $code"
        backoff
        ;;
    esac
  done
}

main
`;
