import { Duration, withSecret } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';
import { ForgejoBaseUrl, HttpUrl, LabelName, Listen, Log, Name, RunnerLabel } from '../common.js';
import { ProviderConfig } from './provider-config.js';

export const Forgejo = withSecret(
  {
    /** What the services call (may be a loopback or internal address). */
    api_url: ForgejoBaseUrl('the Forgejo URL the dispatcher calls'),
    /** What runners on the VMs reach (public or VPC address). */
    instance_url: ForgejoBaseUrl('the Forgejo URL runners reach'),
    timeout: Duration({ min: 1_000, max: 120_000 }).prefault('10s'),
  },
  'token',
  false,
);

export const RunnerInstall = z.discriminatedUnion(
  'mode',
  [
    z.strictObject({
      mode: z.literal('baked'),
      binary_path: z
        .string()
        .startsWith('/', 'expected an absolute path')
        .default('/usr/local/bin/forgejo-runner'),
    }),
    z.strictObject({
      mode: z.literal('download'),
      url: HttpUrl('the forgejo-runner binary URL'),
      sha256: z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits'),
    }),
  ],
  {
    error: (issue) => (issue.code === 'invalid_union' ? 'expected mode: baked or mode: download' : undefined),
  },
);
export type RunnerInstall = z.infer<typeof RunnerInstall>;

/** `runner.host_user`: a POSIX user name as useradd takes it on Debian and Ubuntu, never root. */
const HostUser = z
  .string()
  .regex(
    /^[a-z_][a-z0-9_-]{0,31}$/,
    'expected a POSIX user name: a lowercase letter or "_", then up to 31 lowercase letters, digits, "_" or "-"',
  )
  .refine((name) => name !== 'root', 'must not be root: host_user exists to run host-mode jobs without root');

export const RunnerDefaults = z.strictObject({
  /** Registrations and VM names start with this, so stale ones can be found and only ours touched. */
  name_prefix: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,23}$/, 'expected lowercase letters, digits and "-", at most 24 characters')
    .optional(),
  install: RunnerInstall.prefault({ mode: 'baked' }),
  /** Install Docker on boot for docker:// labels (off when the image has it baked in). */
  install_docker: z.boolean().default(false),
  /** Let jobs reach the cloud metadata service (and any instance credentials it serves); logged at start. */
  allow_metadata: z.boolean().default(false),
  /** Run the runner and its host-mode jobs as this user, kept from the metadata service, instead of root. */
  host_user: HostUser.optional(),
});

export const RouteTimeouts = z.strictObject({
  /** VM created → runner started; past it the VM is killed. */
  boot: Duration({ min: 10_000, max: 3_600_000 }).prefault('5m'),
  /** VM running → job picked up; past it the VM is killed and the job dispatched again. */
  pickup: Duration({ min: 10_000, max: 86_400_000 }).prefault('10m'),
  /** Hard cap on `one-job` itself (it never exits by itself if its job is cancelled). */
  job: Duration({ min: 60_000, max: 7 * 86_400_000 }).prefault('6h'),
  /** Hard cap on the VM's whole life; must exceed boot + job. */
  max_lifetime: Duration({ min: 60_000, max: 7 * 86_400_000 }).prefault('7h'),
  /** Fresh VMs a job gets after pickup timeouts before its dispatch fails. */
  pickup_retries: z.number().int().min(0).max(10).default(2),
});

/** Daily caps (UTC days): VM time, and money where the provider's hourly prices are configured. */
export const Budgets = z.strictObject({
  vm_minutes_per_day: z.number().int().min(1).optional(),
  money_per_day: z.number().positive().optional(),
});

export const RouteLimits = z.strictObject({
  max_vms: z.number().int().min(1).max(100_000).default(10),
  max_vms_per_scope: z.number().int().min(1).max(100_000).optional(),
  ...Budgets.shape,
});

const HourMinute = z
  .string()
  .regex(/^([01]\d|2[0-3]):[0-5]\d$|^24:00$/, 'expected a UTC time as HH:MM, e.g. 08:00');
const DAYS = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'] as const;

