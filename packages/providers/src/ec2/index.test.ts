import { EC2Client } from '@aws-sdk/client-ec2';
import { Secret } from '@forgejo-fleet/runtime/config';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { type InstanceSpec, type MachineChoice, ProviderError } from '../provider.js';
import { awsError, fakeEc2 } from './__fixtures__/fake-ec2.js';
import type { Ec2ProviderOptions } from './config.js';
import {
  CLIENT_TOKEN_MAX,
  classifyEc2Error,
  clientToken,
  createEc2Provider,
  ec2Choices,
  ec2ClientConfig,
} from './index.js';

const fake = fakeEc2({ pageSize: 2 });
afterAll(() => fake.restore());
beforeEach(() => fake.reset());

const CONFIG: Ec2ProviderOptions = {
  region: 'eu-central-1',
  image_id: 'ami-0123456789abcdef0',
  launch_template: undefined,
  instance_types: ['c7a.large', 'c6a.large'],
  subnets: ['subnet-0a1b2c3d4e5f60718', 'subnet-0f1e2d3c4b5a69788'],
  security_groups: ['sg-0123456789abcdef0'],
  key_name: undefined,
  instance_profile: 'fleet-runner',
  root_volume: { size_gb: 40, type: 'gp3' },
  spot: { enabled: true, max_price: '0.05', fallback_to_on_demand: true },
  imds_hop_limit: 1,
  hourly_prices: { 'c7a.large': 0.1, 'c7a.large/spot': 0.04 },
};

function provider(config: Partial<Ec2ProviderOptions> = {}) {
  const clock = virtualClock();
  const p = createEc2Provider('aws-test', { ...CONFIG, ...config }, undefined, {
    createClient: (c) => new EC2Client(c),
    clock,
  });
  return Object.assign(p, { clock });
}

const USER_DATA = '#cloud-config\nwrite_files:\n  - path: /etc/x\n    content: "ünïcødé ✓ token=abc"\n';

function spec(
  overrides: Partial<Omit<InstanceSpec, 'choice'>> & { choice?: MachineChoice | undefined } = {},
): InstanceSpec {
  const { choice, ...rest } = overrides;
  return {
    name: 'acme-ci-d0123456789ab',
    idempotencyKey: 'acme-ci-d0123456789ab-aws-eu',
    userData: USER_DATA,
    tags: {
      'forgejo-fleet': 'acme-ci',
      'forgejo-fleet-dispatch': 'd0123456789ab',
      'forgejo-fleet-scope': 'repo:alice/website',
    },
    ...rest,
    ...(choice === undefined ? {} : { choice }),
  };
}

describe('ec2 choices', () => {
  it('tries every spot pool (type × subnet) before any on-demand one', () => {
    const keys = ec2Choices(CONFIG).map((c) => c.key);
    expect(keys).toEqual([
      'c7a.large@subnet-0a1b2c3d4e5f60718/spot',
      'c7a.large@subnet-0f1e2d3c4b5a69788/spot',
      'c6a.large@subnet-0a1b2c3d4e5f60718/spot',
      'c6a.large@subnet-0f1e2d3c4b5a69788/spot',
      'c7a.large@subnet-0a1b2c3d4e5f60718/on-demand',
      'c7a.large@subnet-0f1e2d3c4b5a69788/on-demand',
      'c6a.large@subnet-0a1b2c3d4e5f60718/on-demand',
      'c6a.large@subnet-0f1e2d3c4b5a69788/on-demand',
    ]);
    expect(new Set(keys).size).toBe(keys.length);
    expect(ec2Choices(CONFIG)[0]).toEqual({
      key: 'c7a.large@subnet-0a1b2c3d4e5f60718/spot',
      machine: 'c7a.large',
      location: 'subnet-0a1b2c3d4e5f60718',
      market: 'spot',
      hourlyPrice: 0.04,
    });
    expect(ec2Choices(CONFIG)[4]?.hourlyPrice).toBe(0.1);
  });

  it.each([
    [{ enabled: false, fallback_to_on_demand: true }, ['on-demand']],
    [{ enabled: true, fallback_to_on_demand: false }, ['spot']],
  ])('spot %j gives markets %j; no subnets means the default VPC', (spot, markets) => {
    const choices = ec2Choices({ ...CONFIG, subnets: [], spot: { ...spot, max_price: undefined } });
    expect([...new Set(choices.map((c) => c.market))]).toEqual(markets);
    expect(choices.map((c) => c.key)).toEqual(
      markets.flatMap((m) => [`c7a.large@default/${m}`, `c6a.large@default/${m}`]),
    );
    expect(choices.every((c) => c.location === undefined)).toBe(true);
  });
});

