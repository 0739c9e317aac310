import { z } from 'zod';

/** A registered runner (Forgejo `ActionRunner`). */
export const Runner = z.object({
  id: z.number().int(),
  uuid: z.string(),
  /** 0 for a repo or global runner. */
  owner_id: z.number().int(),
  /** 0 for an owner or global runner. */
  repo_id: z.number().int(),
  name: z.string(),
  /** `offline` | `idle` | `active`; kept as string so a new status does not break listing. */
  status: z.string(),
  /** Label names the runner declared when it connected; empty until then. */
  labels: z
    .array(z.string())
    .nullish()
    .transform((v) => v ?? []),
  description: z.string().default(''),
  ephemeral: z.boolean().default(false),
  version: z.string().default(''),
});
export type Runner = z.infer<typeof Runner>;

/** Answer of `POST …/actions/runners`; `token` is the runner secret and is only returned here. */
export const RegisteredRunner = z.object({
  id: z.number().int(),
  uuid: z.string().min(1),
  token: z.string().min(1),
});
export type RegisteredRunner = z.infer<typeof RegisteredRunner>;

export type RegisterRunner = {
  /** Not unique; Forgejo truncates it to 255 bytes. */
  name: string;
  description?: string;
  ephemeral: boolean;
};
