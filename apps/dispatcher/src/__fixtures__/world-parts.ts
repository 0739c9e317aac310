import { virtualClock } from '@forgejo-fleet/runtime/testing';
import type { RunningFakeForgejo } from '@forgejo-fleet/testkit';
import type { Clock } from '../service/deps.js';

/** Org `acme` owned by `ops`, with repo `acme/web`; the token may register runners in the org. */
export function seedAcme(forgejo: RunningFakeForgejo): { token: string; orgId: number } {
  forgejo.addUser({ name: 'ops' });
  const org = forgejo.addOrg({ name: 'acme', owners: ['ops'] });
  forgejo.addRepo({ owner: 'acme', name: 'web' });
  return { token: forgejo.addToken({ user: 'ops', scopes: ['write:organization'] }), orgId: org.id };
}

/** A clock the test moves; `sleep` moves it instead of waiting (the runtime kit's virtual clock). */
export function fakeClock(start = Date.parse('2026-11-23T10:00:00Z')) {
  const clock = virtualClock(start);
  return {
    clock: clock satisfies Clock,
    now: () => clock.now(),
    advance: (ms: number) => clock.advance(ms),
  };
}

/** Dispatch ids `d000000000001`, `d000000000002`, … */
export function sequentialIds(): () => string {
  let n = 0;
  return () => `d${String(++n).padStart(12, '0')}`;
}
