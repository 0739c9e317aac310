import { z } from 'zod';
import { Duration } from '../../duration.js';

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

function callTimeoutFields() {
  return {
    create: Duration(CALL_TIMEOUT).optional(),
    get: Duration(CALL_TIMEOUT).optional(),
    list: Duration(CALL_TIMEOUT).optional(),
    delete: Duration(CALL_TIMEOUT).optional(),
  };
}

/** `call_timeouts: { create: 2m, get: 30s, list: 60s, delete: 60s }`; each key optional. */
export const CallTimeoutsInput = z.strictObject(callTimeoutFields()).prefault({});

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

/** The block as the cloud providers read it: missing verbs get the cloud defaults. */
export const CloudCallTimeouts = CallTimeoutsInput.transform((given) =>
  withCallDefaults(given, CLOUD_CALL_TIMEOUTS),
);