/** A window (UTC) with its own pool size, e.g. more warm VMs in working hours. */
export const WarmWindow = z
  .strictObject({
    days: z
      .array(z.enum(DAYS))
      .min(1)
      .default([...DAYS]),
    from: HourMinute,
    to: HourMinute,
    min_idle: z.number().int().min(0).max(1000),
  })
  .refine((w) => w.from < w.to, {
    path: ['to'],
    message: 'must be later than from (split a window over midnight in two)',
  });

export const RouteWarm = z.strictObject({
  /** Booted, unassigned VMs to keep outside every schedule window. */
  min_idle: z.number().int().min(0).max(1000).default(0),
  /** The first matching window sets the pool size instead. */
  schedule: z.array(WarmWindow).default([]),
  /** A warm VM idle this long is recycled. */
  max_idle_age: Duration({ min: 60_000, max: 7 * 86_400_000 }).prefault('1h'),
  /** Which of the route's providers makes warm VMs (default: the first). */
  provider: Name.optional(),
  /** For providers billed per started hour (Hetzner): retire an idle VM before it starts another hour. */
  paid_hour_only: z.boolean().default(false),
});

/**
 * Paid-hour reuse (providers with `rebuild`, i.e. Hetzner): a server whose job ended cleanly is
 * kept while its paid hour has time left, and rebuilt from the image for the route's next job.
 */
export const RouteReuse = z.strictObject({
  paid_hour: z
    .boolean()
    .default(false)
    .describe(
      'keep a server whose job ended cleanly and rebuild it (new disk, new user-data) for the next job of this route while its paid hour lasts',
    ),
  min_left: Duration({ min: 60_000, max: 59 * 60_000 })
    .prefault('10m')
    .describe(
      'a server is reused only while at least this much of its current paid hour is left; it is deleted before the next hour starts',
    ),
  same_scope_only: z
    .boolean()
    .default(true)
    .describe(
      'reuse a server only for a job of the scope its previous job came from (false: any scope of the route)',
    ),
});

/** The endpoint warm VMs' agents poll for their job; a listener of its own, never the dispatch API. */
export const Agent = z
  .strictObject({
    listen: Listen.prefault({ port: 8081 }),
    /** How VMs reach the listener (through a proxy or the host's public address); https unless loopback. */
    public_url: HttpUrl('the agent endpoint as VMs reach it'),
    /** Accept a plain http:// public_url (the poll answer carries a runner token); warned at every start. */
    allow_insecure_http: z.boolean().default(false),
    /** How long a poll is held open when there is no job yet. */
    hold: Duration({ min: 1_000, max: 60_000 }).prefault('25s'),
    /** Polls per second accepted from all VMs together, counted after the secret check (and 1/s sustained per VM). */
    max_polls_per_second: z.number().int().min(1).max(10_000).default(50),
    /** Polls per second from one source address, counted before the secret check (burst: twice this). */
    max_polls_per_source: z.number().int().min(1).max(10_000).default(20),
    /** Proxies in front of the listener: polls from these addresses count against the last X-Forwarded-For address. */
    trusted_proxies: z
      .array(z.union([z.ipv4(), z.ipv6()]))
      .max(64)
      .default([]),
  })
  .superRefine((agent, ctx) => {
    if (agent.allow_insecure_http || !agent.public_url.startsWith('http:')) return;
    if (isLoopbackUrl(agent.public_url)) return;
    ctx.addIssue({
      code: 'custom',
      path: ['public_url'],
      message:
        'must be https:// (the poll answer carries a runner token) unless its host is a loopback address; put TLS in front, or set allow_insecure_http: true',
    });
  });

/** 127.0.0.0/8, ::1 or localhost: traffic that never leaves the host. */
function isLoopbackUrl(text: string): boolean {
  let host: string;
  try {
    host = new URL(text).hostname;
  } catch {
    return false; // HttpUrl reports it
  }
  return host === 'localhost' || host === '[::1]' || /^127(?:\.\d{1,3}){3}$/.test(host);
}

/**
 * `/healthz`, `/readyz` and `/metrics`: on a listener of their own (`listen`; then 404 on the API
 * listener), and/or behind a bearer token (`token_file`/`token_env`; `/healthz` stays open).
 */
