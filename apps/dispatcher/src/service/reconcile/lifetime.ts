import { firstEnteredAt, type Step, untouched } from './context.js';
import { endDispatch } from './end-dispatch.js';

/**
 * The hard cap: a VM alive longer than its route's `max_lifetime` (from its first boot) is
 * killed, running job or not. The one rule allowed to stop a running job.
 */
export const lifetimeCap: Step = async (deps, _ctx, world) => {
  for (const record of untouched(world)) {
    if (record.state !== 'booting' && record.state !== 'running') continue;
    const route = deps.config.routes.find((r) => r.name === record.route);
    const born = firstEnteredAt(record, 'booting');
    if (route === undefined || born === undefined) continue;
    const cap = route.timeouts.max_lifetime;
    if (world.now - born < cap) continue;
    world.touched.add(record.id);
    await endDispatch(deps, record, 'failed', {
      kind: 'timeout',
      reason: `max lifetime of ${Math.round(cap / 60_000)} min reached (route ${route.name}); vm killed`,
    });
  }
};
