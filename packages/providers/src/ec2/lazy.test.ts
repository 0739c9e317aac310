import { EC2Client } from '@aws-sdk/client-ec2';
import { virtualClock } from '@forgejo-fleet/runtime/testing';
import { afterAll, beforeEach, describe, expect, it } from 'vitest';
import { fakeEc2 } from './__fixtures__/fake-ec2.js';
import { ec2Choices } from './choices.js';
import type { Ec2ProviderOptions } from './config.js';
import { createLazyEc2Provider } from './lazy.js';

const fake = fakeEc2({ pageSize: 2 });
afterAll(() => fake.restore());
beforeEach(() => fake.reset());

const CONFIG: Ec2ProviderOptions = {
  region: 'eu-central-1',
  image_id: 'ami-0123456789abcdef0',
  launch_template: undefined,
  instance_types: ['c7a.large'],
  subnets: ['subnet-0a1b2c3d4e5f60718'],
  security_groups: [],
  key_name: undefined,
  instance_profile: undefined,
  root_volume: undefined,
  spot: { enabled: true, max_price: undefined, fallback_to_on_demand: true },
  imds_hop_limit: 1,
  hourly_prices: undefined,
};

describe('the lazily loaded EC2 provider', () => {
  it('knows its choices without the SDK and makes, lists and deletes through it', async () => {
    const provider = createLazyEc2Provider('aws', CONFIG, undefined, {
      createClient: (c) => new EC2Client(c),
      clock: virtualClock(),
    });
    expect(provider.choices).toEqual(ec2Choices(CONFIG));

    const tags = { 'forgejo-fleet': 'lazy', 'forgejo-fleet-dispatch': 'd1' };
    const made = await provider.create({
      name: 'lazy-d1',
      idempotencyKey: 'k1',
      userData: '#cloud-config\n',
      tags,
    });

    expect((await provider.list({ 'forgejo-fleet': 'lazy' })).map((i) => i.id)).toEqual([made.id]);
    expect(await provider.get(made.id)).toMatchObject({ id: made.id });
    expect(await provider.deleteMany([made.id])).toEqual({ [made.id]: 'deleted' });
  });
});
