/**
 * The fixed functions of the bootstrap script (POSIX sh, runs as root from cloud-init runcmd):
 * logging, the poweroff trap, runner install, Docker and the metadata block. Shared by the cold
 * bootstrap (script.ts) and the warm one (warm/script.ts), so both prepare a VM the same way.
 * They read only the variables the preamble defines (script.ts), so every value a caller
 * controls is quoted in exactly one place. Avoid "${" here: this is a JavaScript template literal.
 */
export const SCRIPT_FUNCTIONS = String.raw`
log() { printf 'forgejo-fleet[%s]: %s\n' "$DISPATCH_ID" "$*"; }
die() { log "error: $*"; exit 1; }

# The pod bootstrap (pod/bootstrap.ts) sets FORGEJO_FLEET_CONTAINER=1. A container has no
# poweroff, host firewall or package manager of its own, its token sits on a read-only Secret
# mount, and the pod ends when this script does (activeDeadlineSeconds is its deadline).
in_container() { env | grep -qx 'FORGEJO_FLEET_CONTAINER=1'; }

# Runs on every exit (success, failure, set -e, signal): the VM must never outlive its job.
finish() {
  status=$?
  set +e
  trap - EXIT
  if in_container; then
    log "bootstrap exit status $status; the container exits"
    exit "$status"
  fi
  rm -f "$TOKEN_FILE"
  log "bootstrap exit status $status; powering off"
  sync
  poweroff || systemctl poweroff || shutdown -P now
}

fetch() {
  if command -v curl >/dev/null 2>&1; then
    timeout 600 curl -fsSL --retry 5 --retry-connrefused -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    timeout 600 wget -q -O "$2" "$1"
  else
    log "neither curl nor wget is installed"
    return 1
  fi
}

# A container runs the image's pinned forgejo-runner: it cannot write the install path.
install_runner() {
  if [ -n "$DOWNLOAD_URL" ] && ! in_container; then
    log "downloading forgejo-runner"
    mkdir -p -m 0755 "$(dirname "$RUNNER_BIN")"
    partial="$RUNNER_BIN.partial"
    fetch "$DOWNLOAD_URL" "$partial" || die "forgejo-runner download failed"
    actual=$(sha256sum "$partial" | cut -d ' ' -f 1)
    if [ "$actual" != "$DOWNLOAD_SHA256" ]; then
      rm -f "$partial"
      die "forgejo-runner sha256 mismatch: expected $DOWNLOAD_SHA256, got $actual"
    fi
    chmod 0755 "$partial"
    mv -f "$partial" "$RUNNER_BIN"
  fi
  [ -x "$RUNNER_BIN" ] || die "forgejo-runner is not executable at $RUNNER_BIN"
}

ensure_docker() {
  if ! command -v docker >/dev/null 2>&1; then
    if in_container; then die "a docker label needs Docker, which the runner pod does not have: use host labels"; fi
    [ "$INSTALL_DOCKER" = 1 ] || die "a docker label needs Docker: bake it into the image or set docker.install"
    log "installing docker.io"
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -o DPkg::Lock::Timeout=300 update
    DEBIAN_FRONTEND=noninteractive timeout 900 apt-get -q -y -o DPkg::Lock::Timeout=300 \
      install --no-install-recommends docker.io
  fi
  if ! in_container && command -v systemctl >/dev/null 2>&1; then systemctl start docker.service || true; fi
  tries=0
  until docker info >/dev/null 2>&1; do
    tries=$((tries + 1))
    [ "$tries" -lt 60 ] || die "the Docker daemon did not come up"
    sleep 2
  done
}

# DOCKER-USER is the chain Docker evaluates before its own ACCEPT rules and never flushes;
# a plain FORWARD rule would sit below the ACCEPTs Docker adds per network. The FORWARD
# copy covers other bridges (lxc). Host-mode jobs are not covered: they run as root
# beside the runner and could delete any rule (see README).
drop_forwarded() {
  "$1" -w -N DOCKER-USER 2>/dev/null || true
  for chain in DOCKER-USER FORWARD; do
    "$1" -w -C "$chain" -d "$2" -j DROP 2>/dev/null || "$1" -w -I "$chain" 1 -d "$2" -j DROP || return 1
  done
}

block_metadata() {
  if in_container; then
    log "warning: in a container the metadata block is the cluster's (a NetworkPolicy), not this script's"
    return 0
  fi
  if command -v iptables >/dev/null 2>&1; then
    drop_forwarded iptables "$METADATA_IPV4" || die "could not block $METADATA_IPV4 with iptables"
    if command -v ip6tables >/dev/null 2>&1; then
      drop_forwarded ip6tables "$METADATA_IPV6" || log "warning: could not block $METADATA_IPV6 (IPv6 off?)"
    fi
  elif command -v nft >/dev/null 2>&1; then
    # A drop in any forward hook is final, whatever other tables accept.
    printf 'table inet forgejo_fleet { chain forward { type filter hook forward priority -10; ip daddr %s drop; ip6 daddr %s drop; } }\n' \
      "$METADATA_IPV4" "$METADATA_IPV6" | nft -f - || die "could not block the metadata service with nft"
  elif [ "$NEEDS_DOCKER" = 1 ]; then
    die "neither iptables nor nft is installed: cannot block the metadata service"
  else
    log "warning: neither iptables nor nft is installed: metadata block skipped"
    return 0
  fi
  log "metadata service blocked for forwarded (container) traffic"
}

`;

/**
 * The cold bootstrap's main: prepare, then run the one job the preamble's run_runner names.
 * prepare_host_user exists only in scripts with a host user (host-user.ts).
 */
export const COLD_MAIN = `main() {
  trap finish EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  umask 077
  log "bootstrap starting: fleet $FLEET_ID, runner $RUNNER_NAME"
  # Backstop in case anything below hangs; the final poweroff supersedes it. A pod has
  # activeDeadlineSeconds instead, and a host user would need root it does not have.
  if in_container; then
    [ -z "$HOST_USER" ] || die "runner.host_user does not apply in a pod: it runs as the image's user"
  else
    shutdown -P "+$DEADLINE_MINUTES" >/dev/null 2>&1 || log "warning: could not schedule the deadline shutdown"
  fi
  install_runner
  if [ "$NEEDS_DOCKER" = 1 ]; then ensure_docker; fi
  if [ "$BLOCK_METADATA" = 1 ]; then block_metadata; else log "warning: metadata service not blocked"; fi
  [ -s "$TOKEN_FILE" ] || die "runner token file $TOKEN_FILE is missing"
  if [ -n "$HOST_USER" ]; then
    prepare_host_user
    # Only the job's user (and root) may read them: 0600 from cloud-init, now owned by it.
    chown "$HOST_USER" "$TOKEN_FILE" "$RUNNER_CONFIG"
    cd "$HOST_HOME"
  fi
  log "starting forgejo-runner one-job, timeout $JOB_TIMEOUT s"
  runner_exit=0
  run_runner || runner_exit=$?
  # A container's token is on a read-only mount; the cluster deletes its Secret with the pod.
  in_container || rm -f "$TOKEN_FILE"
  case $runner_exit in
    0) log "forgejo-runner exited 0" ;;
    124 | 137) log "forgejo-runner stopped by the job timeout (exit $runner_exit)" ;;
    *) log "forgejo-runner exited $runner_exit" ;;
  esac
  exit "$runner_exit"
}

main
`;
