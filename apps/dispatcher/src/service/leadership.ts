export type Role = 'leader' | 'follower';

/**
 * Who runs the leader's work (the reconciler, warm refill, sweeps): with several dispatchers on
 * one database only the replica holding the lease (apps/dispatcher/src/ha); with SQLite the one
 * dispatcher, always.
 */
export interface Leadership {
  role(): Role;
  /**
   * Runs `work` as the leader: its writes carry the lease epoch and its signal aborts the moment
   * the lease is lost. On a follower nothing runs and the answer is undefined.
   */
  lead<T>(work: (signal: AbortSignal) => Promise<T>, signal?: AbortSignal): Promise<T | undefined>;
}

const NEVER = new AbortController().signal;

/** One dispatcher alone on its store (SQLite: the file lock guarantees it) leads, unfenced. */
export const ALWAYS_LEADER: Leadership = {
  role: () => 'leader',
  lead: (work, signal) => work(signal ?? NEVER),
};

export function leadershipOf(deps: { readonly leadership?: Leadership | undefined }): Leadership {
  return deps.leadership ?? ALWAYS_LEADER;
}
