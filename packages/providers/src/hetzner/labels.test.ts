import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  isLabelName,
  isLabelValue,
  labelSelector,
  labelsToTags,
  labelValue,
  tagsToLabels,
} from './labels.js';

describe('hetzner labels', () => {
  it('writes valid values as they are', () => {
    const tags = {
      'forgejo-fleet': 'acme-ci',
      'forgejo-fleet-handle': 'c0ffee00-1234-4abc-8def-0123456789ab',
    };
    expect(tagsToLabels(tags)).toEqual(tags);
    expect(labelSelector(tags)).toBe(
      'forgejo-fleet=acme-ci,forgejo-fleet-handle=c0ffee00-1234-4abc-8def-0123456789ab',
    );
  });

  it('writes other values as a readable, hashed label plus base32 chunks, and reads them back', () => {
    const tags = { 'forgejo-fleet-scope': 'repo:alice/website' };
    const labels = tagsToLabels(tags);
    expect(labels['forgejo-fleet-scope']).toMatch(/^repo-alice-website-[0-9a-f]{12}$/);
    expect(labels['v0.forgejo-fleet/forgejo-fleet-scope']).toMatch(/^[a-z2-7]+$/);
    expect(labelsToTags(labels)).toEqual(tags);
    expect(labelSelector(tags)).toBe(`forgejo-fleet-scope=${labels['forgejo-fleet-scope']}`);
  });

  it('keeps labels set by others and ignores prefixed ones', () => {
    expect(
      labelsToTags({ env: 'prod', 'hetzner.cloud/x': 'y', 'key.forgejo-fleet/idempotency': 'abc' }),
    ).toEqual({
      env: 'prod',
    });
  });

  it('rejects a tag key that cannot be a label key', () => {
    expect(() => tagsToLabels({ 'not a key': 'x' })).toThrow(/not a valid Hetzner label key/);
  });

  it('round-trips any tag value, always producing valid labels', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('forgejo-fleet-scope', 'scope', 'a', 'k.b_c-d'),
          fc.string({ maxLength: 300, unit: 'binary' }),
        ),
        (tags) => {
          const labels = tagsToLabels(tags);
          for (const [key, value] of Object.entries(labels)) {
            const name = key.includes('/') ? key.slice(key.indexOf('/') + 1) : key;
            expect(isLabelName(name)).toBe(true);
            expect(isLabelValue(value)).toBe(true);
          }
          expect(labelsToTags(labels)).toEqual(tags);
          for (const value of Object.values(tags)) expect(labelValue(value)).toBe(labelValue(value));
        },
      ),
      { numRuns: 300 },
    );
  });
});
