import type { Instance } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';

/**
 * A server kept after its dispatch finished, waiting to be rebuilt for the next job of its route.
 * It still belongs to that finished dispatch (its tags say so) until a rebuild claims it.
 */
export interface Parked {
  readonly provider: string;
  readonly instanceId: string;
  /** The finished dispatch whose job ran on it last. */
  readonly dispatchId: string;
  readonly route: string;
  readonly scope: string;
  /** The machine choice key it was made with (`cpx22@fsn1`): a rebuild keeps type and location. */
  readonly machine: string;
  readonly hourlyPrice: number | null;
  /** The server's `created` time: its paid hours count from here. */
  readonly createdAt: number;
  /** When its dispatch finished (the server has been idle and billed since). */
  readonly parkedAt: number;
}

/**
 * How a finished dispatch says it kept its server for reuse: the reason of its `finished`
 * transition. The record is the durable mark (no column of its own): after a restart the
 * reconciler finds the server by its dispatch tag and this reason tells it was kept on purpose.
 */
export const PARKED_REASON = 'job done; vm kept for reuse';

export function parkedReason(instanceId: string, leftMinutes: number): string {
  return `${PARKED_REASON}: server ${instanceId}, paid hour: ${leftMinutes} min left`;
}

/** The dispatch finished and kept `instanceId` for reuse. */
export function keptForReuse(
  record: Pick<DispatchRecord, 'state' | 'transitions' | 'instance_id'>,
  instanceId: string,
): boolean {
  if (record.state !== 'finished' || record.instance_id !== instanceId) return false;
  const last = record.transitions[record.transitions.length - 1];
  return last?.state === 'finished' && (last.reason ?? '').startsWith(PARKED_REASON);
}

/** The parked server of a finished dispatch that kept it, as listed now. */
export function parkedFrom(record: DispatchRecord, instance: Instance): Parked | undefined {
  if (!keptForReuse(record, instance.id)) return undefined;
  if (record.provider === null || record.machine === null || instance.createdAt === undefined)
    return undefined;
  const finished = record.transitions[record.transitions.length - 1];
  return {
    provider: record.provider,
    instanceId: instance.id,
    dispatchId: record.id,
    route: record.route,
    scope: record.scope,
    machine: record.machine,
    hourlyPrice: record.hourly_price,
    createdAt: instance.createdAt,
    parkedAt: finished?.at ?? record.updated_at,
  };
}
