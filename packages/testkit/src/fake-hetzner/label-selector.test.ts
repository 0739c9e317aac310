import { describe, expect, it } from 'vitest';
import { LabelSelectorError, parseLabelSelector } from './label-selector.js';

const labels = { env: 'prod', type: 'web', 'forgejo-fleet': 'acme-ci', 'v0.forgejo-fleet/scope': 'abc' };

describe('fake hetzner label selectors', () => {
  it.each([
    ['env=prod', true],
    ['env==prod', true],
    ['env=dev', false],
    ['env!=dev', true],
    ['env!=prod', false],
    ['env', true],
    ['missing', false],
    ['!missing', true],
    ['!env', false],
    ['env in (dev,prod)', true],
    ['env in (dev, qa)', false],
    ['env notin (dev,qa)', true],
    ['missing notin (dev)', true],
    ['env=prod,type!=database', true],
    ['env=prod,type=database', false],
    ['forgejo-fleet=acme-ci,v0.forgejo-fleet/scope=abc', true],
    [' env = prod , type ', true],
  ])('%s → %s', (selector, expected) => {
    expect(parseLabelSelector(selector)(labels)).toBe(expected);
  });

  it.each(['', 'env=prod,', 'env in (a', 'a=b)', 'a=b c', '=x'])('rejects %j', (selector) => {
    expect(() => parseLabelSelector(selector)).toThrow(LabelSelectorError);
  });
});
