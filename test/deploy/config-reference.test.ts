import { readFileSync } from 'node:fs';
import { AutoscalerConfigShape, DispatcherConfigShape } from '@forgejo-fleet/config';
import { describe, expect, it } from 'vitest';
import { REFERENCE_PATH, renderConfigReference } from '../../scripts/gen-config-docs.js';

describe('docs/config-reference.md', () => {
  it('is what scripts/gen-config-docs.ts generates from the current schemas (regenerate it when this fails)', () => {
    const committed = readFileSync(REFERENCE_PATH, 'utf8');

    // On failure: node --conditions=source --import tsx scripts/gen-config-docs.ts
    expect(committed === renderConfigReference()).toBe(true);
  });

  it.each([
    ['dispatcher', DispatcherConfigShape],
    ['autoscaler', AutoscalerConfigShape],
  ])('names every top-level key of the %s schema', (_file, shape) => {
    const text = renderConfigReference();

    for (const key of Object.keys(shape.shape)) {
      expect(text).toMatch(new RegExp(`\\| \`${key}(\\.|\\[|\`)`));
    }
  });

  it('shows secrets as X_file / X_env and never the refused inline key', () => {
    const text = renderConfigReference();

    expect(text).toContain('`forgejo.token_file / token_env` | secret');
    expect(text).not.toMatch(/\| `forgejo\.token` \|/);
  });
});
