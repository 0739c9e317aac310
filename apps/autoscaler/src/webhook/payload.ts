import { z } from 'zod';

const RepositoryRef = z.object({
  id: z.number().int(),
  name: z.string().min(1),
  owner: z.object({
    id: z.number().int(),
    login: z.string().optional(),
    username: z.string().optional(),
  }),
  full_name: z.string().optional(),
});

/**
 * The part of any Forgejo delivery we read: the repository it is about. Push, pull request and
 * most events carry `repository`; `action_run_*` carry it inside `run`.
 */
export const DeliveryPayload = z.object({
  repository: RepositoryRef.nullish(),
  run: z.object({ repository: RepositoryRef.nullish() }).nullish(),
});
export type DeliveryPayload = z.infer<typeof DeliveryPayload>;

export type DeliveryKind = 'push_like' | 'run_finished' | 'job';

/**
 * What an event means for the queue. Forgejo 15 has no job-queued event: `action_run_*` says a run
 * finished; a job-level event (`workflow_job` style, should a later Forgejo send one) says a job
 * changed; every other repository event (push, pull_request, …) may start workflows.
 */
export function deliveryKind(event: string): DeliveryKind {
  if (event.startsWith('action_run_')) return 'run_finished';
  if (/(^|_)job($|_)/.test(event)) return 'job';
  return 'push_like';
}

/** `owner/name` of the delivery's repository, or undefined when it names none. */
export function deliveryRepo(payload: DeliveryPayload): { owner: string; name: string } | undefined {
  const repo = payload.repository ?? payload.run?.repository ?? undefined;
  if (!repo) return undefined;
  const fromFull = repo.full_name?.split('/')[0];
  const owner = repo.owner.login ?? repo.owner.username ?? fromFull;
  return owner ? { owner, name: repo.name } : undefined;
}