export const Ops = withSecret({ listen: Listen.optional() }, 'token', false);

/** The status page at `/ui` (docs/ui.md). */
export const Ui = z.strictObject({
  /**
   * Count `X-Forwarded-Proto: https` as TLS for the session cookie's `Secure` flag. Only behind a
   * proxy that sets the header itself: anyone else could send it.
   */
  trust_forwarded_proto: z.boolean().default(false),
});

export const Route = z
  .strictObject({
    name: Name,
    /** A job matches when every label of its runs-on is in this list. */
    labels: z.array(LabelName).min(1, 'expected at least one label'),
    /** What the runner declares, `name:host` or `name:docker://image`; defaults to `<label>:host` for each label. */
    runner_labels: z.array(RunnerLabel).min(1).optional(),
    /** Provider chain, tried in order when one is out of capacity or failing. */
    providers: z.array(Name).min(1, 'expected at least one provider'),
    limits: RouteLimits.prefault({}),
    timeouts: RouteTimeouts.prefault({}),
    // Only what the route sets: unset keys fall back to the top-level `runner` (no defaults here,
    // or a route setting just install_docker would silently reset `install`).
    runner: z
      .strictObject({
        name_prefix: RunnerDefaults.shape.name_prefix,
        install: RunnerInstall.optional(),
        install_docker: z.boolean().optional(),
        allow_metadata: z.boolean().optional(),
        host_user: HostUser.optional(),
      })
      .optional(),
    /** Pre-booted VMs that get a job on arrival (needs `agent`). */
    warm: RouteWarm.optional(),
    /** Paid-hour reuse by rebuild (Hetzner); off by default. */
    reuse: RouteReuse.prefault({}),
  })
  .transform((route) => ({
    ...route,
    runner_labels: route.runner_labels ?? route.labels.map((label) => `${label}:host`),
  }));
export type Route = z.infer<typeof Route>;

export const ScopeSettings = withSecret(
  {
    /** Per-provider credential overrides, checked against the provider's kind. */
    providers: z.record(z.string(), z.record(z.string(), z.unknown())).default({}),
    /** Budgets of this scope across every route. */
    limits: Budgets.prefault({}),
  },
  'forgejo_token',
  false,
);

export const Client = withSecret(
  {
    name: Name,
    /** Scopes this client may dispatch for; "*" means every configured scope. */
    scopes: z.array(z.string()).min(1, 'expected at least one scope, or "*"'),
  },
  'token',
  true,
);

export const StoreTls = z.strictObject({
  mode: z
    .enum(['disable', 'require', 'verify-full'])
    .default('verify-full')
    .describe(
      'disable: plain TCP; require: encrypted, certificate not checked; verify-full: encrypted, certificate and host name checked',
    ),
  ca_file: z
    .string()
    .startsWith('/', 'expected an absolute path')
    .optional()
    .describe('PEM file of the CA that signed the server certificate (verify-full); default: the system CAs'),
});

