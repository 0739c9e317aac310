import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { describe, expect, it } from 'vitest';
import { hasWarmPool, targetIdle } from './pool-size.js';

function route(warm: string) {
  const config = parseDispatcherConfig(
    `
fleet_id: t
forgejo: { api_url: http://127.0.0.1:1, instance_url: https://git.example.com, token_env: T }
agent: { public_url: https://fleet.example.com }
providers: { p: { kind: shell, command: [/bin/false] } }
routes: [{ name: r, labels: [linux], providers: [p], warm: ${warm} }]
scopes: { instance: {} }
clients: [{ name: c, token_env: C, scopes: ['*'] }]
`,
    { file: 't.yaml', env: { T: 'forgejo-token', C: 'client-token-0123456789' } },
  );
  const [first] = config.routes;
  if (!first) throw new Error('no route');
  return first;
}

// 2026-11-23 is a Monday.
const at = (iso: string) => Date.parse(iso);

describe('targetIdle', () => {
  const r = route(
    `{ min_idle: 1, schedule: [{ days: [mon, tue, wed, thu, fri], from: "07:00", to: "18:00", min_idle: 4 }, { days: [sat], from: "00:00", to: "24:00", min_idle: 0 }] }`,
  );

  it.each([
    ['2026-11-23T06:59:00Z', 1],
    ['2026-11-23T07:00:00Z', 4],
    ['2026-11-23T17:59:59Z', 4],
    ['2026-11-23T18:00:00Z', 1],
    ['2026-11-28T12:00:00Z', 0],
    ['2026-11-29T12:00:00Z', 1],
  ])('at %s wants %i', (iso, want) => {
    expect(targetIdle(r, at(iso))).toBe(want);
  });

  it('is off for a route without a pool, on with a schedule only', () => {
    expect(hasWarmPool(route('{ min_idle: 0 }'))).toBe(false);
    expect(hasWarmPool(route('{ schedule: [{ from: "08:00", to: "09:00", min_idle: 2 }] }'))).toBe(true);
  });
});
