import { z } from 'zod';
import type { Instance, InstanceState } from '../provider.js';
import { API_VERSION } from './protocol.js';

const STATES = [
  'pending',
  'running',
  'stopping',
  'stopped',
  'terminated',
  'unknown',
] as const satisfies readonly InstanceState[];

/** Checked first and on its own, so a script speaking another version gets one clear message. */
export const ApiVersion = z.object({
  apiVersion: z.literal(API_VERSION, { error: `expected "${API_VERSION}"` }),
});

const CreatedAt = z.union([
  z.number().int().nonnegative(),
  z.iso.datetime({ offset: true }).transform((text) => Date.parse(text)),
]);

/** One instance as a script reports it, normalised to the provider interface's `Instance`. */
export const ShellInstance = z
  .object({
    id: z.string().min(1),
    name: z.string(),
    state: z.enum(STATES),
    tags: z.record(z.string(), z.string()),
    createdAt: CreatedAt.optional(),
    machine: z.string().min(1).optional(),
  })
  .transform((raw): Instance => {
    const { createdAt, machine, ...rest } = raw;
    return {
      ...rest,
      ...(createdAt === undefined ? {} : { createdAt }),
      ...(machine === undefined ? {} : { machine }),
    };
  });
export type ShellInstance = z.infer<typeof ShellInstance>;

/** stdout of `create` and `get` (and of `create` exiting 4). */
export const InstanceOutput = z.object({ instance: ShellInstance });
export type InstanceOutput = z.infer<typeof InstanceOutput>;

/** stdout of `list`. */
export const ListOutput = z.object({ instances: z.array(ShellInstance) });
export type ListOutput = z.infer<typeof ListOutput>;

/** Optional stdout of a failing call. */
export const ErrorOutput = z.object({
  message: z.string().optional(),
  retryAfterMs: z.number().int().nonnegative().optional(),
});
export type ErrorOutput = z.infer<typeof ErrorOutput>;
