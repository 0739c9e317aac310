// The parts every provider's config schema shares. Schema files load only zod and the runtime
// kit's config primitives, never an SDK (the config package imports them through ./schemas.ts).
import { Duration, formatDuration } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';

/**
 * What one provider kind adds to the dispatcher config, listed in ../schemas.ts: the config
 * package builds `providers.<name>` (a union discriminated by `kind`) and the scope overrides
 * from these, so a kind's config lives in its own folder.
 */
export interface ProviderSchema<K extends string = string> {
  readonly kind: K;
  /** One `providers.<name>` entry of this kind. */
  readonly options: z.ZodType<{ readonly kind: K }>;
  /** What `scopes.<scope>.providers.<name>` may set for a provider of this kind. */
  readonly credentials: z.ZodType;
}

/** Hourly prices per machine type, used for money budgets (optional). */
export const HourlyPrices = z.record(z.string().min(1), z.number().nonnegative());

/** The provider verbs that get a deadline; `deleteMany` shares `delete`'s. */
export const CALL_VERBS = ['create', 'get', 'list', 'delete'] as const;
export type CallVerb = (typeof CALL_VERBS)[number];

/** Per-call deadlines in milliseconds, one per verb. */
export type CallTimeouts = Readonly<Record<CallVerb, number>>;

/** A deadline shorter than a second cannot cover one cloud round trip; longer than an hour hides a hang. */
const CALL_TIMEOUT = { min: 1_000, max: 3_600_000 } as const;

/**
 * Defaults of the cloud providers: a create may retry a lost answer and look it up (EC2 sends
 * RunInstances up to three times), a list pages through every instance of the fleet.
 */
export const CLOUD_CALL_TIMEOUTS: CallTimeouts = {
  create: 120_000,
  get: 30_000,
  list: 60_000,
  delete: 60_000,
};

function callTimeoutFields(defaults: CallTimeouts | 'timeout') {
  const field = (verb: CallVerb) =>
    Duration(CALL_TIMEOUT)
      .optional()
      .describe(
        defaults === 'timeout'
          ? "default: the provider's timeout"
          : `default: ${formatDuration(defaults[verb])}`,
      );
  return { create: field('create'), get: field('get'), list: field('list'), delete: field('delete') };
}

/** The shell provider's block: a verb left out takes the provider's `timeout`. */
export const ShellCallTimeouts = z.strictObject(callTimeoutFields('timeout')).prefault({});

/** Fills the verbs the operator left out from `defaults` (or one default for every verb). */
export function withCallDefaults(
  given: Partial<Record<CallVerb, number | undefined>>,
  defaults: CallTimeouts | number,
): CallTimeouts {
  const fallback = (verb: CallVerb) => (typeof defaults === 'number' ? defaults : defaults[verb]);
  return {
    create: given.create ?? fallback('create'),
    get: given.get ?? fallback('get'),
    list: given.list ?? fallback('list'),
    delete: given.delete ?? fallback('delete'),
  };
}

/**
 * `call_timeouts: { create: 2m, get: 30s, list: 60s, delete: 60s }` as the cloud providers read it:
 * each key optional, a missing verb gets the cloud default.
 */
export const CloudCallTimeouts = z
  .strictObject(callTimeoutFields(CLOUD_CALL_TIMEOUTS))
  .prefault({})
  .transform((given) => withCallDefaults(given, CLOUD_CALL_TIMEOUTS));