describe('ec2 RunInstances request', () => {
  it('tags instance and volume, base64 user-data, terminate on shutdown, IMDSv2 with the hop limit, spot options', async () => {
    const p = provider({ imds_hop_limit: 2 });
    const instance = await p.create(spec());

    expect(fake.runCalls).toHaveLength(1);
    const input = fake.runCalls[0];
    const tags = [
      { Key: 'Name', Value: 'acme-ci-d0123456789ab' },
      { Key: 'forgejo-fleet', Value: 'acme-ci' },
      { Key: 'forgejo-fleet-dispatch', Value: 'd0123456789ab' },
      { Key: 'forgejo-fleet-scope', Value: 'repo:alice/website' },
    ];
    expect(input).toMatchObject({
      MinCount: 1,
      MaxCount: 1,
      ImageId: 'ami-0123456789abcdef0',
      InstanceType: 'c7a.large',
      SubnetId: 'subnet-0a1b2c3d4e5f60718',
      SecurityGroupIds: ['sg-0123456789abcdef0'],
      IamInstanceProfile: { Name: 'fleet-runner' },
      InstanceInitiatedShutdownBehavior: 'terminate',
      MetadataOptions: { HttpTokens: 'required', HttpEndpoint: 'enabled', HttpPutResponseHopLimit: 2 },
      InstanceMarketOptions: {
        MarketType: 'spot',
        SpotOptions: {
          SpotInstanceType: 'one-time',
          InstanceInterruptionBehavior: 'terminate',
          MaxPrice: '0.05',
        },
      },
      BlockDeviceMappings: [
        { DeviceName: '/dev/xvda', Ebs: { VolumeSize: 40, VolumeType: 'gp3', DeleteOnTermination: true } },
      ],
      TagSpecifications: [
        { ResourceType: 'instance', Tags: tags },
        { ResourceType: 'volume', Tags: tags },
      ],
    });
    expect(Buffer.from(input?.UserData ?? '', 'base64').toString('utf8')).toBe(USER_DATA);
    expect(instance).toMatchObject({ name: 'acme-ci-d0123456789ab', state: 'pending', machine: 'c7a.large' });
    expect(instance.tags).toMatchObject(spec().tags);
  });

  it('on-demand choices carry no market options; a launch template replaces nothing else', async () => {
    const p = provider({
      launch_template: { id: 'lt-0123456789abcdef0', name: undefined, version: '$Latest' },
    });
    const onDemand = p.choices.find((c) => c.market === 'on-demand');
    await p.create(spec({ choice: onDemand }));
    const input = fake.runCalls[0];
    expect(input?.InstanceMarketOptions).toBeUndefined();
    expect(input?.LaunchTemplate).toEqual({ LaunchTemplateId: 'lt-0123456789abcdef0', Version: '$Latest' });
    expect(input?.InstanceType).toBe('c7a.large');
  });

  it('rejects user-data over 16 KiB before calling AWS, as fatal, without echoing it', async () => {
    const secret = `token-${'x'.repeat(17_000)}`;
    const error = await provider()
      .create(spec({ userData: secret }))
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ class: 'fatal' });
    expect(String(error)).not.toContain('token-x');
    expect(fake.runCalls).toHaveLength(0);
  });
});

