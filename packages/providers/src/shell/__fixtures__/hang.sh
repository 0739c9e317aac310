#!/bin/sh
# Never answers: a child holds stdout open while the script waits (a hung cloud API call).
# With FIXTURE_IGNORE_TERM both ignore SIGTERM, so only SIGKILL ends them.
if [ -n "${FIXTURE_IGNORE_TERM:-}" ]; then trap '' TERM; fi
echo 'waiting for the cloud' >&2
sleep 120 &
wait
