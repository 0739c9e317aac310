import { randomBytes } from 'node:crypto';
import { Hono } from 'hono';
import { addAccountRoutes } from './accounts-routes.js';
import { actionsRoutes, listJobsHandler } from './actions-routes.js';
import { recordAnswers } from './answer-recorder.js';
import { authenticate } from './auth.js';
import { callLog } from './call-log.js';
import { createDeliverer, type Deliverer } from './deliver.js';
import type { AppEnv } from './env.js';
import { notFound } from './errors.js';
import { createFaultInjector, type FaultInjector } from './faults.js';
import { hooksRoutes } from './hooks-routes.js';
import { createLifecycle } from './lifecycle.js';
import { pullRequestPayload, pushPayload } from './payloads.js';
import { RUNNER_SERVICE_PATH } from './rpc-protocol.js';
import { runnerSnapshot } from './runner-model.js';
import { runnerRpcRoutes } from './runner-rpc.js';
import { adminScope, orgScope, repoScope, userScope } from './scope-middleware.js';
import { accountByName, createState, repoByName, repoFullName, type State } from './state.js';
import type {
  Delivery,
  DeliveryFaults,
  FakeCall,
  FakeForgejoOptions,
  FakeHook,
  FakeJob,
  FakeOrg,
  FakeRepo,
  FakeRunner,
  FakeUser,
  FaultRule,
} from './types.js';

/** An in-process fake Forgejo v15: call `app.request(...)`, or use `startFakeForgejo` for a socket. */
export interface FakeForgejo {
  app: Hono;
  // Seeding
  addUser(o: { name: string; admin?: boolean }): FakeUser;
  addOrg(o: { name: string; owners: string[] }): FakeOrg;
  /** Admin "default" hooks (non-system admin hooks) are copied into the new repo, like Forgejo does. */
  addRepo(o: { owner: string; name: string; actionsEnabled?: boolean }): FakeRepo;
  /** Scopes like `read:organization`, `write:admin`, `all`. Returns the token. */
  addToken(o: { user: string; scopes: string[] }): string;
  // Job queue
  /** A new job (its own run) in `owner/name`: status `waiting` (or `blocked`), attempt 1, fresh handle. */
  enqueueJob(o: {
    repo: string;
    name?: string;
    runsOn: string[] | null;
    needs?: string[] | null;
    /** Start as `blocked` (waiting on needs): not listed, not assignable, until `unblockJob`. */
    blocked?: boolean;
  }): FakeJob;
  /** `blocked` -> `waiting`. */
  unblockJob(handle: string): void;
  /** Hold a waiting job back as a concurrency group would: still listed as waiting, never assigned. */
  setConcurrencyHeld(handle: string, held: boolean): void;
  /** Job -> cancelled (leaves the list, fires `action_run_failure`); a running task is stopped and an
   * ephemeral runner holding it soft-deleted. */
  cancelJob(handle: string): void;
  /** Same id, attempt + 1, new handle, `waiting`, task_id 0 (a running task is stopped first). */
  rerunJob(jobId: number): FakeJob;
  /** As if the runner holding this running job reported `result`: job done, ephemeral runner soft-deleted,
   * `action_run_*` hooks fired. */
  finishJob(handle: string, result: 'success' | 'failure'): void;
  jobs(): FakeJob[];
  /** All runners, soft-deleted ones included (`deleted: true`). */
  runners(): FakeRunner[];
  hooks(): FakeHook[];
  /** Every delivery attempted so far. */
  deliveries(): Delivery[];
  /** Resolves when every delivery started so far has finished (deliveries from `finishJob`/RPC are async). */
  settleDeliveries(): Promise<void>;
  /** Sends a `push` delivery (branch `main` unless given) to the repo's matching active hooks. */
  emitPush(repo: string, branch?: string): Promise<void>;
  /** Sends a `pull_request` delivery (action `opened`) to the repo's matching active hooks. */
  emitPullRequest(repo: string): Promise<void>;
  /** Drops or duplicates webhook deliveries from now on; `null` switches faults off. */
  setDeliveryFaults(faults: DeliveryFaults | null): void;
  // Faults
  injectFault(f: FaultRule): void;
  clearFaults(): void;
  /** The request log. */
  calls(): FakeCall[];
}

/** Internals `startFakeForgejo` needs beside the public fake. */
export interface FakeForgejoInternals {
  state: State;
  faults: FaultInjector;
  deliverer: Deliverer;
}

function copy<T>(value: T): T {
  return structuredClone(value);
}

