/**
 * The providers' own words on VMs that have not started (a pod's `ImagePullBackOff`), as the last
 * reconcile pass on this replica listed them. `why` reads them from here instead of asking the
 * provider: an API read must never spend a cloud's request budget, however often it is called.
 */
export class InstanceNotes {
  #notes = new Map<string, string>();

  /** Replaces everything noted with what one pass saw (instances without a note drop out). */
  replace(notes: ReadonlyMap<string, string>): void {
    this.#notes = new Map(notes);
  }

  get(provider: string, instanceId: string): string | undefined {
    return this.#notes.get(key(provider, instanceId));
  }
}

export function noteKey(provider: string, instanceId: string): string {
  return key(provider, instanceId);
}

function key(provider: string, instanceId: string): string {
  return `${provider}\u0000${instanceId}`;
}
