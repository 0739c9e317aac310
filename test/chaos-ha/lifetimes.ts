/**
 * When each pod of a job handle was live: from the API server's 201 to its pod POST until the first
 * of its DELETE being answered or the kubelet's terminal phase (Succeeded/Failed). A pod's end is
 * seen by a 100 ms poll, so an end is at worst late: overlaps are over-counted, never missed.
 */
export interface PodLifetimes {
  created(handle: string, name: string, at: number): void;
  ended(name: string, at: number): void;
  /** Handles that had two pods live at one moment. */
  overlapping(): string[];
  /** Per handle with more than one pod: how many pods, and how many of them started. */
  replacements(started: ReadonlySet<string>): { handle: string; pods: number; started: number }[];
}

interface Life {
  readonly name: string;
  readonly from: number;
  to?: number;
}

export function podLifetimes(): PodLifetimes {
  const byHandle = new Map<string, Life[]>();
  const byName = new Map<string, Life>();
  return {
    created(handle, name, at) {
      const life: Life = { name, from: at };
      byHandle.set(handle, [...(byHandle.get(handle) ?? []), life]);
      byName.set(name, life);
    },
    ended(name, at) {
      const life = byName.get(name);
      if (life !== undefined) life.to ??= at;
    },
    overlapping() {
      const found: string[] = [];
      for (const [handle, lives] of byHandle) {
        const sorted = [...lives].sort((a, b) => a.from - b.from);
        // A pod still live at the end of the run counts as live forever.
        if (sorted.some((life, i) => i > 0 && (sorted[i - 1]?.to ?? Number.POSITIVE_INFINITY) > life.from))
          found.push(handle);
      }
      return found;
    },
    replacements(started) {
      return [...byHandle]
        .filter(([, lives]) => lives.length > 1)
        .map(([handle, lives]) => ({
          handle,
          pods: lives.length,
          started: lives.filter((life) => started.has(life.name)).length,
        }));
    },
  };
}
