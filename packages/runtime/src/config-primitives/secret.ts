import { inspect } from 'node:util';
import { z } from 'zod';

/**
 * A secret read at start. It prints as `[redacted]` through JSON, util.inspect and string
 * conversion, so a logged config object cannot leak it; `reveal()` is the one way in.
 */
export class Secret {
  readonly #value: string;
  readonly source: string;

  constructor(value: string, source: string) {
    this.#value = value;
    this.source = source;
  }

  reveal(): string {
    return this.#value;
  }

  toJSON(): string {
    return '[redacted]';
  }

  toString(): string {
    return '[redacted]';
  }

  [inspect.custom](): string {
    return `Secret(${this.source})`;
  }
}

/**
 * A secret after the config loader read it, as a schema: for checking a loaded config's parts
 * that cross a package boundary untyped (a scope's provider credentials).
 */
export const ResolvedSecret = z.instanceof(Secret, {
  message: 'expected a secret read by the config loader',
});

/** Where a secret comes from: a file (systemd credential) or an environment variable. */
export class SecretRef {
  readonly file: string | undefined;
  readonly env: string | undefined;

  constructor(from: { file: string } | { env: string }) {
    this.file = 'file' in from ? from.file : undefined;
    this.env = 'env' in from ? from.env : undefined;
  }

  describe(): string {
    return this.file !== undefined ? `file ${this.file}` : `env ${this.env}`;
  }
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

type SecretShape<N extends string> = { [K in `${N}_file` | `${N}_env`]: z.ZodOptional<z.ZodString> } & {
  [K in N]: z.ZodOptional<z.ZodUnknown>;
};

/**
 * Schema fields for one secret named `name`: `<name>_file` or `<name>_env`. The inline form
 * `<name>` is rejected with the fix, never echoed back (it is a secret).
 */
export function secretFields<const N extends string>(name: N): SecretShape<N> {
  return {
    [`${name}_file`]: z.string().min(1, 'expected a file path').optional(),
    [`${name}_env`]: z.string().regex(ENV_NAME, 'expected an environment variable name').optional(),
    [name]: z
      .unknown()
      .optional()
      .superRefine((value, ctx) => {
        if (value !== undefined) {
          ctx.addIssue({
            code: 'custom',
            message: `secrets may not be written inline; use ${name}_file (a path, relative to $CREDENTIALS_DIRECTORY when set) or ${name}_env`,
          });
        }
      }),
  } as unknown as SecretShape<N>;
}

type WithoutSecretKeys<T, N extends string> = Omit<T, N | `${N}_file` | `${N}_env`>;
export type WithSecret<T, N extends string, Req extends boolean> = WithoutSecretKeys<T, N> & {
  [K in N]: Req extends true ? SecretRef : SecretRef | undefined;
};

/**
 * A strict object with secret fields; the output replaces `<name>_file`/`<name>_env` by one
 * `SecretRef` under `<name>`. Setting both, or neither for a required secret, is an error.
 */
export function withSecret<
  S extends z.core.$ZodLooseShape,
  const N extends string,
  const Req extends boolean,
>(shape: S, name: N, required: Req) {
  return z.strictObject({ ...shape, ...secretFields(name) }).transform((obj, ctx) => {
    const record = obj as Record<string, unknown>;
    const file = record[`${name}_file`] as string | undefined;
    const env = record[`${name}_env`] as string | undefined;
    const out: Record<string, unknown> = { ...record };
    delete out[`${name}_file`];
    delete out[`${name}_env`];
    delete out[name];
    if (file !== undefined && env !== undefined) {
      ctx.addIssue({
        code: 'custom',
        path: [`${name}_env`],
        message: `set only one of ${name}_file and ${name}_env`,
      });
    } else if (file !== undefined) out[name] = new SecretRef({ file });
    else if (env !== undefined) out[name] = new SecretRef({ env });
    else if (required) {
      ctx.addIssue({
        code: 'custom',
        path: [`${name}_file`],
        message: `required: set ${name}_file or ${name}_env`,
      });
    }
    return out as WithSecret<z.infer<z.ZodObject<S>>, N, Req>;
  });
}

/** Replaces every SecretRef in a parsed config by its Secret. */
export type Resolved<T> = T extends SecretRef
  ? Secret
  : T extends readonly (infer U)[]
    ? Resolved<U>[]
    : T extends Map<infer K, infer V>
      ? Map<K, Resolved<V>>
      : T extends object
        ? { [K in keyof T]: Resolved<T[K]> }
        : T;
