/**
 * Shell functions for `hostUser` (config `runner.host_user`): the runner, and every host-mode
 * job it starts, runs as an unprivileged user, and a root-owned firewall rule keeps that user
 * from the metadata service. Rendered only into scripts that have a host user (they cost about
 * 1 KB of EC2's 16 KB). POSIX sh, root, after SCRIPT_FUNCTIONS (log, die). They fail closed:
 * any doubt about the user or the rules, and the script dies before a job can start, which
 * powers the VM off. Avoid "${" here: this is a JavaScript template literal.
 *
 * Sets HOST_UID, HOST_GID and HOST_HOME for the runner invocation (AS_HOST_USER; the warm agent
 * builds the same one from FLEET_HOST_*).
 */
export const HOST_USER_FUNCTIONS = String.raw`
prepare_host_user() {
  command -v setpriv >/dev/null 2>&1 || die "setpriv (util-linux) is missing: cannot drop root for the job"
  if ! getent passwd "$HOST_USER" >/dev/null; then
    log "creating the host user $HOST_USER"
    useradd --create-home --user-group --shell /bin/sh "$HOST_USER" || die "could not create the host user $HOST_USER"
  fi
  entry=$(getent passwd "$HOST_USER") || die "the host user $HOST_USER does not exist"
  HOST_UID=$(printf '%s' "$entry" | cut -d: -f3)
  HOST_GID=$(printf '%s' "$entry" | cut -d: -f4)
  HOST_HOME=$(printf '%s' "$entry" | cut -d: -f6)
  case $HOST_UID:$HOST_GID in *[!0-9:]* | :* | *: | 0:* | *:0) die "the host user $HOST_USER has uid:gid $HOST_UID:$HOST_GID" ;; esac
  # An existing user may come with a way back to root or to root's files: the docker and lxd
  # sockets, raw disks, /etc/shadow, the logs, sudo (no_new_privs stops sudo under the runner,
  # not in a cron job a job leaves behind).
  groups=$(id -Gn "$HOST_USER") || die "cannot list the groups of $HOST_USER"
  for group in $groups; do
    case $group in root | sudo | admin | wheel | adm | disk | shadow | docker | lxd) die "the host user $HOST_USER is in group $group" ;; esac
  done
  if grep -rhsv '^[#@]' /etc/sudoers /etc/sudoers.d | grep -qw -- "$HOST_USER"; then
    die "the host user $HOST_USER is named in sudoers"
  fi
  case $HOST_HOME in /?*) ;; *) die "the host user $HOST_USER has no home directory" ;; esac
  if [ ! -d "$HOST_HOME" ]; then
    mkdir -p -m 0700 "$HOST_HOME"
    chown "$HOST_UID:$HOST_GID" "$HOST_HOME"
  fi
  # The runner reads its token and config in here: it may pass through, not list (0600 files).
  chmod 0711 "$(dirname "$TOKEN_FILE")"
  if [ "$BLOCK_HOST_METADATA" = 1 ]; then block_host_user; else log "warning: metadata service reachable for $HOST_USER"; fi
}

# Root-owned OUTPUT rules, first in the chain: the user's packets to the metadata service (EC2
# IMDS over IPv4 and IPv6; Hetzner's is the same IPv4 address) are refused. Only root can change
# them. One mechanism with block_metadata: iptables, else nft.
reject_owner() {
  "$1" -w -C OUTPUT -m owner --uid-owner "$HOST_UID" -d "$2" -j REJECT 2>/dev/null ||
    "$1" -w -I OUTPUT 1 -m owner --uid-owner "$HOST_UID" -d "$2" -j REJECT
}

block_host_user() {
  if command -v iptables >/dev/null 2>&1; then
    if ! reject_owner iptables "$METADATA_IPV4" || ! reject_owner ip6tables "$METADATA_IPV6"; then
      die "could not keep $HOST_USER from the metadata service"
    fi
  elif command -v nft >/dev/null 2>&1; then
    printf 'table inet forgejo_fleet { chain output { type filter hook output priority 0; meta skuid %s ip daddr %s reject; meta skuid %s ip6 daddr %s reject; } }\n' \
      "$HOST_UID" "$METADATA_IPV4" "$HOST_UID" "$METADATA_IPV6" | nft -f - || die "could not keep $HOST_USER from the metadata service"
  else
    die "neither iptables nor nft is installed: cannot keep $HOST_USER from the metadata service"
  fi
  log "metadata service blocked for $HOST_USER"
}

`;

/**
 * What the runner command line starts with under a host user: drop to it for good (uid, gid,
 * its groups), and no_new_privs so no setuid program (sudo, su) can raise the job again.
 * setpriv execs, so `timeout` still signals the runner itself.
 */
export const AS_HOST_USER =
  'setpriv --reuid="$HOST_USER" --regid="$HOST_GID" --init-groups --no-new-privs -- env HOME="$HOST_HOME" USER="$HOST_USER" LOGNAME="$HOST_USER"';
