import { describe, expect, it } from 'vitest';
import { isInteractive, progress } from './progress.js';

function fakeStream(isTTY: boolean) {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), stream: { isTTY, write: (c: string) => chunks.push(c) } };
}

function fakeNow(start = 0) {
  let t = start;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('isInteractive', () => {
  it.each([
    { isTTY: true, env: {}, expected: true },
    { isTTY: false, env: {}, expected: false },
    { isTTY: true, env: { CI: 'true' }, expected: false },
    { isTTY: true, env: { FORGEJO_FLEET_CI: '1' }, expected: false },
    { isTTY: true, env: { CI: '' }, expected: true },
    { isTTY: true, env: { CI: 'false' }, expected: true },
  ])('is $expected for a TTY=$isTTY stream with env $env', ({ isTTY, env, expected }) => {
    expect(isInteractive({ stream: fakeStream(isTTY).stream, env })).toBe(expected);
  });
});

describe('progress', () => {
  it('redraws one terminal line with \\r, at most every redrawMs, and ends it with a newline', () => {
    const out = fakeStream(true);
    const clock = fakeNow();
    const p = progress('chaos', 4, { stream: out.stream, now: clock.now, redrawMs: 100 });

    p.tick();
    clock.advance(150);
    p.tick(1, '2 VMs');
    p.tick(); // within redrawMs of the last draw: not drawn
    clock.advance(850);
    p.done();

    expect(out.chunks).toEqual([
      '\r\u001b[Kchaos: 0/4 (0%)',
      '\r\u001b[Kchaos: 2/4 (50%) 2 VMs',
      '\r\u001b[Kchaos: 3/4 (75%) 2 VMs, done in 1.0s\n',
    ]);
    expect(out.text()).not.toContain('\n\r');
  });

  it('draws the last step even within redrawMs, so the line never ends short', () => {
    const out = fakeStream(true);
    const p = progress('bench', 2, { stream: out.stream, now: () => 0 });

    p.tick();
    p.tick();

    expect(out.chunks.at(-1)).toBe('\r\u001b[Kbench: 2/2 (100%)');
  });

  it('prints lasting lines above the progress line and redraws it', () => {
    const out = fakeStream(true);
    const p = progress('provider-check', 3, { stream: out.stream, now: () => 0 });

    p.tick();
    p.line('ok   create is idempotent');

    expect(out.chunks.slice(-2)).toEqual([
      '\r\u001b[Kok   create is idempotent\n',
      '\r\u001b[Kprovider-check: 1/3 (33%)',
    ]);
  });

  it('clears its line for another stream and redraws on the next update', () => {
    const out = fakeStream(true);
    const p = progress('provider-check', 2, { stream: out.stream, now: () => 0, redrawMs: 1000 });

    p.clear();
    p.update(0, 'create');

    expect(out.chunks).toEqual([
      '\r\u001b[Kprovider-check: 0/2 (0%)',
      '\r\u001b[K',
      '\r\u001b[Kprovider-check: 0/2 (0%) create',
    ]);
  });

  it.each([
    { why: 'not a terminal', isTTY: false, env: {} },
    { why: 'CI set', isTTY: true, env: { CI: 'true' } },
    { why: 'FORGEJO_FLEET_CI set', isTTY: true, env: { FORGEJO_FLEET_CI: '1' } },
  ])('writes only a start and an end line when $why', ({ isTTY, env }) => {
    const out = fakeStream(isTTY);
    const clock = fakeNow();
    const p = progress('burst', 1000, { stream: out.stream, env, now: clock.now, redrawMs: 0 });

    for (let i = 0; i < 1000; i++) {
      clock.advance(10);
      p.tick();
      p.line('a check');
      p.clear();
    }
    p.done('all accepted');
    p.done();

    expect(out.text()).toBe('burst: started (1000)\nburst: 1000/1000 (100%) all accepted, done in 10.0s\n');
  });

  it('writes nothing at all when quiet without announce', () => {
    const out = fakeStream(false);
    const p = progress('provider-check', 3, { stream: out.stream, now: () => 0, announce: false });

    p.tick();
    p.done();

    expect(out.chunks).toEqual([]);
  });

  it('shows the note alone before a count when there is no total', () => {
    const out = fakeStream(true);
    const p = progress('chaos seed 1', undefined, { stream: out.stream, now: () => 0 });

    p.update(0, '120/5000 jobs, 14 VMs');

    expect(out.chunks).toEqual(['\r\u001b[Kchaos seed 1:', '\r\u001b[Kchaos seed 1: 120/5000 jobs, 14 VMs']);
  });

  it('counts without a total when the amount of work is unknown', () => {
    const out = fakeStream(false);
    const p = progress('passes', undefined, { stream: out.stream, now: () => 0 });

    p.update(7);
    p.done();

    expect(out.text()).toBe('passes: started\npasses: 7, done in 0.0s\n');
  });
});
