import { z } from 'zod';
import { Organization, Repository, User } from './account.js';
import { type CreateHook, type EditHook, Hook } from './hook.js';
import { labelsQuery } from './labels.js';
import { collectPages } from './paginate.js';
import { type RunJob, RunJobList } from './run-job.js';
import { RegisteredRunner, type RegisterRunner, Runner } from './runner.js';
import { type Scope, scopeApiPrefix } from './scope.js';
import { createTransport, type Reply, type TransportOptions } from './transport.js';

export type ForgejoClientOptions = TransportOptions;

export type CallOptions = { signal?: AbortSignal };

export interface ForgejoClient {
  /**
   * Waiting and running jobs of the scope (callers filter `status === 'waiting'`). With `labels`,
   * only jobs whose every `runs-on` label is among them; `[]` means jobs without `runs-on`.
   */
  listJobs(scope: Scope, opts?: CallOptions & { labels?: readonly string[] }): Promise<RunJob[]>;
  registerRunner(scope: Scope, body: RegisterRunner, opts?: CallOptions): Promise<RegisteredRunner>;
  /** Undefined when Forgejo answers 404 (deleted, or not visible from this scope). */
  getRunner(scope: Scope, id: number, opts?: CallOptions): Promise<Runner | undefined>;
  /** All pages. `visible: true` adds the runners this scope inherits (global, owner). */
  listRunners(scope: Scope, opts?: CallOptions & { visible?: boolean }): Promise<Runner[]>;
  /** 404 is `not-found`: Forgejo soft-deletes ephemeral runners after their job. */
  deleteRunner(scope: Scope, id: number, opts?: CallOptions): Promise<'deleted' | 'not-found'>;
  /** All pages. For `instance`, Forgejo lists only system hooks, not default hooks. */
  listHooks(scope: Scope, opts?: CallOptions): Promise<Hook[]>;
  createHook(scope: Scope, body: CreateHook, opts?: CallOptions): Promise<Hook>;
  editHook(scope: Scope, id: number, body: EditHook, opts?: CallOptions): Promise<Hook>;
  deleteHook(scope: Scope, id: number, opts?: CallOptions): Promise<'deleted' | 'not-found'>;
  /** Undefined when Forgejo answers 404 (no such repository, or not visible to the token). */
  getRepo(owner: string, name: string, opts?: CallOptions): Promise<Repository | undefined>;
  /** Undefined when Forgejo answers 404. */
  getOrg(name: string, opts?: CallOptions): Promise<Organization | undefined>;
  /** The token owner (`GET /user`, needs `read:user`). */
  getCurrentUser(opts?: CallOptions): Promise<User>;
}

const RunnerList = z.array(Runner);
const HookList = z.array(Hook);

/** A typed Forgejo API client for the runner, job and hook endpoints of every scope. */
export function createForgejoClient(opts: ForgejoClientOptions): ForgejoClient {
  const { send } = createTransport(opts);
  const runners = (scope: Scope): string => `${scopeApiPrefix(scope)}/actions/runners`;
  const hooks = (scope: Scope): string => `${scopeApiPrefix(scope)}/hooks`;

  return {
    async listJobs(scope, { labels, signal } = {}) {
      const query = labels === undefined ? undefined : { labels: labelsQuery(labels) };
      const reply = await send({
        method: 'GET',
        path: `${runners(scope)}/jobs`,
        ...(query ? { query } : {}),
        schema: RunJobList,
        signal,
      });
      return found(reply);
    },

    async registerRunner(scope, body, { signal } = {}) {
      const reply = await send({
        method: 'POST',
        path: runners(scope),
        body,
        schema: RegisteredRunner,
        signal,
      });
      return found(reply);
    },

    async getRunner(scope, id, { signal } = {}) {
      const reply = await send({
        method: 'GET',
        path: `${runners(scope)}/${checkId(id)}`,
        schema: Runner,
        allowNotFound: true,
        signal,
      });
      return reply.notFound ? undefined : reply.data;
    },

    async listRunners(scope, { visible = false, signal } = {}) {
      return collectPages(async (page, limit) => {
        const query: Record<string, string> = { page: String(page), limit: String(limit) };
        if (visible) query.visible = 'true';
        const reply = await send({ method: 'GET', path: runners(scope), query, schema: RunnerList, signal });
        return pageOf(reply);
      });
    },

    async deleteRunner(scope, id, { signal } = {}) {
      return deleted(
        await send({
          method: 'DELETE',
          path: `${runners(scope)}/${checkId(id)}`,
          allowNotFound: true,
          signal,
        }),
      );
    },

    async listHooks(scope, { signal } = {}) {
      return collectPages(async (page, limit) => {
        const query = { page: String(page), limit: String(limit) };
        const reply = await send({ method: 'GET', path: hooks(scope), query, schema: HookList, signal });
        return pageOf(reply);
      });
    },

    async createHook(scope, body, { signal } = {}) {
      return found(await send({ method: 'POST', path: hooks(scope), body, schema: Hook, signal }));
    },

    async editHook(scope, id, body, { signal } = {}) {
      return found(
        await send({ method: 'PATCH', path: `${hooks(scope)}/${checkId(id)}`, body, schema: Hook, signal }),
      );
    },

    async deleteHook(scope, id, { signal } = {}) {
      return deleted(
        await send({ method: 'DELETE', path: `${hooks(scope)}/${checkId(id)}`, allowNotFound: true, signal }),
      );
    },

    async getRepo(owner, name, { signal } = {}) {
      const path = `/repos/${encodeURIComponent(owner)}/${encodeURIComponent(name)}`;
      const reply = await send({ method: 'GET', path, schema: Repository, allowNotFound: true, signal });
      return reply.notFound ? undefined : reply.data;
    },

    async getOrg(name, { signal } = {}) {
      const path = `/orgs/${encodeURIComponent(name)}`;
      const reply = await send({ method: 'GET', path, schema: Organization, allowNotFound: true, signal });
      return reply.notFound ? undefined : reply.data;
    },

    async getCurrentUser({ signal } = {}) {
      return found(await send({ method: 'GET', path: '/user', schema: User, signal }));
    },
  };
}

function found<T>(reply: Reply<T>): T {
  // Only requests with allowNotFound can answer notFound; the others throw on 404.
  if (reply.notFound) throw new Error('unreachable: 404 without allowNotFound');
  return reply.data;
}

function pageOf<T>(reply: Reply<T[]>): { items: T[]; header: (name: string) => string | undefined } {
  if (reply.notFound) throw new Error('unreachable: 404 without allowNotFound');
  return { items: reply.data, header: reply.header };
}

function deleted(reply: Reply<undefined>): 'deleted' | 'not-found' {
  return reply.notFound ? 'not-found' : 'deleted';
}

function checkId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) throw new RangeError(`id must be a positive integer, got ${id}`);
  return id;
}
