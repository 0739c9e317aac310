import { SecretRef } from '@forgejo-fleet/runtime/config';
import { describe, expect, it } from 'vitest';
import { CLOUD_CALL_TIMEOUTS } from './config-schema.js';
import { Ec2Provider, providerSchemas, ShellProvider } from './schemas.js';

const EC2 = {
  kind: 'ec2',
  region: 'eu-central-1',
  image_id: 'ami-0123456789abcdef0',
  instance_types: ['c7a.large'],
};
const HETZNER = {
  kind: 'hetzner',
  token_env: 'HT',
  server_types: ['cpx22'],
  locations: ['fsn1'],
  image: 'ubuntu-24.04',
};
const SHELL = { kind: 'shell', command: ['/usr/bin/provider'] };

/** One entry parsed by its kind's schema, as the config's union of them does. */
function parsedBy(input: { readonly kind: string; readonly [key: string]: unknown }) {
  const schema = providerSchemas.find((s) => s.kind === input.kind);
  if (schema === undefined) throw new Error(`no kind ${input.kind}`);
  return schema.options.safeParse(input);
}

function issues(input: { readonly kind: string; readonly [key: string]: unknown }): string[] {
  const parsed = parsedBy(input);
  return parsed.success ? [] : parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('call_timeouts', () => {
  it.each([
    ['ec2', EC2],
    ['hetzner', HETZNER],
  ])('%s defaults every verb to the cloud defaults', (_kind, entry) => {
    const parsed = parsedBy(entry);
    expect(parsed.success && parsed.data.call_timeouts).toEqual(CLOUD_CALL_TIMEOUTS);
    expect(CLOUD_CALL_TIMEOUTS).toEqual({ create: 120_000, get: 30_000, list: 60_000, delete: 60_000 });
  });

  it('a verb set explicitly keeps the defaults of the others', () => {
    const parsed = Ec2Provider.parse({ ...EC2, call_timeouts: { create: '5m' } });
    expect(parsed.call_timeouts).toEqual({ ...CLOUD_CALL_TIMEOUTS, create: 300_000 });
  });

  it.each([
    [{}, { create: 60_000, get: 60_000, list: 60_000, delete: 60_000 }],
    [{ timeout: '2m' }, { create: 120_000, get: 120_000, list: 120_000, delete: 120_000 }],
    [
      { timeout: '2m', call_timeouts: { get: '10s' } },
      { create: 120_000, get: 10_000, list: 120_000, delete: 120_000 },
    ],
  ])('shell: timeout is the default of every verb (%j)', (extra, expected) => {
    expect(ShellProvider.parse({ ...SHELL, ...extra }).call_timeouts).toEqual(expected);
  });

  it.each([
    [{ create: '500ms' }, 'call_timeouts.create: duration 500ms is out of range (1s to 1h)'],
    [{ list: '2h' }, 'call_timeouts.list: duration 2h is out of range (1s to 1h)'],
    [{ deleteMany: '1m' }, 'call_timeouts: Unrecognized key: "deleteMany"'],
  ])('refuses %j with the field named', (callTimeouts, message) => {
    expect(issues({ ...HETZNER, call_timeouts: callTimeouts })).toEqual([message]);
  });
});

describe('secrets by file or by env', () => {
  it('ec2 external_id comes from a file or from env', () => {
    const fromEnv = Ec2Provider.parse({
      ...EC2,
      credentials: { role_arn: 'arn:aws:iam::123456789012:role/x', external_id_env: 'EXT' },
    });
    expect(fromEnv.credentials?.external_id).toEqual(new SecretRef({ env: 'EXT' }));
    const fromFile = Ec2Provider.parse({ ...EC2, credentials: { external_id_file: 'ext' } });
    expect(fromFile.credentials?.external_id).toEqual(new SecretRef({ file: 'ext' }));
  });

  it.each(['external_id', 'access_key_id', 'secret_access_key'])(
    'ec2 %s set both ways is refused',
    (name) => {
      const credentials = {
        access_key_id_file: 'a',
        secret_access_key_file: 's',
        [`${name}_file`]: 'f',
        [`${name}_env`]: 'E',
      };
      expect(issues({ ...EC2, credentials })).toContain(
        `credentials.${name}_env: set only one of ${name}_file and ${name}_env`,
      );
    },
  );

  it('shell secrets come from files and from env, as one list', () => {
    const parsed = ShellProvider.parse({
      ...SHELL,
      secret_files: { API_TOKEN: 'api-token' },
      secret_env: { REGION_KEY: 'FLEET_REGION_KEY' },
    });
    expect(parsed.secret_files).toEqual([
      { name: 'API_TOKEN', value: new SecretRef({ file: 'api-token' }) },
      { name: 'REGION_KEY', value: new SecretRef({ env: 'FLEET_REGION_KEY' }) },
    ]);
    expect(parsed).not.toHaveProperty('secret_env');
  });

  it('a shell secret named in both secret_files and secret_env is refused', () => {
    expect(issues({ ...SHELL, secret_files: { T: 'f' }, secret_env: { T: 'E' } })).toEqual([
      'secret_env.T: T is set in secret_files too; set it once',
    ]);
  });
});
