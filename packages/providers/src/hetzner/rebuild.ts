import { type Clock, isAbortError, throwIfAborted } from '@forgejo-fleet/runtime';
import {
  type CallOptions,
  type Instance,
  InstanceNotFoundError,
  type InstanceSpec,
  ProviderError,
} from '../provider.js';
import { shorten } from '../text.js';
import type { HcloudApi } from './api.js';
import { classifyHcloudError, HcloudApiError, hetznerError } from './errors.js';
import { toInstance } from './instance.js';
import { IDEMPOTENCY_LABEL, keyMark, REBUILD_AT_LABEL, REBUILD_LABEL, rebuildMark } from './labels.js';
import { ActionAnswer, ActionList, type HcloudAction, type HcloudServer, ServerAnswer } from './schema.js';

/** One whole rebuild: waiting out a locked server, then the action (Hetzner's take a minute or two). */
export const REBUILD_TIMEOUT_MS = 5 * 60_000;
/** Action polling as the fleeting plugin does it: 1 s, doubling, at most 5 s. */
const POLL_FIRST_MS = 1_000;
const POLL_MAX_MS = 5_000;
/** How many of a server's newest actions are searched for a rebuild that started before a crash. */
const RECENT_ACTIONS = 50;

export interface RebuildDeps {
  readonly provider: string;
  readonly api: HcloudApi;
  readonly clock: Clock;
  readonly resolveImage: (signal: AbortSignal | undefined) => Promise<string>;
  /** The provider's classification of any other error. */
  readonly fail: (what: string, error: unknown) => unknown;
  /** The checks create makes (hostname, user-data size, tag keys); answers the spec's tag labels. */
  readonly specLabels: (what: string, spec: InstanceSpec) => Record<string, string>;
}

function pollMs(attempt: number): number {
  return Math.min(POLL_MAX_MS, POLL_FIRST_MS * 2 ** attempt);
}

/**
 * `rebuild` for Hetzner: `PUT /servers/{id}` (claim: the new dispatch's name, labels and key
 * mark), `POST /servers/{id}/actions/rebuild` (Hetzner powers the server off itself, overwrites
 * the disk, boots the new user-data), wait for the action, then `PUT` the labels again to mark it
 * done. Claiming first means a server never boots new user-data under its old dispatch's labels.
 *
 * Hetzner has no idempotency key, so the claim records the newest action id of the server
 * (`after-<id>`): a call that finds its own claim (after a crash or a lost answer) adopts the
 * first `rebuild_server` action above that id instead of starting another, and one that finds
 * `done-<id>` under its key returns at once. Calls for one server in this process share one
 * rebuild; across processes the caller must be the only one rebuilding a server (the dispatcher's
 * lease holder).
 */
