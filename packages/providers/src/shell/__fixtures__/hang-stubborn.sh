#!/bin/sh
# A hung call that ignores SIGTERM: writes its own pid and its child's to $FIXTURE_PID_FILE, so a
# test can see both gone after the kill.
trap '' TERM
sleep 120 &
echo "$$ $!" > "$FIXTURE_PID_FILE"
wait
