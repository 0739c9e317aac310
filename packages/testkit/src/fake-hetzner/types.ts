import type { FakeAnswer } from '../fake-answer.js';

export type FakeServerStatus =
  | 'initializing'
  | 'starting'
  | 'running'
  | 'stopping'
  | 'off'
  | 'deleting'
  | 'migrating'
  | 'rebuilding'
  | 'unknown';

export interface FakeHetznerOptions {
  /** The project token every request must carry as `Authorization: Bearer …` (default `fake-hcloud-token`). */
  readonly token?: string;
  /** Epoch ms; drives the rate-limit bucket, actions and `created` (default Date.now). */
  readonly now?: () => number;
  /** The project's bucket: `limit` requests, refilled `refillPerSecond` (default 3,600 and 1); false turns it off. */
  readonly rateLimit?: { readonly limit: number; readonly refillPerSecond: number } | false;
  /** How long (virtual ms) actions run and servers take to boot (default 10 s). */
  readonly actionMs?: number;
  readonly serverTypes?: readonly string[];
  readonly locations?: readonly string[];
  /** Called with every answer as sent (not for dropped connections): spec-validation tests record them. */
  readonly onAnswer?: (answer: FakeAnswer) => void;
}

export interface FakeServer {
  readonly id: number;
  /** `PUT /servers/{id}` renames. */
  name: string;
  status: FakeServerStatus;
  readonly serverType: string;
  readonly location: string;
  /** The image of the last create or rebuild. */
  image: string;
  /** `PUT /servers/{id}` replaces the whole set. */
  labels: Record<string, string>;
  /** What the machine reads at boot: the create's, then each rebuild's (when it sends one). */
  userData: string | undefined;
  readonly createdAt: number;
  /** The create request's body. */
  readonly request: Readonly<Record<string, unknown>>;
  /** Set by `setStatus`; otherwise the server runs once its create (or rebuild) action is done. */
  pinned: boolean;
  /** The latest rebuild's action: the server is `rebuilding` until it is done. */
  rebuildAction: FakeAction | undefined;
  /** Every rebuild, oldest first. */
  readonly rebuilds: FakeRebuild[];
}

export interface FakeRebuild {
  /** Virtual time of the request. */
  readonly at: number;
  readonly image: string;
  /** The user-data the rebuilt machine boots with (the previous one when the request sent none). */
  readonly userData: string | undefined;
  /** The status the server was powered off from before its disk was overwritten (as Hetzner does). */
  readonly poweredOffFrom: string;
  /** The server's labels when the rebuild began. */
  readonly labels: Readonly<Record<string, string>>;
  readonly actionId: number;
}

export interface FakeImage {
  readonly id: number;
  readonly name: string | null;
  readonly type: 'system' | 'snapshot' | 'backup' | 'app';
  readonly status: 'available' | 'creating' | 'unavailable';
  readonly labels: Record<string, string>;
  readonly createdAt: number;
  readonly description: string;
}

export interface FakeAction {
  readonly id: number;
  readonly command: string;
  readonly resources: readonly { readonly id: number; readonly type: string }[];
  readonly startedAt: number;
  /** From `injectActionFault`: the action ends in `error`, or never ends. */
  readonly fault?: ActionFault | undefined;
}

export type ActionFault =
  | { readonly outcome: 'error'; readonly code: string; readonly message: string }
  | { readonly outcome: 'hang' };

/** The next actions of a command (e.g. `rebuild_server`) fail or never finish. */
export interface ActionFaultRule {
  readonly command: string;
  /** `error`: the action ends in status `error` after the usual time; `hang`: it stays `running`. */
  readonly outcome: 'error' | 'hang';
  /** The action's error code (default `action_failed`). */
  readonly code?: string;
  readonly message?: string;
  /** How many actions it applies to (default: all). */
  times?: number;
}

/** An error the fake answers with, instead of doing the work. */
export interface FakeHetznerError {
  readonly code: string;
  readonly message?: string;
  /** HTTP status (default from the code). */
  readonly status?: number;
  readonly details?: unknown;
}

/** Capacity (or any other) errors for creates of one server type and/or location. */
export interface CreateErrorRule extends FakeHetznerError {
  readonly serverType?: string;
  readonly location?: string;
  /** How many creates it applies to (default: all). */
  times?: number;
}

/** Any request matching method and path answers with the error. */
export interface FaultRule extends FakeHetznerError {
  readonly method?: string;
  /** Exact path below /v1 (e.g. `/servers`) or a pattern. */
  readonly path?: string | RegExp;
  times?: number;
  /** Let this many matching requests through first (e.g. fail a server's second PUT, not its first). */
  skip?: number;
}

export interface FakeHetznerCall {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  readonly status: number;
  /** Virtual time of the request. */
  readonly at: number;
}