export function hetznerRebuild(deps: RebuildDeps) {
  const { provider: name, api, clock } = deps;
  const inFlight = new Map<string, { readonly mark: string; readonly done: Promise<Instance> }>();

  function notFound(id: string, cause?: unknown): InstanceNotFoundError {
    return new InstanceNotFoundError(
      name,
      id,
      `rebuild server ${id}: no such server`,
      cause === undefined ? {} : { cause },
    );
  }

  /** A 404 on a path under `/servers/{id}` means the server is gone. */
  async function onServer<T>(id: string, what: string, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (error instanceof HcloudApiError && error.code === 'not_found') throw notFound(id, error);
      throw deps.fail(what, error);
    }
  }

  function getServer(id: string, what: string, signal: AbortSignal | undefined) {
    return onServer(id, what, async () => {
      const { server } = await api.call('GET', `/servers/${id}`, ServerAnswer, { signal });
      return server;
    });
  }

  function update(
    id: string,
    what: string,
    body: { name?: string; labels: Record<string, string> },
    signal: AbortSignal | undefined,
  ): Promise<HcloudServer> {
    return onServer(id, what, async () => {
      try {
        const { server } = await api.call('PUT', `/servers/${id}`, ServerAnswer, { body, signal });
        return server;
      } catch (error) {
        if (error instanceof HcloudApiError && error.code === 'uniqueness_error')
          throw new ProviderError(
            name,
            'fatal',
            `${what}: server name "${body.name}" is taken by another server`,
          );
        throw error;
      }
    });
  }

  function recentActions(id: string, what: string, count: number, signal: AbortSignal | undefined) {
    return onServer(id, what, async () => {
      const { actions } = await api.call('GET', `/servers/${id}/actions`, ActionList, {
        query: { sort: 'id:desc', per_page: count },
        signal,
      });
      return actions;
    });
  }

  async function startedRebuild(
    id: string,
    what: string,
    afterAction: number,
    signal: AbortSignal | undefined,
  ) {
    const actions = await recentActions(id, what, RECENT_ACTIONS, signal);
    return actions.find((a) => a.command === 'rebuild_server' && a.id > afterAction);
  }

  /** Starts the rebuild, or adopts the one already started above `afterAction`. */
  async function start(
    id: string,
    spec: InstanceSpec,
    what: string,
    progress: { afterAction: number; lookFirst: boolean; deadline: number },
    signal: AbortSignal | undefined,
  ): Promise<HcloudAction> {
    let lastError: unknown;
    for (let attempt = 0; ; attempt++) {
      if (attempt > 0 || progress.lookFirst) {
        const started = await startedRebuild(id, what, progress.afterAction, signal);
        if (started !== undefined) return started;
      }
      if (attempt > 0 && clock.now() >= progress.deadline) {
        throw hetznerError(name, `${what}: gave up after ${REBUILD_TIMEOUT_MS / 1_000} s`, lastError, {
          errorClass: 'transient',
        });
      }
      try {
        const image = await deps.resolveImage(signal);
        const body = { image, user_data: spec.userData };
        const { action } = await api.call('POST', `/servers/${id}/actions/rebuild`, ActionAnswer, {
          body,
          signal,
        });
        return action;
      } catch (error) {
        if (isAbortError(error)) throw error;
        if (error instanceof HcloudApiError && error.code === 'not_found') {
          // The server or the image: only a server that is still there makes it the image.
          await getServer(id, what, signal);
          throw deps.fail(what, error);
        }
        // Locked (an action still runs), a conflict, a 5xx or no answer: the rebuild may have
        // started (lost answer) or may start later; look for it before asking again.
        if (classifyHcloudError(error) !== 'transient') throw deps.fail(what, error);
        lastError = error;
        await clock.sleep(pollMs(attempt), signal);
      }
    }
  }

  async function finish(
    what: string,
    started: HcloudAction,
    deadline: number,
    signal: AbortSignal | undefined,
  ): Promise<HcloudAction> {
    let action = started;
    for (let attempt = 0; action.status === 'running'; attempt++) {
      if (clock.now() >= deadline) {
        throw new ProviderError(
          name,
          'transient',
          `${what}: action ${action.id} did not finish within ${REBUILD_TIMEOUT_MS / 1_000} s`,
        );
      }
      await clock.sleep(pollMs(attempt), signal);
      try {
        ({ action } = await api.call('GET', `/actions/${action.id}`, ActionAnswer, { signal }));
      } catch (error) {
        throw deps.fail(what, error);
      }
    }
    if (action.status === 'error') {
      // A repeated call finds this same failed action: retrying with the key cannot help.
      const reason = action.error === undefined || action.error === null ? 'unknown' : action.error.code;
      throw new ProviderError(name, 'fatal', `${what}: the rebuild action failed (${shorten(reason)})`);
    }
    return action;
  }

  async function run(
    id: string,
    spec: InstanceSpec,
    tagLabels: Record<string, string>,
    mark: string,
    signal: AbortSignal | undefined,
  ): Promise<Instance> {
    const what = `rebuild server ${id}`;
    const deadline = clock.now() + REBUILD_TIMEOUT_MS;
    const server = await getServer(id, what, signal);
    if (server.status === 'deleting') throw notFound(id);
    const { choice } = spec;
    if (
      choice !== undefined &&
      (server.server_type?.name !== choice.machine ||
        (choice.location !== undefined && server.location?.name !== choice.location))
    ) {
      throw new ProviderError(name, 'fatal', `${what}: a rebuild cannot make it a ${choice.key}`);
    }

    let labels: Record<string, string>;
    let afterAction: number;
    const ours = server.labels[IDEMPOTENCY_LABEL] === mark;
    const progress = ours ? rebuildMark(server.labels) : undefined;
    if (ours && progress?.phase !== 'claimed') {
      // Made by create, or rebuilt already, for this very key: nothing to do again.
      return toInstance(server, clock.now());
    }
    if (progress?.phase === 'claimed') {
      labels = server.labels;
      afterAction = progress.afterAction;
    } else {
      afterAction = (await recentActions(id, what, 1, signal))[0]?.id ?? 0;
      labels = {
        ...tagLabels,
        [IDEMPOTENCY_LABEL]: mark,
        [REBUILD_LABEL]: `after-${afterAction}`,
        [REBUILD_AT_LABEL]: String(Math.floor(clock.now() / 1_000)),
      };
      await update(id, what, { name: spec.name, labels }, signal);
    }

    const started = await start(id, spec, what, { afterAction, lookFirst: ours, deadline }, signal);
    const action = await finish(what, started, deadline, signal);
    const { [REBUILD_AT_LABEL]: _claimedAt, ...kept } = labels;
    const rebuilt = await update(
      id,
      what,
      { labels: { ...kept, [REBUILD_LABEL]: `done-${action.id}` } },
      signal,
    );
    return toInstance(rebuilt, clock.now());
  }

  return async function rebuild(
    id: string,
    spec: InstanceSpec,
    options: CallOptions = {},
  ): Promise<Instance> {
    const { signal } = options;
    throwIfAborted(signal);
    const what = `rebuild server ${id}`;
    const tagLabels = deps.specLabels(what, spec);
    if (!/^\d{1,16}$/.test(id)) throw notFound(id);
    const mark = keyMark(spec.idempotencyKey);
    const running = inFlight.get(id);
    if (running !== undefined) {
      if (running.mark === mark) return running.done;
      throw new ProviderError(name, 'fatal', `${what}: it is being rebuilt for another dispatch`);
    }
    const done = run(id, spec, tagLabels, mark, signal).finally(() => inFlight.delete(id));
    inFlight.set(id, { mark, done });
    return done;
  };
}
