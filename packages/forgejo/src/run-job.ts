import { z } from 'zod';

const stringList = z
  .array(z.string())
  .nullish()
  .transform((v) => v ?? []);

/**
 * One job attempt from `GET …/actions/runners/jobs` (Forgejo `ActionRunJob`). Forgejo lists
 * `waiting` and `running` jobs; `task_id` is 0 until a runner picks the job.
 */
export const RunJob = z.object({
  id: z.number().int(),
  /** Unique per attempt; changes on re-run. The dedup key of everything. */
  handle: z.string().min(1),
  attempt: z.number().int(),
  /** Only in Forgejo > 15. */
  run_id: z.number().int().optional(),
  repo_id: z.number().int(),
  owner_id: z.number().int(),
  name: z.string(),
  needs: stringList,
  runs_on: stringList,
  task_id: z.number().int(),
  /** `waiting` or `running` (other statuses are not listed by Forgejo). */
  status: z.string(),
});
export type RunJob = z.infer<typeof RunJob>;

/** The jobs endpoint answers `null` instead of `[]` when nothing matches. */
export const RunJobList = z
  .array(RunJob)
  .nullable()
  .transform((v) => v ?? []);