describe('ec2 ClientToken', () => {
  it('is ≤ 64 ASCII, stable per (key, choice) and different per choice', () => {
    const a = clientToken('acme-ci-d1-aws', 'c7a.large@subnet-1/spot');
    expect(a.length).toBeLessThanOrEqual(CLIENT_TOKEN_MAX);
    expect(a).toMatch(/^[\x21-\x7e]+$/);
    expect(clientToken('acme-ci-d1-aws', 'c7a.large@subnet-1/spot')).toBe(a);
    expect(clientToken('acme-ci-d1-aws', 'c7a.large@subnet-1/on-demand')).not.toBe(a);
    expect(clientToken('acme-ci-d2-aws', 'c7a.large@subnet-1/spot')).not.toBe(a);
  });

  it('a retried create of the same choice sends the same token and gets the same instance', async () => {
    const p = provider();
    const first = await p.create(spec());
    const [again, racing] = await Promise.all([p.create(spec()), p.create(spec())]);
    expect(again.id).toBe(first.id);
    expect(racing.id).toBe(first.id);
    expect(new Set(fake.runCalls.map((c) => c.ClientToken)).size).toBe(1);
    expect(fake.live()).toHaveLength(1);

    // A restarted provider (no memory) is just as idempotent.
    expect((await provider().create(spec())).id).toBe(first.id);
    expect(fake.live()).toHaveLength(1);
  });

  it('each choice has its own token (AWS scopes idempotency per AZ)', async () => {
    const p = provider();
    await p.create(spec({ choice: p.choices[0] }));
    await p.create(spec({ choice: p.choices[1], idempotencyKey: 'other' }));
    expect(fake.runCalls[0]?.ClientToken).not.toBe(fake.runCalls[1]?.ClientToken);
  });

  it('a lost answer (5xx after the launch) is retried with the same token: one instance', async () => {
    const p = provider();
    fake.failRun({ error: awsError('InternalError', 500), launch: true });
    const instance = await p.create(spec());
    expect(fake.runCalls).toHaveLength(2);
    expect(fake.runCalls[0]?.ClientToken).toBe(fake.runCalls[1]?.ClientToken);
    expect(fake.live().map((i) => i.id)).toEqual([instance.id]);
    expect(p.clock.slept).toEqual([1_000]);
  });

  it('when every retry is lost, the instance is found by its client token', async () => {
    const p = provider();
    fake.failRun({
      error: Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }),
      launch: true,
      times: 3,
    });
    const instance = await p.create(spec());
    expect(fake.runCalls).toHaveLength(3);
    expect(fake.live().map((i) => i.id)).toEqual([instance.id]);
    expect(instance.name).toBe('acme-ci-d0123456789ab');
  });

  it('an unresolved create is found by its tags before the next choice launches anything', async () => {
    const p = provider();
    fake.failRun({ error: awsError('ServiceUnavailable', 503), launch: true, times: 3 });
    fake.failDescribes(1); // the lookup after the lost answers fails as well
    const error = await p.create(spec({ choice: p.choices[0] })).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect(error).toMatchObject({ class: 'transient', retryable: true });

    const next = await p.create(spec({ choice: p.choices[1] }));
    expect(fake.runCalls).toHaveLength(3); // nothing launched for the second choice
    expect(fake.live().map((i) => i.id)).toEqual([next.id]);
    expect(next.machine).toBe('c7a.large');
  });

  it('IdempotentParameterMismatch (same dispatch, new user-data after a restart) adopts the instance', async () => {
    const first = await provider().create(spec());
    const again = await provider().create(spec({ userData: '#cloud-config\n# new runner token\n' }));
    expect(again.id).toBe(first.id);
    expect(fake.live()).toHaveLength(1);
  });
});

describe('ec2 errors', () => {
  it.each([
    ['InsufficientInstanceCapacity', 500, 'capacity'],
    ['InsufficientHostCapacity', 400, 'capacity'],
    ['MaxSpotInstanceCountExceeded', 400, 'capacity'],
    ['SpotMaxPriceTooLow', 400, 'capacity'],
    ['Unsupported', 400, 'capacity'],
    ['InstanceLimitExceeded', 400, 'quota'],
    ['VcpuLimitExceeded', 400, 'quota'],
    ['RequestLimitExceeded', 503, 'rate-limited'],
    ['Throttling', 400, 'rate-limited'],
    ['InternalError', 500, 'transient'],
    ['SomethingNew', 503, 'transient'],
    ['InvalidParameterValue', 400, 'fatal'],
    ['UnauthorizedOperation', 403, 'fatal'],
    ['InvalidAMIID.NotFound', 400, 'fatal'],
    ['InvalidSubnetID.NotFound', 400, 'fatal'],
  ] as const)('%s (HTTP %d) is %s', (name, status, errorClass) => {
    expect(classifyEc2Error(awsError(name, status))).toBe(errorClass);
  });

  it.each([
    [Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' })],
    [Object.assign(new Error('Request timed out'), { name: 'TimeoutError' })],
  ])('network failure %s is transient', (error) => {
    expect(classifyEc2Error(error)).toBe('transient');
  });

  it('spot out of capacity in every pool: each spot choice fails as capacity, on-demand launches', async () => {
    const p = provider();
    fake.failRun({
      error: awsError('InsufficientInstanceCapacity', 500),
      match: (input) => input.InstanceMarketOptions?.MarketType === 'spot',
      times: 100,
    });
    const classes: string[] = [];
    let instance: Awaited<ReturnType<typeof p.create>> | undefined;
    for (const choice of p.choices) {
      try {
        instance = await p.create(spec({ choice }));
        break;
      } catch (error) {
        classes.push(`${choice.key}: ${(error as ProviderError).class}`);
      }
    }
    expect(classes).toEqual(p.choices.filter((c) => c.market === 'spot').map((c) => `${c.key}: capacity`));
    expect(instance?.machine).toBe('c7a.large');
    expect(fake.live()).toHaveLength(1);
    expect(fake.runCalls.at(-1)?.InstanceMarketOptions).toBeUndefined();
    // Capacity errors are not ambiguous: no retries, no lookups, no waiting.
    expect(fake.runCalls).toHaveLength(5);
    expect(p.clock.slept).toEqual([]);
  });

  it('throttling that outlasts the SDK retries is rate-limited with a retry hint', async () => {
    fake.failRun({ error: awsError('RequestLimitExceeded', 503) });
    const error = await provider()
      .create(spec())
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ class: 'rate-limited', retryAfterMs: 1_000 });
  });
});

