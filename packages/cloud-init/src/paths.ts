/**
 * Fixed locations on the VM. The token lives under /run (tmpfs) so it never reaches a disk,
 * and the runner reads it through a file: URL because one-job has no --token flag.
 */
export const FLEET_DIR = '/run/forgejo-fleet';
export const TOKEN_PATH = `${FLEET_DIR}/runner-token`;
export const TOKEN_URL = `file://${TOKEN_PATH}`;
/**
 * forgejo-runner's own job timeout (`runner.timeout`) defaults to 3h and would cut longer jobs
 * short, so the runner gets a config file holding only that setting (no server connections:
 * those come from flags, and defining both is an error).
 */
export const RUNNER_CONFIG_PATH = `${FLEET_DIR}/runner.yaml`;
export const BOOTSTRAP_PATH = '/usr/local/sbin/forgejo-fleet-bootstrap';
/** Where a downloaded forgejo-runner is installed. */
export const DOWNLOAD_INSTALL_PATH = '/usr/local/bin/forgejo-runner';

/** EC2 allows 16 KB of raw user-data; Hetzner allows 32 KiB, so the EC2 limit binds. */
export const USER_DATA_MAX_BYTES = 16 * 1024;

/** The runner gets SIGTERM at the job timeout, then SIGKILL this long after. */
export const KILL_AFTER_SECONDS = 30;

/**
 * The VM powers itself off this long after boot plus the job timeout even if cloud-init or the
 * bootstrap hangs (apt, docker start, a stuck download): installs must fit into it.
 */
export const BOOTSTRAP_SLACK_SECONDS = 20 * 60;

/** Cloud metadata services job containers must not reach (EC2 IMDS v4/v6, Hetzner metadata). */
export const METADATA_IPV4 = '169.254.169.254';
export const METADATA_IPV6 = 'fd00:ec2::254';

/**
 * What `forgejo-fleet render-user-data` renders instead of a real token. It passes the token
 * schema so the rendering is exactly the shape a real one has.
 */
export const PLACEHOLDER_TOKEN = 'PLACEHOLDER-RUNNER-TOKEN-0000000000000000';
