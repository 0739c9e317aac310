import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
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

/**
 * Runs __fixtures__/load-fleet.mjs in a fresh process (this file loads the SDK itself) and returns
 * what it loaded of @aws-sdk, undici and execa after each of its steps.
 */
function loadedByStep(): Promise<Record<string, string[]>> {
  const dir = mkdtempSync(join(tmpdir(), 'lazy-sdk-'));
  const log = join(dir, 'loaded');
  const fixture = (name: string) => fileURLToPath(new URL(`./__fixtures__/${name}`, import.meta.url));
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      [
        '--conditions=source',
        '--import',
        'tsx',
        '--import',
        fixture('record-loads.mjs'),
        fixture('load-fleet.mjs'),
      ],
      { env: { ...process.env, LOADED_LOG: log } },
      (error, _stdout, stderr) => {
        try {
          if (error) throw new Error(`load-fleet.mjs failed: ${stderr}`);
          const steps: Record<string, string[]> = {};
          let current: string[] = [];
          for (const line of readFileSync(log, 'utf8').split('\n').filter(Boolean)) {
            if (line.startsWith('# ')) {
              steps[line.slice(2)] = current;
              current = [];
            } else current.push(line);
          }
          resolve(steps);
        } catch (e) {
          reject(e);
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      },
    );
  });
}

describe('what a fleet loads', () => {
  it('a Hetzner or shell fleet never loads the AWS SDK; the schemas load no SDK, undici or execa', async () => {
    const steps = await loadedByStep();
    const sdk = (urls: string[] | undefined) =>
      (urls ?? ['step missing']).filter((url) => !url.includes('/undici/') && !url.includes('/execa/'));

    expect(steps.schemas).toEqual([]);
    expect(sdk(steps['hetzner and shell built'])).toEqual([]);
    // The recorder does see loads: the Hetzner provider's HTTP client is one.
    expect(steps['hetzner and shell built']?.some((url) => url.includes('/undici/'))).toBe(true);
    // An EC2 provider built but never called loads nothing either.
    expect(sdk(steps['ec2 built'])).toEqual([]);
    expect(steps['ec2 called']?.some((url) => url.includes('/@aws-sdk/client-ec2/'))).toBe(true);
  });
});
