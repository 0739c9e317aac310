import { ForgejoApiError, ForgejoNetworkError } from '@forgejo-fleet/forgejo';
import { describe, expect, it } from 'vitest';
import { ForeignSightings } from './foreign-sightings.js';
import { foreignStore, parseRunnerDescription, runnerDescription } from './ownership.js';
import { readinessWord } from './readiness.js';

describe('runner descriptions', () => {
  it.each([
    [
      runnerDescription('fleet', 'd123abc', 's00ff'),
      { fleetId: 'fleet', dispatchId: 'd123abc', storeId: 's00ff' },
    ],
    // Written before store ids existed: still parsed, no store.
    ['forgejo-fleet fleet dispatch d123abc', { fleetId: 'fleet', dispatchId: 'd123abc', storeId: undefined }],
    ['hand made', undefined],
    ['forgejo-fleet fleet dispatch d123abc store', undefined],
  ])('%s parses as %o', (description, expected) => {
    expect(parseRunnerDescription(description)).toEqual(expected);
  });
});

describe('foreignStore', () => {
  it.each([
    ['ours', 'sours', undefined],
    ['unmarked (made before store ids)', undefined, undefined],
    ['another store', 'stheirs', 'stheirs'],
  ])('%s', (_name, marked, expected) => {
    expect(foreignStore('sours', marked)).toBe(expected);
  });
});

describe('ForeignSightings', () => {
  it('logs each thing once per window', () => {
    const sightings = new ForeignSightings();

    const answers = [
      sightings.shouldLog('vm a', 0, 100),
      sightings.shouldLog('vm a', 99, 100),
      sightings.shouldLog('vm b', 99, 100),
      sightings.shouldLog('vm a', 100, 100),
    ];

    expect(answers).toEqual([true, false, true, true]);
  });

  it('sums what the last pass saw per provider and scope', () => {
    const sightings = new ForeignSightings();
    sightings.setVms('cloud', [{ where: 'cloud', id: 'i-1', storeId: 'sb' }]);
    sightings.setVms('cloud', [
      { where: 'cloud', id: 'i-1', storeId: 'sb' },
      { where: 'cloud', id: 'i-2', storeId: 'sa' },
    ]);
    sightings.setRegistrations('org:acme', [{ where: 'org:acme', id: '7', storeId: 'sb' }]);

    expect(sightings.summary()).toEqual({ vms: 2, registrations: 1, storeIds: ['sa', 'sb'] });
  });
});

describe('readinessWord', () => {
  it.each([
    [
      '401',
      new ForgejoApiError({
        status: 401,
        method: 'GET',
        path: '/x',
        forgejoMessage: 'token is secret-ish',
        retryable: false,
      }),
      'unauthorized',
    ],
    [
      '500',
      new ForgejoApiError({
        status: 500,
        method: 'GET',
        path: '/x',
        forgejoMessage: 'db at 10.0.0.5 down',
        retryable: true,
      }),
      'unavailable',
    ],
    [
      'network',
      new ForgejoNetworkError({
        method: 'GET',
        path: '/x',
        detail: 'connect ECONNREFUSED 10.0.0.5:3000',
        cause: undefined,
      }),
      'unreachable',
    ],
    ['anything else', new Error('boom'), 'error'],
  ])('says only a fixed word for %s', (_name, error, word) => {
    expect(readinessWord(error)).toBe(word);
  });
});
