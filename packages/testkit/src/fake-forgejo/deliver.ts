import { createHmac, randomUUID } from 'node:crypto';
import { branchMatches } from './hook-model.js';
import type { HookRecord, RepoRecord, State } from './state.js';
import type { Delivery, DeliveryFaults } from './types.js';

/** Sends webhook deliveries and lets tests wait for the ones in flight. */
export interface Deliverer {
  /** Delivers `event` for `repo` to every matching active hook; resolves when all attempts ended. */
  dispatch(repo: RepoRecord, event: string, payload: unknown, branch?: string): Promise<void>;
  /** Resolves once every delivery started so far has ended. */
  settled(): Promise<void>;
  /** Aborts deliveries in flight. */
  abort(): void;
  /** Drop or duplicate deliveries from now on (`null`: deliver normally). */
  setFaults(faults: DeliveryFaults | null): void;
}

/** Hooks that see events of `repo`: its repo hooks, its owner's hooks, and system hooks. */
export function hooksForRepo(state: State, repo: RepoRecord): HookRecord[] {
  return [...state.hooks.values()].filter(
    (h) =>
      (h.kind === 'repo' && h.repoId === repo.id) ||
      (h.kind === 'owner' && h.ownerId === repo.ownerId) ||
      h.kind === 'system',
  );
}

/** Lowercase hex HMAC-SHA256 of `payload` with `secret`, as in `X-Forgejo-Signature`. */
export function signPayload(secret: string, payload: string): string {
  return createHmac('sha256', secret).update(payload).digest('hex');
}

function deliveryHeaders(
  hook: HookRecord,
  id: string,
  event: string,
  payload: string,
): Record<string, string> {
  // Forgejo sends empty signature values when the secret is empty.
  const sha256 = hook.secret === '' ? '' : signPayload(hook.secret, payload);
  const sha1 = hook.secret === '' ? '' : createHmac('sha1', hook.secret).update(payload).digest('hex');
  const headers: Record<string, string> = {
    'Content-Type': hook.contentType === 'json' ? 'application/json' : 'application/x-www-form-urlencoded',
    'User-Agent': 'Go-http-client/1.1',
  };
  for (const brand of ['Forgejo', 'Gitea', 'Gogs', 'GitHub']) {
    headers[`X-${brand}-Delivery`] = id;
    headers[`X-${brand}-Event`] = event;
    headers[`X-${brand}-Event-Type`] = event;
  }
  headers['X-Forgejo-Signature'] = sha256;
  headers['X-Gitea-Signature'] = sha256;
  headers['X-Gogs-Signature'] = sha256;
  headers['X-Hub-Signature'] = `sha1=${sha1}`;
  headers['X-Hub-Signature-256'] = `sha256=${sha256}`;
  if (hook.authorizationHeader !== '') headers.Authorization = hook.authorizationHeader;
  return headers;
}

/** Only loopback IPv4 targets are allowed, so tests can never send traffic elsewhere. */
function refusal(url: string): string | null {
  try {
    const u = new URL(url);
    if (u.hostname === '127.0.0.1' && (u.protocol === 'http:' || u.protocol === 'https:')) return null;
    return `webhook can only call allowed HTTP servers (the fake allows only 127.0.0.1), deny '${u.host}'`;
  } catch {
    return `invalid webhook url ${JSON.stringify(url)}`;
  }
}

export function createDeliverer(state: State): Deliverer {
  const inFlight = new Set<Promise<void>>();
  const closing = new AbortController();
  let faults: DeliveryFaults | null = null;
  let sequence = 0;

  async function deliverOne(hook: HookRecord, event: string, payloadObj: unknown): Promise<void> {
    const id = randomUUID();
    // Forgejo marshals payloads with two-space indentation; the signature covers these exact bytes.
    const payload = JSON.stringify(payloadObj, null, 2);
    const body = hook.contentType === 'json' ? payload : `payload=${encodeURIComponent(payload)}`;
    const n = ++sequence;
    if (faults?.drop?.(n, event)) {
      state.deliveries.push({
        ...attemptRecord(hook, id, event, payload, body),
        error: 'dropped by fault injection',
      });
      state.log(`delivery ${id} (${event}) to hook ${hook.id} dropped by fault injection`);
      return;
    }
    await send(hook, id, event, payload, body);
    if (faults?.duplicate) await send(hook, id, event, payload, body);
  }

  function attemptRecord(
    hook: HookRecord,
    id: string,
    event: string,
    payload: string,
    body: string,
  ): Delivery {
    return {
      id,
      hookId: hook.id,
      event,
      url: hook.url,
      headers: deliveryHeaders(hook, id, event, payload),
      body,
      payload,
      at: state.now(),
      status: null,
      error: null,
      ok: false,
    };
  }

  async function send(hook: HookRecord, id: string, event: string, payload: string, body: string) {
    const record = attemptRecord(hook, id, event, payload, body);
    state.deliveries.push(record);
    const refused = refusal(hook.url);
    if (refused) {
      record.error = refused;
      state.log(`delivery ${id} (${event}) to hook ${hook.id} refused: ${refused}`);
      return;
    }
    try {
      const res = await fetch(hook.url, {
        method: 'POST',
        headers: record.headers,
        body,
        redirect: 'manual',
        signal: AbortSignal.any([AbortSignal.timeout(state.deliveryTimeoutMs), closing.signal]),
      });
      await res.arrayBuffer().catch(() => undefined);
      record.status = res.status;
      record.ok = res.status >= 200 && res.status < 300;
      state.log(`delivery ${id} (${event}) to hook ${hook.id}: ${res.status}`);
    } catch (err) {
      record.error = err instanceof Error ? `${err.name}: ${err.message}` : String(err);
      state.log(`delivery ${id} (${event}) to hook ${hook.id} failed: ${record.error}`);
    }
  }

  function track(p: Promise<void>): Promise<void> {
    inFlight.add(p);
    void p.finally(() => inFlight.delete(p));
    return p;
  }

  return {
    dispatch(repo, event, payload, branch) {
      const hooks = hooksForRepo(state, repo).filter(
        (h) =>
          h.active &&
          h.events.includes(event) &&
          (branch === undefined || branchMatches(h.branchFilter, branch)),
      );
      return track(Promise.all(hooks.map((h) => deliverOne(h, event, payload))).then(() => undefined));
    },
    async settled() {
      while (inFlight.size > 0) await Promise.all([...inFlight]);
    },
    abort() {
      closing.abort();
    },
    setFaults(next) {
      faults = next;
    },
  };
}
