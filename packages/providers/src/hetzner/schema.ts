import { z } from 'zod';

/** The parts of the Hetzner Cloud answers the provider reads (spec: hcloud-openapi.json). */
export const HcloudServer = z.object({
  id: z.number().int(),
  name: z.string(),
  status: z.string(),
  created: z.string().optional(),
  labels: z
    .record(z.string(), z.string())
    .nullish()
    .transform((l) => l ?? {}),
  server_type: z.object({ name: z.string() }).nullish(),
  location: z.object({ name: z.string() }).nullish(),
});
export type HcloudServer = z.infer<typeof HcloudServer>;

export const Pagination = z
  .object({ pagination: z.object({ next_page: z.number().int().nullish() }).nullish() })
  .nullish();

export const ServerAnswer = z.object({ server: HcloudServer });

export const ServerList = z.object({ servers: z.array(HcloudServer), meta: Pagination });
export type ServerList = z.infer<typeof ServerList>;

export const ImageList = z.object({
  images: z.array(z.object({ id: z.number().int(), created: z.string().optional() })),
  meta: Pagination,
});

/** An asynchronous request's progress (`rebuild_server`, …); `error` is set when it failed. */
export const HcloudAction = z.object({
  id: z.number().int(),
  command: z.string(),
  status: z.enum(['running', 'success', 'error']),
  error: z.object({ code: z.string(), message: z.string().default('') }).nullish(),
});
export type HcloudAction = z.infer<typeof HcloudAction>;

/** `POST /servers/{id}/actions/rebuild`, `GET /actions/{id}`; a rebuild's `root_password` is never read. */
export const ActionAnswer = z.object({ action: HcloudAction });

export const ActionList = z.object({ actions: z.array(HcloudAction) });

export const ErrorBody = z.object({
  error: z.object({ code: z.string(), message: z.string().default(''), details: z.unknown().optional() }),
});
