/**
 * What an HA chaos run reads from the outside of its processes: the handle of a pod the fake
 * Kubernetes API made, a Prometheus sample, and the dispatchers' log lines about leadership and
 * fencing (pino JSON: `msg`, `time` and the fields of each call).
 */

/**
 * Name and handle tag of a created pod (the annotation carries the handle exactly when the label
 * had to be shortened).
 */
export function podHandle(body: string): { name: string; handle: string } | undefined {
  let pod: {
    metadata?: { name?: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  };
  try {
    pod = JSON.parse(body) as typeof pod;
  } catch {
    return undefined;
  }
  const name = pod.metadata?.name;
  const handle =
    pod.metadata?.annotations?.['tag.forgejo-fleet/forgejo-fleet-handle'] ??
    pod.metadata?.labels?.['forgejo-fleet-handle'];
  return name === undefined || handle === undefined ? undefined : { name, handle };
}

/** The value of an unlabelled sample, e.g. `forgejo_fleet_ha_failovers_total 2`. */
export function metricValue(text: string, name: string): number | undefined {
  const match = new RegExp(`^${name} ([0-9.eE+-]+)$`, 'm').exec(text);
  return match?.[1] === undefined ? undefined : Number(match[1]);
}

// The messages of the two errors, as logged wherever leader work reports a failed step or call:
// the store's FencedWriteError, and the dispatcher's LeadershipLostError (a refused delete, and
// the reason leader work's signal aborts with when its term ends).
const FENCED_WRITE = /is no longer held at epoch \d+/;
const LEADERSHIP_LOST = /not deleting: /;

export function countRefusals(lines: readonly Record<string, unknown>[]): {
  fencedWrites: number;
  leadershipLost: number;
} {
  let fencedWrites = 0;
  let leadershipLost = 0;
  for (const line of lines) {
    const text = JSON.stringify(line);
    if (FENCED_WRITE.test(text)) fencedWrites++;
    if (LEADERSHIP_LOST.test(text)) leadershipLost++;
  }
  return { fencedWrites, leadershipLost };
}

/**
 * Terms that began after another process held the lease. Holders are `host:pid:random`, so the
 * pid of the process that wrote the line (added by Replica.logLines) tells a re-acquisition of its
 * own expired lease from a failover.
 */
export function failoverLines(lines: readonly Record<string, unknown>[]): number {
  return lines.filter((line) => {
    if (line.msg !== 'became the leader') return false;
    const previous = line.previousHolder;
    if (typeof previous !== 'string' || previous === '') return false;
    return previous.split(':')[1] !== String(line.pid);
  }).length;
}
