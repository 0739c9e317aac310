import { z } from 'zod';
import { Duration } from '../../duration.js';
import { SecretRef } from '../../secret.js';

const ENV_NAME = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name');

/** Secrets passed to the command as environment variables, each read from a file. */
export const ShellSecrets = z
  .record(ENV_NAME, z.string().min(1, 'expected a file path'))
  .default({})
  .transform((files) =>
    Object.entries(files).map(([name, file]) => ({ name, value: new SecretRef({ file }) })),
  );

export const ShellProvider = z.strictObject({
  kind: z.literal('shell'),
  /** argv of the provider executable; run without a shell. */
  command: z
    .array(z.string().min(1))
    .min(1, 'expected the command as a list, e.g. [/usr/lib/fleet/provider]'),
  timeout: Duration({ min: 1_000, max: 3_600_000 }).prefault('60s'),
  env: z.record(ENV_NAME, z.string()).default({}),
  secret_files: ShellSecrets,
  max_instances: z.number().int().min(1).default(10),
  create_concurrency: z.number().int().min(1).max(100).default(5),
  cooldown: Duration({ min: 0 }).prefault('1m'),
  hourly_prices: z.record(z.string().min(1), z.number().nonnegative()).optional(),
});
export type ShellProvider = z.infer<typeof ShellProvider>;

export const ShellCredentials = z.strictObject({ secret_files: ShellSecrets });
