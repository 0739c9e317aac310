/** The tag every VM carries with the id of the store whose dispatcher made it. */
export const STORE_TAG = 'forgejo-fleet-store';

/**
 * A runner registration's description: the fleet and dispatch (parsed since the first release)
 * and, since store ids exist, the store. Older registrations lack the store part.
 */
const DESCRIPTION = /^forgejo-fleet (\S+) dispatch (d[a-z0-9]+)(?: store (s[a-z0-9]+))?$/;

/** Marks a registration as ours: stale-registration cleanup never touches one without it. */
export function runnerDescription(fleetId: string, dispatchId: string, storeId: string): string {
  return `forgejo-fleet ${fleetId} dispatch ${dispatchId} store ${storeId}`;
}

/** Fleet, dispatch and (when written) store of a description we made; undefined for any other. */
export function parseRunnerDescription(
  description: string,
): { fleetId: string; dispatchId: string; storeId: string | undefined } | undefined {
  const match = DESCRIPTION.exec(description);
  if (match === null) return undefined;
  return { fleetId: match[1] ?? '', dispatchId: match[2] ?? '', storeId: match[3] };
}

/**
 * The other store that owns a VM or registration, or undefined when it is ours. Without a store
 * mark (made before store ids existed) it counts as ours, as it always did: upgrading must not
 * strand the VMs of the previous version (docs/upgrading.md). A lost store's id the operator lists
 * in `store.adopt_store_ids` counts as ours too, so its leftovers are swept like any orphan.
 */
export function foreignStore(
  ourStoreId: string,
  markedStoreId: string | undefined,
  adopted: readonly string[] = [],
): string | undefined {
  if (markedStoreId === undefined || markedStoreId === ourStoreId) return undefined;
  return adopted.includes(markedStoreId) ? undefined : markedStoreId;
}
