import { z } from 'zod';
import { hostUserNeedsHostLabels, InstanceUrl, RunnerBootstrapFields } from '../bootstrap.js';

/**
 * A warm VM's input: how to prepare it (the same fields, with the same checks, as the cold
 * RunnerBootstrap) and how its agent reaches the dispatcher. No runner token and no handle:
 * those arrive with the job.
 */
export const WarmBootstrap = RunnerBootstrapFields.pick({
  labels: true,
  install: true,
  docker: true,
  blockMetadataForContainers: true,
  hostUser: true,
  blockMetadataForHostUser: true,
  fleetId: true,
})
  .extend({
    /** The dispatcher's agent endpoint as the VM reaches it; the agent appends /v1/agent/poll. */
    agentUrl: InstanceUrl.transform((url) => url.replace(/\/+$/, '')),
    /** The dispatcher's id of this VM (`newWarmId`). */
    vmId: z.string().regex(/^w[a-z2-7]{12}$/, 'must be w followed by 12 base32 characters (a-z, 2-7)'),
    /** One-time, per VM; url-safe so it sits in a curl config line without quoting. */
    secret: z
      .string()
      .min(43, 'must be at least 43 characters')
      .max(512)
      .regex(/^[A-Za-z0-9_-]+$/, 'may contain only letters, digits, _ and -'),
    /**
     * The VM powers itself off this long (plus the boot slack) after boot if no job came, even
     * when the dispatcher that should recycle it is gone. The route's `warm.max_idle_age`.
     */
    maxIdleSeconds: z
      .number()
      .int()
      .min(60)
      .max(7 * 24 * 3600)
      .default(3600),
  })
  .superRefine(hostUserNeedsHostLabels);

/** What callers pass (the blockMetadataFor* switches and maxIdleSeconds may be omitted). */
export type WarmBootstrap = z.input<typeof WarmBootstrap>;
/** After validation and defaults. */
export type ValidWarmBootstrap = z.output<typeof WarmBootstrap>;
