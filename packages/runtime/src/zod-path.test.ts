import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { fieldErrors, formatZodPath } from './zod-path.js';

describe('formatZodPath', () => {
  it.each([
    [[], ''],
    [['log'], 'log'],
    [['routes', 1, 'providers', 0], 'routes[1].providers[0]'],
    [['scopes', 'org:acme', 'token_file'], 'scopes["org:acme"].token_file'],
    [['providers', 'aws-eu', 'region'], 'providers.aws-eu.region'],
    [[0, 'name'], '[0].name'],
    [['labels', 'has space'], 'labels["has space"]'],
    [['9lives'], '["9lives"]'],
    [[Symbol('s')], '["Symbol(s)"]'],
  ])('%j -> %s', (path, expected) => {
    expect(formatZodPath(path)).toBe(expected);
  });

  it.each([
    [[], 'response.body'],
    [[0, 'handle'], 'response.body[0].handle'],
    [['runner', 'id'], 'response.body.runner.id'],
    [['a b'], 'response.body["a b"]'],
  ])('continues a root: %j', (path, expected) => {
    expect(formatZodPath(path, 'response.body')).toBe(expected);
  });
});

describe('fieldErrors', () => {
  it('gives one entry per issue with its formatted path', () => {
    const schema = z.object({ labels: z.array(z.string()), scope: z.string() });
    const parsed = schema.safeParse({ labels: ['ok', 3] });
    expect(parsed.success).toBe(false);
    expect(fieldErrors(parsed.error?.issues ?? []).map((e) => e.path)).toEqual(['labels[1]', 'scope']);
  });

  it('names a root issue with an empty path', () => {
    const parsed = z.string().safeParse(1);
    expect(fieldErrors(parsed.error?.issues ?? [])).toEqual([
      { path: '', message: expect.stringContaining('expected string') },
    ]);
  });
});
