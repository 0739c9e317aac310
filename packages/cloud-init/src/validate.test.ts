import { describe, expect, it } from 'vitest';
import { bakedDocker, downloadHost, twentyLabels } from './__fixtures__/inputs.js';
import { PLACEHOLDER_TOKEN } from './paths.js';
import { renderUserData } from './render.js';
import { validateWithCloudInit } from './validate.js';

const available = (await validateWithCloudInit('#cloud-config\n{}\n')) !== 'unavailable';
const placeholder = { ...bakedDocker().runner, token: PLACEHOLDER_TOKEN };

describe('validateWithCloudInit', () => {
  it("answers 'unavailable' when the command is not on PATH", async () => {
    expect(await validateWithCloudInit('#cloud-config\n', { command: 'no-such-cloud-init-here' })).toBe(
      'unavailable',
    );
  });

  it.skipIf(!available).each([
    ['baked + handle + docker labels', bakedDocker({ runner: placeholder })],
    ['download + host labels', downloadHost({ runner: placeholder })],
    ['twenty labels', { ...twentyLabels(), runner: placeholder }],
    ['metadata block off', bakedDocker({ runner: placeholder, blockMetadataForContainers: false })],
    ['host user', downloadHost({ runner: placeholder, hostUser: 'ci' })],
  ])('cloud-init schema accepts %s', async (_name, input) => {
    const result = await validateWithCloudInit(renderUserData(input));

    expect(result).toMatchObject({ ok: true });
  });

  it.skipIf(!available)('cloud-init schema rejects a broken power_state', async () => {
    const result = await validateWithCloudInit('#cloud-config\npower_state:\n  mode: explode\n');

    expect(result).toMatchObject({ ok: false, output: expect.stringContaining('power_state.mode') });
  });
});
