import {
  ForgejoApiError,
  type ForgejoClient,
  ForgejoResponseError,
  Organization,
  Repository,
  RunJob,
  type Scope,
  scopeApiPrefix,
  User,
} from '@forgejo-fleet/forgejo';
import type { FakeForgejo } from '@forgejo-fleet/testkit';
import { z } from 'zod';

const RunJobList = z
  .array(RunJob)
  .nullable()
  .transform((v) => v ?? []);

/**
 * The read side of a ForgejoClient against the testkit's fake through `app.request` (no socket, so
 * virtual-time tests stay deterministic). `override` replaces the answer of one path, to inject
 * bad bodies.
 */
export function inProcessForgejo(
  fake: FakeForgejo,
  token: string,
  override?: (path: string) => { status: number; body: unknown } | undefined,
): ForgejoClient {
  async function get<T>(path: string, schema: z.ZodType<T>, allowNotFound = false): Promise<T | undefined> {
    const forced = override?.(path);
    const res = forced
      ? new Response(JSON.stringify(forced.body), { status: forced.status })
      : await fake.app.request(`http://127.0.0.1/api/v1${path}`, {
          headers: { authorization: `token ${token}` },
        });
    const text = await res.text();
    if (res.status === 404 && allowNotFound) return undefined;
    if (res.status >= 400) {
      throw new ForgejoApiError({
        status: res.status,
        forgejoMessage: text.slice(0, 100),
        method: 'GET',
        path: `/api/v1${path}`,
        retryable: res.status >= 500,
      });
    }
    const parsed = schema.safeParse(JSON.parse(text));
    if (!parsed.success) {
      throw new ForgejoResponseError({
        status: res.status,
        problem: 'response.body: invalid',
        method: 'GET',
        path,
      });
    }
    return parsed.data;
  }
  const unsupported = () => Promise.reject(new Error('not supported in-process'));
  return {
    listJobs: async (scope: Scope) =>
      (await get(`${scopeApiPrefix(scope)}/actions/runners/jobs`, RunJobList)) ?? [],
    getRepo: (owner, name) => get(`/repos/${owner}/${name}`, Repository, true),
    getOrg: (name) => get(`/orgs/${name}`, Organization, true),
    getCurrentUser: async () => (await get('/user', User)) as User,
    registerRunner: unsupported,
    getRunner: unsupported,
    listRunners: unsupported,
    deleteRunner: unsupported,
    listHooks: unsupported,
    createHook: unsupported,
    editHook: unsupported,
    deleteHook: unsupported,
  };
}
