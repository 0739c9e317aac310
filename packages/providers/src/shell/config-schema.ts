import { Duration, ResolvedSecret, SecretRef } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';
import { type ProviderSchema, ShellCallTimeouts, withCallDefaults } from '../config-schema.js';

const ENV_NAME = z.string().regex(/^[A-Z_][A-Z0-9_]*$/, 'expected an environment variable name');

/** Secrets passed to the command as environment variables, each read from a file. */
export const ShellSecrets = z
  .record(ENV_NAME, z.string().min(1, 'expected a file path'))
  .default({})
  .transform((files) =>
    Object.entries(files).map(([name, file]) => ({ name, value: new SecretRef({ file }) })),
  );

/**
 * Secrets passed to the command as environment variables, each taken from a variable of the
 * dispatcher's own environment (the `_env` twin of `secret_files`).
 */
export const ShellSecretEnv = z
  .record(ENV_NAME, ENV_NAME)
  .default({})
  .transform((vars) => Object.entries(vars).map(([name, env]) => ({ name, value: new SecretRef({ env }) })));

type NamedSecrets = { name: string; value: SecretRef }[];

/** One list of the command's secrets; a name set both ways is an error naming it. */
function mergeSecrets(files: NamedSecrets, vars: NamedSecrets, ctx: z.RefinementCtx): NamedSecrets {
  const fromFiles = new Set(files.map((s) => s.name));
  for (const secret of vars) {
    if (fromFiles.has(secret.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['secret_env', secret.name],
        message: `${secret.name} is set in secret_files too; set it once`,
      });
    }
  }
  return [...files, ...vars];
}

/**
 * `timeout` is the deadline of every verb; `call_timeouts` overrides it per verb. The command is
 * killed at its verb's deadline.
 */
export const ShellProvider = z
  .strictObject({
    kind: z.literal('shell'),
    /** argv of the provider executable; run without a shell. */
    command: z
      .array(z.string().min(1))
      .min(1, 'expected the command as a list, e.g. [/usr/lib/fleet/provider]'),
    timeout: Duration({ min: 1_000, max: 3_600_000 }).prefault('60s'),
    env: z.record(ENV_NAME, z.string()).default({}),
    secret_files: ShellSecrets,
    secret_env: ShellSecretEnv,
    max_instances: z.number().int().min(1).default(10),
    create_concurrency: z.number().int().min(1).max(100).default(5),
    cooldown: Duration({ min: 0 }).prefault('1m'),
    hourly_prices: z.record(z.string().min(1), z.number().nonnegative()).optional(),
    call_timeouts: ShellCallTimeouts,
  })
  .transform(({ secret_env, ...p }, ctx) => ({
    ...p,
    secret_files: mergeSecrets(p.secret_files, secret_env, ctx),
    call_timeouts: withCallDefaults(p.call_timeouts, p.timeout),
  }));
export type ShellProvider = z.infer<typeof ShellProvider>;

export const ShellCredentials = z
  .strictObject({ secret_files: ShellSecrets, secret_env: ShellSecretEnv })
  .transform(({ secret_env, secret_files }, ctx) => ({
    secret_files: mergeSecrets(secret_files, secret_env, ctx),
  }));

/** The `shell` kind's part of the dispatcher config (listed in ../schemas.ts). */
export const shellSchema = {
  kind: 'shell',
  options: ShellProvider,
  credentials: ShellCredentials,
} as const satisfies ProviderSchema<'shell'>;

/** A scope's extra secrets for the command, read by the config loader, as the registry receives them. */
export const ShellResolvedCredentials = z.strictObject({
  secret_files: z.array(z.strictObject({ name: z.string(), value: ResolvedSecret })),
});
