import { Duration, HttpUrl, ResolvedSecret, SecretRef, secretFields } from '@forgejo-fleet/runtime/config';
import { z } from 'zod';
import { CloudCallTimeouts, HourlyPrices, type ProviderSchema } from '../config-schema.js';

/** Per-scope (or default) AWS credentials: the default chain, a profile, a role to assume, or static keys. */
export const Ec2Credentials = z
  .strictObject({
    profile: z.string().min(1).optional(),
    role_arn: z
      .string()
      .regex(/^arn:aws[a-z-]*:iam::\d{12}:role\/[\w+=,.@/-]+$/, 'expected an IAM role ARN')
      .optional(),
    ...secretFields('external_id'),
    ...secretFields('access_key_id'),
    ...secretFields('secret_access_key'),
  })
  .superRefine((c, ctx) => {
    for (const secret of ['external_id', 'access_key_id', 'secret_access_key'] as const) {
      if (c[`${secret}_file`] !== undefined && c[`${secret}_env`] !== undefined) {
        ctx.addIssue({
          code: 'custom',
          path: [`${secret}_env`],
          message: `set only one of ${secret}_file and ${secret}_env`,
        });
      }
    }
    const hasId = c.access_key_id_file !== undefined || c.access_key_id_env !== undefined;
    const hasKey = c.secret_access_key_file !== undefined || c.secret_access_key_env !== undefined;
    if (hasId !== hasKey) {
      ctx.addIssue({
        code: 'custom',
        path: [hasId ? 'secret_access_key_file' : 'access_key_id_file'],
        message: 'static keys need both access_key_id_* and secret_access_key_*',
      });
    }
  })
  .transform((c) => ({
    profile: c.profile,
    role_arn: c.role_arn,
    external_id: refOf(c.external_id_file, c.external_id_env),
    access_key_id: refOf(c.access_key_id_file, c.access_key_id_env),
    secret_access_key: refOf(c.secret_access_key_file, c.secret_access_key_env),
  }));
export type Ec2Credentials = z.infer<typeof Ec2Credentials>;

function refOf(file: string | undefined, env: string | undefined): SecretRef | undefined {
  if (file !== undefined) return new SecretRef({ file });
  if (env !== undefined) return new SecretRef({ env });
  return undefined;
}

export const Ec2Provider = z
  .strictObject({
    kind: z.literal('ec2'),
    region: z.string().regex(/^[a-z]{2}(-[a-z]+)+-\d$/, 'expected an AWS region such as eu-central-1'),
    endpoint: HttpUrl('an EC2-compatible endpoint').optional(),
    credentials: Ec2Credentials.optional(),
    image_id: z
      .string()
      .regex(/^ami-[0-9a-f]{8,17}$/, 'expected an AMI id such as ami-0123456789abcdef0')
      .optional(),
    launch_template: z
      .strictObject({
        id: z
          .string()
          .regex(/^lt-[0-9a-f]{8,17}$/, 'expected a launch template id (lt-…)')
          .optional(),
        name: z.string().min(1).optional(),
        version: z.string().default('$Default'),
      })
      .refine((t) => (t.id === undefined) !== (t.name === undefined), 'set exactly one of id and name')
      .optional(),
    instance_types: z
      .array(z.string().regex(/^[a-z0-9-]+\.[a-z0-9]+$/, 'expected an instance type such as c7a.large'))
      .min(1),
    subnets: z
      .array(z.string().regex(/^subnet-[0-9a-f]{8,17}$/, 'expected a subnet id (subnet-…)'))
      .default([]),
    security_groups: z
      .array(z.string().regex(/^sg-[0-9a-f]{8,17}$/, 'expected a security group id (sg-…)'))
      .default([]),
    key_name: z.string().min(1).optional(),
    instance_profile: z.string().min(1).optional(),
    root_volume: z
      .strictObject({
        size_gb: z.number().int().min(8).max(16_384),
        type: z.enum(['gp3', 'gp2', 'io1', 'io2']).default('gp3'),
      })
      .optional(),
    spot: z
      .strictObject({
        enabled: z.boolean().default(false),
        max_price: z
          .string()
          .regex(/^\d+(\.\d+)?$/, 'expected a price such as "0.05"')
          .optional(),
        fallback_to_on_demand: z.boolean().default(true),
      })
      .prefault({}),
    // 1 keeps job containers (one more network hop behind the Docker bridge) away from IMDS.
    imds_hop_limit: z.number().int().min(1).max(64).default(1),
    max_instances: z.number().int().min(1).default(50),
    create_concurrency: z.number().int().min(1).max(500).default(10),
    cooldown: Duration({ min: 0 }).prefault('5m'),
    hourly_prices: HourlyPrices.optional(),
    call_timeouts: CloudCallTimeouts,
  })
  .superRefine((p, ctx) => {
    if (p.image_id === undefined && p.launch_template === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['image_id'],
        message: 'required: set image_id or launch_template',
      });
    }
  });
export type Ec2Provider = z.infer<typeof Ec2Provider>;

/** The `ec2` kind's part of the dispatcher config (listed in ../schemas.ts). */
export const ec2Schema = {
  kind: 'ec2',
  options: Ec2Provider,
  credentials: Ec2Credentials,
} as const satisfies ProviderSchema<'ec2'>;

/**
 * `Ec2Credentials` after the config loader read its secrets, as the registry receives a scope's
 * override (untyped: the config keeps overrides by provider name, not by kind).
 */
export const Ec2ResolvedCredentials = z.strictObject({
  profile: z.string().optional(),
  role_arn: z.string().optional(),
  external_id: ResolvedSecret.optional(),
  access_key_id: ResolvedSecret.optional(),
  secret_access_key: ResolvedSecret.optional(),
});