export const Store = withSecret(
  {
    kind: z
      .enum(['sqlite', 'postgres'])
      .default('sqlite')
      .describe('sqlite: one file, one dispatcher; postgres: a shared database (url_file or url_env)'),
    /** SQLite file; relative paths resolve against $STATE_DIRECTORY when set. */
    path: z.string().min(1).default('forgejo-fleet.db'),
    pool_max: z.number().int().min(1).max(100).default(10).describe('kind postgres: connections in the pool'),
    statement_timeout: Duration({ min: 100, max: 600_000 })
      .prefault('5s')
      .describe(
        'kind postgres: the server cancels a statement (or lock wait) running longer; the call answers 503',
      ),
    tls: StoreTls.prefault({}).describe('kind postgres: TLS to the server'),
    /** Decision log as JSON lines (also kept in the store); relative like `path`. */
    decision_log: z.string().min(1).default('decisions.jsonl'),
    /** Ended dispatches, their transitions and decisions older than this are pruned. */
    retention: Duration({ min: 3_600_000, max: 3_650 * 86_400_000 }).prefault('30d'),
    /** The decision log file rotates when the next line would take it past this size. */
    decision_log_max_bytes: z
      .number()
      .int()
      .min(1_048_576, 'expected at least 1048576 (1 MiB)')
      .max(1_099_511_627_776, 'expected at most 1099511627776 (1 TiB)')
      .default(104_857_600),
    /** Rotated decision log files kept (decisions.jsonl.1 … .N); older ones are deleted. */
    decision_log_keep: z.number().int().min(1).max(1_000).default(5),
    /**
     * Store ids (from a lost store, named in the foreign-VM warnings) whose VMs and runner
     * registrations this dispatcher takes as its own: swept as orphans after `orphan_grace`.
     */
    adopt_store_ids: z
      .array(
        z.string().regex(/^s[0-9a-f]{16}$/, 'expected a store id: "s" and 16 hex digits, as in the warnings'),
      )
      .max(100)
      .default([]),
  },
  'url',
  false,
).superRefine((store, ctx) => {
  // A URL with kind sqlite is a forgotten `kind: postgres`: refuse it rather than run on SQLite.
  if (store.kind === 'sqlite' && store.url !== undefined) {
    ctx.addIssue({
      code: 'custom',
      path: [store.url.file !== undefined ? 'url_file' : 'url_env'],
      message: 'only for kind: postgres (set store.kind: postgres, or remove it)',
    });
  }
  if (store.kind === 'postgres' && store.url === undefined) {
    ctx.addIssue({
      code: 'custom',
      path: ['url_file'],
      message:
        'required with kind: postgres: set url_file or url_env (postgres://user:password@host:port/database)',
    });
  }
});

export const Reconcile = z.strictObject({
  interval: Duration({ min: 1_000, max: 3_600_000 }).prefault('15s'),
  orphan_grace: Duration({ min: 0, max: 86_400_000 }).prefault('10m'),
  /** At most one pass per gap: POST /v1/reconcile calls inside it join the next allowed pass. */
  min_gap: Duration({ min: 0, max: 3_600_000 }).prefault('2s'),
});

/**
 * Several dispatchers on one PostgreSQL database: the reconciler, warm refill and sweeps run on
 * the one holding the lease. Ignored with SQLite (one dispatcher, always the leader).
 */
export const Ha = z
  .strictObject({
    lease_ttl: Duration({ min: 3_000, max: 300_000 })
      .prefault('15s')
      .describe(
        'kind postgres: the leader lease; a follower takes over within this after the leader stops renewing',
      ),
    renew_every: Duration({ min: 1_000, max: 100_000 })
      .optional()
      .describe(
        'kind postgres: how often the lease is renewed (and a follower tries it); default lease_ttl / 3',
      ),
  })
  .superRefine((ha, ctx) => {
    // Renewing less often than twice per lease loses it to any one slow renewal.
    if (ha.renew_every !== undefined && ha.renew_every * 2 > ha.lease_ttl) {
      ctx.addIssue({
        code: 'custom',
        path: ['renew_every'],
        message: `must be at most half of lease_ttl (${ha.lease_ttl} ms), so one late renewal does not lose the lease`,
      });
    }
  });

export const GlobalLimits = z.strictObject({
  /** Live VMs across every route and scope of this dispatcher. */
  max_vms: z.number().int().min(1).max(100_000).default(100),
});

export const DispatcherConfigShape = z.strictObject({
  fleet_id: Name,
  listen: Listen.prefault({ port: 8080 }),
  log: Log,
  store: Store.prefault({}),
  forgejo: Forgejo,
  runner: RunnerDefaults.prefault({}),
  reconcile: Reconcile.prefault({}),
  ha: Ha.prefault({}),
  limits: GlobalLimits.prefault({}),
  agent: Agent.optional(),
  ops: Ops.optional(),
  ui: Ui.prefault({}),
  providers: z
    .record(Name, ProviderConfig)
    .refine((p) => Object.keys(p).length > 0, 'expected at least one provider'),
  routes: z.array(Route).min(1, 'expected at least one route'),
  /** Keys are scopes: instance, org:NAME, user:NAME, repo:OWNER/NAME; an empty entry uses the defaults. */
  scopes: z.record(
    z.string(),
    z.preprocess((value) => value ?? {}, ScopeSettings),
  ),
  clients: z.array(Client).min(1, 'expected at least one client'),
});
