import { noteKey } from '../instance-notes.js';
import type { Step } from './context.js';

/** Remembers each listed VM's note (why it has not started) for `why`; no provider call of its own. */
export const rememberNotes: Step = async (_deps, ctx, world) => {
  if (ctx.notes === undefined) return;
  const notes = new Map<string, string>();
  for (const [provider, instances] of world.instances) {
    for (const instance of instances.values()) {
      if (instance.note !== undefined) notes.set(noteKey(provider.name, instance.id), instance.note);
    }
  }
  ctx.notes.replace(notes);
};
