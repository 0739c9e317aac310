import type { Hook } from '@forgejo-fleet/forgejo';
import { describe, expect, it } from 'vitest';
import { HOOK_EVENTS, hookUrl, isOurHook, planHooks } from './hook-plan.js';

const PUBLIC = 'https://fleet.example/hook';
const URL_1 = hookUrl(PUBLIC, 's1');

function hook(id: number, over: Partial<Hook> = {}): Hook {
  return {
    id,
    type: 'forgejo',
    active: true,
    events: [...HOOK_EVENTS, 'pull_request_sync'],
    config: { url: URL_1, content_type: 'json' },
    branch_filter: '',
    ...over,
  };
}

describe('planHooks', () => {
  it.each([
    ['nothing there', [], true, [{ action: 'create' }]],
    ['all well', [hook(1)], true, []],
    ['another hook only', [hook(1, { config: { url: 'https://other/x' } })], true, [{ action: 'create' }]],
    ['inactive', [hook(1, { active: false })], true, [{ action: 'edit', id: 1 }]],
    [
      'form content type',
      [hook(1, { config: { url: URL_1, content_type: 'form' } })],
      true,
      [{ action: 'edit', id: 1 }],
    ],
    [
      'missing push',
      [hook(1, { events: HOOK_EVENTS.filter((e) => e !== 'push') })],
      true,
      [{ action: 'edit', id: 1 }],
    ],
    [
      'missing action_run',
      [hook(1, { events: ['push', 'pull_request'] })],
      true,
      [{ action: 'recreate', id: 1 }],
    ],
    [
      'old secret',
      [hook(1, { config: { url: hookUrl(PUBLIC, 'old'), content_type: 'json' } })],
      true,
      [{ action: 'recreate', id: 1 }],
    ],
    ['two of ours', [hook(1, { active: false }), hook(2)], true, [{ action: 'delete', id: 1 }]],
    [
      'management off',
      [hook(1), hook(2, { config: { url: 'https://other/x' } })],
      false,
      [{ action: 'delete', id: 1 }],
    ],
  ] as const)('%s', (_name, hooks, manage, expected) => {
    const plan = planHooks({ hooks: [...hooks], manage, publicUrl: PUBLIC, secret: 's1' });
    expect(plan).toMatchObject(expected);
    expect(plan).toHaveLength(expected.length);
  });

  it('recognises our hook by the public URL whatever secret id it carries', () => {
    expect(isOurHook(hook(1, { config: { url: hookUrl(PUBLIC, 'x') } }), PUBLIC)).toBe(true);
    expect(isOurHook(hook(1, { config: { url: `${PUBLIC}/other` } }), PUBLIC)).toBe(false);
    expect(isOurHook(hook(1, { config: {} }), PUBLIC)).toBe(false);
  });
});
