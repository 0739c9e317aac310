#!/bin/sh
# Test double for the shell provider; it behaves as its environment (the provider's `env`) says.
#   DUMP_DIR            write argv, stdin and env there
#   FIXTURE_STDERR      printed to stderr
#   FIXTURE_STDOUT      printed to stdout as is   (FIXTURE_LIST_STDOUT for the list verb)
#   FIXTURE_EXIT        exit code, default 0      (FIXTURE_LIST_EXIT for the list verb)
#   FIXTURE_SIGNAL      kill itself with this signal
#   FIXTURE_ECHO_STDIN  copy stdin to stderr (a badly behaved script)
if [ -n "${DUMP_DIR:-}" ]; then
  printf '%s\n' "$@" >"$DUMP_DIR/argv"
  cat >"$DUMP_DIR/stdin"
  env >"$DUMP_DIR/env"
elif [ -n "${FIXTURE_ECHO_STDIN:-}" ]; then
  cat >&2
fi
if [ -n "${FIXTURE_STDERR:-}" ]; then printf '%s\n' "$FIXTURE_STDERR" >&2; fi
if [ -n "${FIXTURE_SIGNAL:-}" ]; then kill -s "$FIXTURE_SIGNAL" $$; fi
verb=$(eval "printf '%s' \"\${$#}\"")
if [ "$verb" = list ] && [ -n "${FIXTURE_LIST_STDOUT:-}" ]; then
  printf '%s' "$FIXTURE_LIST_STDOUT"
  exit "${FIXTURE_LIST_EXIT:-0}"
fi
printf '%s' "${FIXTURE_STDOUT:-}"
exit "${FIXTURE_EXIT:-0}"
