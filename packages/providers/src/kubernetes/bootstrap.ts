/**
 * The pod flavour's bootstrap, as `podBootstrapFromUserData` in @forgejo-fleet/cloud-init makes it
 * from the user-data `renderUserData` rendered. The providers package cannot import cloud-init
 * (cloud-init depends on the config package, which loads the providers' schemas: a cycle), so the
 * function comes in through the provider's deps, wired by the apps; this is the same shape.
 */
export interface PodBootstrap {
  /** The Secret's data, key → file content; the only place the runner token is. Keys match [-._a-zA-Z0-9]+. */
  readonly files: Readonly<Record<string, string>>;
  /** Where the Secret is mounted in the runner container: read-only, defaultMode 0400 (256). */
  readonly mountPath: string;
  /** The container's command; holds no secret. */
  readonly command: readonly string[];
  /** Plain environment for the container; holds no secret. */
  readonly env: Readonly<Record<string, string>>;
  /** For the pod's activeDeadlineSeconds: the job timeout plus the bootstrap's own margin. */
  readonly deadlineSeconds: number;
}

/** Turns rendered user-data into a pod bootstrap; throws when the user-data is not a runner bootstrap. */
export type PodBootstrapper = (userData: string) => PodBootstrap;