describe('ec2 list, get, delete', () => {
  it('lists by tag across NextToken pages, only live instances of that fleet', async () => {
    const p = provider();
    const ours = [];
    for (let i = 0; i < 5; i++) {
      ours.push(await p.create(spec({ name: `ours-${i}`, idempotencyKey: `k-${i}` })));
    }
    await p.create(spec({ name: 'theirs', idempotencyKey: 'k-x', tags: { 'forgejo-fleet': 'other' } }));
    await p.delete(ours[4]?.id ?? '');
    fake.mock.resetHistory();

    const listed = await p.list({ 'forgejo-fleet': 'acme-ci' });
    expect(listed.map((i) => i.name).sort()).toEqual(['ours-0', 'ours-1', 'ours-2', 'ours-3']);
    // 4 live instances, 2 per page.
    expect(fake.mock.calls().length).toBe(2);
    expect(fake.mock.call(1).args[0].input).toMatchObject({ NextToken: '2' });
  });

  it('maps EC2 states', async () => {
    const p = provider();
    const instance = await p.create(spec());
    const states: [string, string][] = [
      ['running', 'running'],
      ['shutting-down', 'stopping'],
      ['stopping', 'stopping'],
      ['stopped', 'stopped'],
      ['terminated', 'terminated'],
    ];
    for (const [aws, ours] of states) {
      const raw = fake.instances.get(instance.id);
      if (raw) raw.state = aws;
      expect((await p.get(instance.id))?.state).toBe(ours);
    }
  });

  it('delete is idempotent; get and delete of unknown or malformed ids are absent', async () => {
    const p = provider();
    const instance = await p.create(spec());
    expect(await p.delete(instance.id)).toBe('deleted');
    expect(await p.delete(instance.id)).toBe('not-found');
    expect(await p.delete('i-0000000000000dead')).toBe('not-found');
    expect(await p.delete('nonsense')).toBe('not-found');
    expect(await p.get('i-0000000000000dead')).toBeUndefined();
    expect(await p.get('nonsense')).toBeUndefined();
  });

  it('deleteMany terminates in batches and survives unknown ids', async () => {
    const p = provider();
    const ids = [];
    for (let i = 0; i < 3; i++)
      ids.push((await p.create(spec({ name: `n-${i}`, idempotencyKey: `k-${i}` }))).id);
    const result = await p.deleteMany([...ids, 'i-0000000000000dead']);
    expect(result).toEqual({
      [ids[0] as string]: 'deleted',
      [ids[1] as string]: 'deleted',
      [ids[2] as string]: 'deleted',
      'i-0000000000000dead': 'not-found',
    });
    expect(fake.live()).toEqual([]);
  });
});

describe('ec2 client config', () => {
  it('uses the default chain unless credentials are set; static keys, or a role to assume', async () => {
    expect(ec2ClientConfig(CONFIG, undefined).credentials).toBeUndefined();
    const keys = ec2ClientConfig(CONFIG, {
      profile: undefined,
      role_arn: undefined,
      external_id: undefined,
      access_key_id: new Secret('AKIAEXAMPLE', 'test'),
      secret_access_key: new Secret('s3cr3t', 'test'),
    });
    expect(keys.credentials).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 's3cr3t' });
    const role = ec2ClientConfig(
      { ...CONFIG, endpoint: 'http://127.0.0.1:4566' },
      {
        profile: undefined,
        role_arn: 'arn:aws:iam::123456789012:role/fleet',
        external_id: new Secret('ext', 'test'),
        access_key_id: undefined,
        secret_access_key: undefined,
      },
    );
    expect(typeof role.credentials).toBe('function');
    expect(role.endpoint).toBe('http://127.0.0.1:4566');
    expect(role.region).toBe('eu-central-1');
  });
});
