import type { FakeAnswer } from '../fake-answer.js';

/** The resources the fake serves, by their plural (URL) name. */
export type FakeKubeResource = 'pods' | 'secrets' | 'virtualmachineinstances';

/** The verbs of the RBAC model (one per operation the fake serves). */
export type FakeKubeVerb = 'create' | 'get' | 'list' | 'delete';

/** An object as the API shows it (`kind`, `apiVersion`, `metadata`, `spec`/`data`, `status`). */
export type KubeObject = Record<string, unknown> & { metadata: KubeMetadata };

export interface KubeMetadata extends Record<string, unknown> {
  name: string;
  namespace: string;
  uid: string;
  resourceVersion: string;
  creationTimestamp: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: OwnerReference[];
  finalizers?: string[];
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
}

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
  controller?: boolean;
  blockOwnerDeletion?: boolean;
}

/** What the fake kubelet runs in a pod or VMI: the testkit fake runner, in this process. */
export interface FakeKubeletOptions {
  /** `FAKE_RUNNER_JOB_MS`: how long a fake job "runs" (default 20). */
  readonly jobMs?: number;
  /** `FAKE_RUNNER_RESULT` (default success). */
  readonly result?: 'success' | 'failure';
  /** `--fetch-interval` of the runner (Go duration, default `100ms`). */
  readonly fetchInterval?: string;
  /** The runner's sleep (fetch interval, job duration); resolves early on abort. Default: real timers. */
  readonly sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
  readonly fetch?: typeof fetch;
}

export interface FakeKubernetesOptions {
  /** The bearer token every request must carry (default `fake-kube-token`). */
  readonly token?: string;
  /** Epoch ms; drives timestamps, deletion grace, deadlines and continue-token expiry (default Date.now). */
  readonly now?: () => number;
  /** Object uids (default random UUIDs); also seeds generated name suffixes. */
  readonly uid?: () => string;
  /** Namespaces that exist (default `['default']`); a create elsewhere answers 404 like the API server. */
  readonly namespaces?: readonly string[];
  /** Per-namespace ResourceQuota on the pod count (`{ ns: { pods: 3 } }`). */
  readonly quotas?: Readonly<Record<string, FakeQuota>>;
  /**
   * How long (virtual seconds) a terminating pod or VMI takes to go away once deleted, capped by its
   * grace period (default 2). `settle()` ends every termination at once.
   */
  readonly terminationSeconds?: number;
  /** How long (virtual seconds) after its owner went the garbage collector deletes a dependent (default 0). */
  readonly garbageCollectionDelaySeconds?: number;
  /** A continue token expires this long (virtual seconds) after its list's first page (default 300). */
  readonly continueTokenTtlSeconds?: number;
  /** Pages hold at most this many items whatever the `limit` (default: no cap), as a busy server may. */
  readonly maxPageItems?: number;
  /** The fake runner in pods and VMIs; false: objects stay as `setStatus` leaves them (default on). */
  readonly kubelet?: FakeKubeletOptions | false;
  /** Called with every answer as sent (not for dropped connections): spec-validation tests record them. */
  readonly onAnswer?: (answer: FakeAnswer) => void;
}

export interface FakeQuota {
  /** Pods (a VMI's launcher pod included) not yet Succeeded or Failed. */
  readonly pods: number;
  /** The ResourceQuota's name in messages (default `fleet-quota`). */
  readonly name?: string;
}

/** Which requests a fault applies to: every field left out matches anything. */
export interface FaultMatch {
  readonly resource?: FakeKubeResource;
  readonly verb?: FakeKubeVerb;
  readonly namespace?: string;
  readonly name?: string;
  /** How many requests it applies to (default: all until cleared). */
  times?: number;
}

export type FaultRule = FaultMatch &
  (
    | {
        /** An RBAC refusal: 403 Forbidden, `… cannot create resource "pods" …`. */
        readonly kind: 'forbidden';
        /** The user named in the message (default `system:serviceaccount:default:forgejo-fleet`). */
        readonly user?: string;
      }
    | {
        /**
         * 429 in one of its two shapes: `text` is the max-in-flight/APF filter (text/plain with
         * Retry-After, no JSON); `status` is a Status with `details.retryAfterSeconds` (and the header).
         */
        readonly kind: 'tooManyRequests';
        readonly shape: 'text' | 'status';
        readonly retryAfterSeconds?: number;
      }
    | {
        /** Any other Status answer, e.g. 500 `InternalError`, 504 `Timeout`, 503 `ServiceUnavailable`. */
        readonly kind: 'status';
        readonly code: number;
        readonly reason: string;
        readonly message?: string;
        readonly retryAfterSeconds?: number;
      }
    | {
        /** The connection is reset before the request is served. */
        readonly kind: 'drop';
      }
  );

export interface FakeKubernetesCall {
  readonly method: string;
  readonly path: string;
  readonly query: string;
  /** 0 when the connection was dropped. */
  readonly status: number;
  /** Virtual time of the request. */
  readonly at: number;
}
