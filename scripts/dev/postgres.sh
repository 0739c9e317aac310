#!/usr/bin/env bash
# A throwaway PostgreSQL cluster for the store's PostgreSQL tests: the one path used by .ci/run
# and by a developer.
#
#   eval "$(scripts/dev/postgres.sh start)"     # starts it; prints the export lines to eval
#   npx vitest run packages/store               # the PostgreSQL tests now run instead of skipping
#   scripts/dev/postgres.sh stop                # stops it and deletes its directory
#
# The cluster lives in a fresh mktemp directory, listens on 127.0.0.1 only (a free port) and on a
# socket inside that directory, trusts loopback connections (nothing but this machine's tests ever
# reach it) and keeps nothing: stop deletes it. The server runs as an unprivileged user: the
# invoking user, or the `postgres` system user Debian's package creates when run as root (the
# server refuses to run as root). Needs Debian's `postgresql` package (initdb and pg_ctl under
# /usr/lib/postgresql/VERSION/bin) or those tools on PATH.
set -euo pipefail

STATE_FILE="${FORGEJO_FLEET_PG_STATE:-${TMPDIR:-/tmp}/forgejo-fleet-test-pg.dir}"
DATABASE=forgejo_fleet_test

bindir() {
  local found
  # initdb on PATH may be a lone symlink into the real bin directory (createdb is not linked).
  if command -v initdb >/dev/null 2>&1; then
    found=$(dirname "$(readlink -f "$(command -v initdb)")")
  else
    # shellcheck disable=SC2012 # sort -V orders 9 before 15; the glob has no odd names
    found=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  fi
  if [ -z "$found" ] || [ ! -x "$found/initdb" ]; then
    echo "postgres.sh: initdb not found; install PostgreSQL (Debian: apt-get install postgresql)" >&2
    exit 1
  fi
  echo "$found"
}

# Runs a command as the cluster's owner.
as_owner() {
  if [ "$(id -u)" -eq 0 ]; then
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

free_port() {
  node -e "const s=require('node:net').createServer();s.listen(0,'127.0.0.1',()=>{console.log(s.address().port);s.close()})"
}

start() {
  local bin dir port user
  bin=$(bindir)
  if [ "$(id -u)" -eq 0 ] && ! id postgres >/dev/null 2>&1; then
    echo "postgres.sh: running as root needs the 'postgres' user (Debian's postgresql package makes it)" >&2
    exit 1
  fi
  dir=$(mktemp -d "${TMPDIR:-/tmp}/forgejo-fleet-pg.XXXXXX")
  [ "$(id -u)" -eq 0 ] && chown postgres: "$dir"
  chmod 0700 "$dir"
  # From here a failure would leave a server or a directory behind: clean both up.
  trap 'as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true; rm -rf "$dir"' ERR
  user=$(as_owner id -un)
  as_owner "$bin/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 \
    >"$dir/initdb.log" 2>&1 || { cat "$dir/initdb.log" >&2; false; }
  port=$(free_port)
  # fsync off: a throwaway cluster needs no durability, and CI's disk is shared and slow.
  as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
    -o "-k $dir -h 127.0.0.1 -p $port -c fsync=off -c max_connections=200" start >/dev/null \
    || { cat "$dir/server.log" >&2; false; }
  as_owner "$bin/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$DATABASE"
  trap - ERR
  echo "$dir" >"$STATE_FILE"
  echo "export FORGEJO_FLEET_TEST_PG_URL=postgres://$user@127.0.0.1:$port/$DATABASE"
  echo "export FORGEJO_FLEET_TEST_PG_DIR=$dir"
}

stop() {
  local dir="${1:-${FORGEJO_FLEET_TEST_PG_DIR:-}}"
  if [ -z "$dir" ] && [ -f "$STATE_FILE" ]; then dir=$(cat "$STATE_FILE"); fi
  if [ -z "$dir" ] || [ ! -d "$dir/data" ]; then
    echo "postgres.sh: no throwaway cluster to stop" >&2
    return 0
  fi
  as_owner "$(bindir)/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
  rm -f "$STATE_FILE"
}

case "${1:-}" in
  start) start ;;
  stop) stop "${2:-}" ;;
  *)
    echo "usage: $0 start | stop [DIR]" >&2
    exit 64
    ;;
esac
