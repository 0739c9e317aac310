/**
 * The shell provider exec protocol, version `forgejo-fleet.shell/v1` (GARM-like external provider).
 *
 * The dispatcher runs `command... <verb>` without a shell. `verb` is one of `create`, `delete`, `get`,
 * `list`. stdin carries exactly one JSON object, stdout must carry exactly one JSON object (or nothing,
 * where allowed), stderr is free text for humans: its last few KiB end up in error messages.
 *
 * stdin per verb:
 *   create  {"apiVersion", "spec": {"name", "idempotencyKey", "userData", "tags"}}
 *   delete  {"apiVersion", "id"}
 *   get     {"apiVersion", "id"}
 *   list    {"apiVersion", "tags"}            every instance carrying all these tags
 *
 * stdout on exit 0:
 *   create  {"apiVersion", "instance": {...}}
 *   get     {"apiVersion", "instance": {...}}
 *   list    {"apiVersion", "instances": [{...}, ...]}
 *   delete  {"apiVersion"} or nothing
 * where an instance is {"id", "name", "state", "tags", "createdAt"?, "machine"?}; `state` is one of
 * pending|running|stopping|stopped|terminated|unknown and `createdAt` is epoch milliseconds or an
 * RFC 3339 string.
 *
 * On a non-zero exit stdout may carry {"apiVersion", "message"?, "retryAfterMs"?} (exit 4: the
 * existing instance instead). Anything unparsable there is ignored.
 *
 * The environment is NOT inherited: the command sees PATH, HOME, LANG and TMPDIR from the dispatcher,
 * the provider's `env` and `secret_files`, and FORGEJO_FLEET_PROVIDER, FORGEJO_FLEET_VERB and
 * FORGEJO_FLEET_API_VERSION.
 *
 * The user-data on create's stdin holds a single-use runner token: a command must never log its stdin,
 * and the dispatcher never puts stdin (nor long words of the user-data that show up in stderr) into
 * errors or logs.
 *
 * The command runs in its own process group. On timeout or abort the whole group gets SIGTERM, then
 * SIGKILL after a grace period. Work that must outlive the call (a local "VM") has to start its own
 * session (setsid / detached) and must not keep stdout or stderr open.
 */

export const API_VERSION = 'forgejo-fleet.shell/v1';

export const VERBS = ['create', 'delete', 'get', 'list'] as const;
export type Verb = (typeof VERBS)[number];

/**
 * Exit codes. Everything not listed here (1, 2, 5–9, 14+, death by a signal) is a fatal error: the
 * dispatcher falls back to the next provider in the route's chain.
 */
export const EXIT = {
  /** Success; stdout carries the verb's answer. */
  ok: 0,
  /** get: no such instance (→ undefined); delete: already gone (→ 'not-found'). Fatal on create/list. */
  notFound: 3,
  /**
   * create: an instance with this idempotency key exists already. stdout carries it as on exit 0;
   * with no (valid) stdout the provider looks for it with `list` by the spec's tags. Fatal elsewhere.
   */
  alreadyExists: 4,
  /** No capacity for this machine type / location right now (→ ProviderError class `capacity`). */
  capacity: 10,
  /** An account limit was hit (→ `quota`). */
  quota: 11,
  /** The cloud API throttled us; stdout may carry `retryAfterMs` (→ `rate-limited`). */
  rateLimited: 12,
  /** Worth retrying: network error, 5xx, a lock held by another call (→ `transient`). */
  transient: 13,
} as const;

/** The environment variables the command may inherit from the dispatcher; nothing else leaks through. */
export const INHERITED_ENV = ['PATH', 'HOME', 'LANG', 'TMPDIR'] as const;

/** Most stdout a command may write: more is a fatal error (and the command is killed). */
export const MAX_STDOUT_BYTES = 1024 * 1024;
/** How much of the end of stderr goes into an error message. */
export const STDERR_TAIL_BYTES = 4 * 1024;
/** SIGTERM, then SIGKILL this much later, on timeout or abort. */
export const KILL_GRACE_MS = 5_000;
