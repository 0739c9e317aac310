import { FLEET_DIR } from '../paths.js';

/** The warm bootstrap: prepares the VM like the cold one, then runs the agent. */
export const WARM_BOOTSTRAP_PATH = '/usr/local/sbin/forgejo-fleet-warm';
/** The agent (agent.sh without its comments). */
export const AGENT_PATH = '/usr/local/sbin/forgejo-fleet-agent';
/**
 * The one-time secret, as a curl config file (`header = "Authorization: Bearer …"`), so curl
 * reads it with `-K` and it is never on a command line. tmpfs like the runner token.
 */
export const AGENT_AUTH_PATH = `${FLEET_DIR}/agent-auth`;
/** Where the agent keeps the dispatcher's answer while it reads it (it holds the runner token). */
export const AGENT_WORK_DIR = FLEET_DIR;

/** The dispatcher holds a poll about 25 s; past this the agent counts it as a network error. */
export const AGENT_POLL_TIMEOUT_SECONDS = 40;
/** Retries after errors back off from 1 s, doubling up to this. */
export const AGENT_BACKOFF_MAX_SECONDS = 30;

/**
 * What `render-user-data` renders instead of a real agent secret: the shape of a real one
 * (43 url-safe characters), so the rendering passes the schema.
 */
export const PLACEHOLDER_AGENT_SECRET = 'PLACEHOLDER-AGENT-SECRET-000000000000000000';
