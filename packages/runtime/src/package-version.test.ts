import { describe, expect, it } from 'vitest';
import { packageVersion } from './package-version.js';

describe('packageVersion', () => {
  it('reads the version of this package', () => {
    expect(packageVersion(new URL('../package.json', import.meta.url))).toMatch(/^\d+\.\d+\.\d+/);
  });

  it.each([
    ['no version', '{"name":"x"}'],
    ['an empty version', '{"version":""}'],
    ['a numeric version', '{"version":1}'],
  ])('rejects a package.json with %s, naming the file', (_, text) => {
    expect(() => packageVersion(new URL('file:///x/package.json'), () => text)).toThrow(
      '/x/package.json: no "version" string',
    );
  });
});