export function buildFakeForgejo(opts: FakeForgejoOptions = {}): {
  fake: FakeForgejo;
  internals: FakeForgejoInternals;
} {
  const state = createState({ now: opts.now ?? Date.now, log: opts.log ?? (() => undefined) });
  if (opts.deliveryTimeoutMs !== undefined) state.deliveryTimeoutMs = opts.deliveryTimeoutMs;
  const deliverer = createDeliverer(state);
  const lifecycle = createLifecycle(state, deliverer);
  const faults = createFaultInjector();
  const calls: FakeCall[] = [];

  const api = new Hono<AppEnv>();
  api.use('*', authenticate(state));
  addAccountRoutes(api, state);
  api.use('/admin/*', ...adminScope());
  api.use('/orgs/:org/*', ...orgScope(state));
  api.use('/user/*', ...userScope());
  api.use('/repos/:owner/:repo/*', ...repoScope(state));
  const actions = actionsRoutes(state);
  const hooks = hooksRoutes(state);
  // Deprecated alias, still routed in v15.
  api.get('/admin/runners/jobs', listJobsHandler(state));
  for (const prefix of ['/admin', '/orgs/:org', '/user', '/repos/:owner/:repo']) {
    api.route(prefix, actions);
    api.route(prefix, hooks);
  }
  api.all('*', (c) => notFound(c));

  const app = new Hono();
  if (opts.onAnswer !== undefined) app.use('*', recordAnswers(opts.onAnswer));
  app.use('*', callLog(state, calls));
  app.use('*', faults.middleware);
  app.route(RUNNER_SERVICE_PATH, runnerRpcRoutes(state, lifecycle));
  app.route('/api/v1', api as unknown as Hono);
  app.notFound((c) => c.text('404 page not found', 404));
  app.onError((err, c) => {
    state.log(`internal error: ${err.stack ?? err.message}`);
    return c.json({ message: '', url: `${new URL(c.req.url).origin}/api/swagger` }, 500);
  });

  function account(name: string) {
    const a = accountByName(state, name);
    if (!a) throw new Error(`fake forgejo: unknown user or org ${name}`);
    return a;
  }

  function addAccount(name: string, kind: 'user' | 'org', admin: boolean, owners: string[]) {
    if (accountByName(state, name)) throw new Error(`fake forgejo: name ${name} is taken`);
    const record = { id: state.nextId('account'), name, kind, admin, owners: [...owners] };
    state.accounts.set(record.id, record);
    return record;
  }

  const fake: FakeForgejo = {
    app,
    addUser(o) {
      const a = addAccount(o.name, 'user', o.admin ?? false, []);
      return { id: a.id, name: a.name, admin: a.admin };
    },
    addOrg(o) {
      for (const owner of o.owners) {
        if (account(owner).kind !== 'user') throw new Error(`fake forgejo: org owner ${owner} is not a user`);
      }
      const a = addAccount(o.name, 'org', false, o.owners);
      return { id: a.id, name: a.name, owners: [...a.owners] };
    },
    addRepo(o) {
      const owner = account(o.owner);
      if (repoByName(state, o.owner, o.name))
        throw new Error(`fake forgejo: repo ${o.owner}/${o.name} exists`);
      const repo = {
        id: state.nextId('repo'),
        ownerId: owner.id,
        name: o.name,
        actionsEnabled: o.actionsEnabled ?? true,
        runIndex: 0,
      };
      state.repos.set(repo.id, repo);
      for (const hook of [...state.hooks.values()].filter((h) => h.kind === 'default')) {
        const id = state.nextId('hook');
        state.hooks.set(id, { ...copy(hook), id, kind: 'repo', repoId: repo.id, ownerId: 0 });
      }
      return {
        id: repo.id,
        ownerId: owner.id,
        owner: owner.name,
        name: repo.name,
        fullName: repoFullName(state, repo),
        actionsEnabled: repo.actionsEnabled,
      };
    },
    addToken(o) {
      const user = account(o.user);
      if (user.kind !== 'user') throw new Error(`fake forgejo: tokens belong to users, ${o.user} is an org`);
      const token = randomBytes(20).toString('hex');
      state.tokens.set(token, { token, userId: user.id, scopes: [...o.scopes] });
      return token;
    },
    enqueueJob(o) {
      return copy(lifecycle.enqueue(o));
    },
    unblockJob(handle) {
      lifecycle.unblock(handle);
    },
    setConcurrencyHeld(handle, held) {
      lifecycle.setConcurrencyHeld(handle, held);
    },
    cancelJob(handle) {
      lifecycle.cancel(handle);
    },
    rerunJob(jobId) {
      return copy(lifecycle.rerun(jobId));
    },
    finishJob(handle, result) {
      lifecycle.finish(handle, result);
    },
    jobs() {
      return [...state.jobs.values()].map(copy);
    },
    runners() {
      const now = state.now();
      return [...state.runners.values()].map((r) => runnerSnapshot(r, now));
    },
    hooks() {
      return [...state.hooks.values()].map(copy);
    },
    deliveries() {
      return state.deliveries.map(copy);
    },
    settleDeliveries() {
      return deliverer.settled();
    },
    emitPush(repoName, branch = 'main') {
      const [owner = '', name = ''] = repoName.split('/');
      const repo = repoByName(state, owner, name);
      if (!repo) throw new Error(`fake forgejo: unknown repo ${repoName}`);
      return deliverer.dispatch(repo, 'push', pushPayload(state, repo, `refs/heads/${branch}`), branch);
    },
    emitPullRequest(repoName) {
      const [owner = '', name = ''] = repoName.split('/');
      const repo = repoByName(state, owner, name);
      if (!repo) throw new Error(`fake forgejo: unknown repo ${repoName}`);
      return deliverer.dispatch(repo, 'pull_request', pullRequestPayload(state, repo));
    },
    setDeliveryFaults(faults) {
      deliverer.setFaults(faults);
    },
    injectFault(f) {
      faults.add(f);
    },
    clearFaults() {
      faults.clear();
    },
    calls() {
      return calls.map(copy);
    },
  };
  return { fake, internals: { state, faults, deliverer } };
}

/** A fake Forgejo without a socket; drive it with `fake.app.request(...)`. */
export function createFakeForgejo(opts: FakeForgejoOptions = {}): FakeForgejo {
  return buildFakeForgejo(opts).fake;
}
