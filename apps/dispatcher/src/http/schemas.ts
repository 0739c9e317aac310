import type {
  DecisionKind as ApiDecisionKind,
  DispatchState as ApiDispatchState,
} from '@forgejo-fleet/dispatch-api';
import type { DecisionKind, DispatchState } from '@forgejo-fleet/store';
import { z } from 'zod';

// The API shows the store's states and decision kinds. The store sits below the API package and
// cannot import it, so the two lists are checked to be the same set here, at compile time: a state
// added to one and not the other fails the build.
type Same<A, B> = [A] extends [B] ? ([B] extends [A] ? true : false) : false;
type Assert<T extends true> = T;
export type StatesMatch = Assert<Same<DispatchState, ApiDispatchState>>;
export type DecisionKindsMatch = Assert<Same<DecisionKind, ApiDecisionKind>>;

/** zod issues as the `details` of a 400, one `{ path, message }` per field: the runtime kit's. */
export { fieldErrors } from '@forgejo-fleet/runtime';

/** A warm VM's agent asking for its job (the agent endpoint, not the dispatch API). */
export const AgentPoll = z.strictObject({
  vm_id: z.string().regex(/^w[a-z2-7]{12}$/, 'expected a warm VM id'),
});
