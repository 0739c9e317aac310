import { type Step, untouched } from './context.js';

/** A job Forgejo reports running moves its booting dispatch to `running` (the pickup happened). */
export const markRunning: Step = async (deps, _ctx, world) => {
  for (const record of untouched(world)) {
    if (record.state !== 'booting' || record.handle === null) continue;
    if (world.queues.get(record.scope)?.get(record.handle) !== 'running') continue;
    world.touched.add(record.id);
    await deps.store.transition(record.id, ['booting'], 'running', deps.clock.now(), {
      reason: 'job picked up',
    });
  }
};
