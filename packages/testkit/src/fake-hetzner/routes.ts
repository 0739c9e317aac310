import { randomBytes, randomUUID } from 'node:crypto';
import type { FakeAnswer } from '../fake-answer.js';
import { fakeHttpHandler } from '../fake-http.js';
import { LabelSelectorError, parseLabelSelector } from './label-selector.js';
import type { Model } from './model.js';
import type {
  ActionFaultRule,
  CreateErrorRule,
  FakeHetznerCall,
  FakeHetznerError,
  FakeServer,
  FaultRule,
} from './types.js';

const STATUS_BY_CODE: Readonly<Record<string, number>> = {
  invalid_input: 400,
  json_error: 400,
  unauthorized: 401,
  forbidden: 403,
  token_readonly: 403,
  resource_limit_exceeded: 403,
  not_found: 404,
  method_not_allowed: 405,
  uniqueness_error: 409,
  conflict: 409,
  resource_unavailable: 412,
  placement_error: 412,
  invalid_server_type: 412,
  locked: 423,
  protected: 423,
  rate_limit_exceeded: 429,
  server_error: 500,
  service_error: 503,
  unavailable: 503,
  maintenance: 503,
  timeout: 504,
};

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const LABEL_VALUE = /^(()|[a-z0-9A-Z]|([a-z0-9A-Z][a-z0-9A-Z._-]{0,61}[a-z0-9A-Z]))$/;
const LABEL_NAME = /^[a-z0-9A-Z](?:[a-z0-9A-Z._-]{0,61}[a-z0-9A-Z])?$/;
const LABEL_PREFIX = /^(?=.{1,253}$)[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*$/;
const MAX_USER_DATA = 32 * 1024;

export interface Faults {
  createErrors: CreateErrorRule[];
  faults: FaultRule[];
  /** Actions (by command) that fail or never finish. */
  actionFaults: ActionFaultRule[];
  /** Creates whose answer is lost: the server is made, then the connection is reset. */
  loseCreates: number;
  /** Rebuilds whose answer is lost: the rebuild starts, then the connection is reset. */
  loseRebuilds: number;
}

interface Answer {
  status: number;
  body?: unknown;
  /** Destroy the connection instead of answering. */
  drop?: boolean;
}

function error(e: FakeHetznerError): Answer {
  return {
    status: e.status ?? STATUS_BY_CODE[e.code] ?? 422,
    body: {
      error: { code: e.code, message: e.message ?? e.code.replaceAll('_', ' '), details: e.details ?? null },
    },
  };
}

function invalid(field: string, message: string): Answer {
  return error({
    code: 'invalid_input',
    message: `invalid input in field '${field}'`,
    details: { fields: [{ name: field, messages: [message] }] },
  });
}

function labelsProblem(labels: unknown): string | undefined {
  if (labels === undefined) return undefined;
  if (labels === null || typeof labels !== 'object' || Array.isArray(labels))
    return 'labels must be an object';
  for (const [key, value] of Object.entries(labels)) {
    const slash = key.lastIndexOf('/');
    const prefix = slash < 0 ? undefined : key.slice(0, slash);
    const name = slash < 0 ? key : key.slice(slash + 1);
    if (!LABEL_NAME.test(name) || (prefix !== undefined && !LABEL_PREFIX.test(prefix)))
      return `invalid label key '${key}'`;
    if (prefix === 'hetzner.cloud') return `label prefix '${prefix}' is reserved`;
    if (typeof value !== 'string' || !LABEL_VALUE.test(value)) return `invalid label value for '${key}'`;
  }
  return undefined;
}

function userDataProblem(userData: unknown): string | undefined {
  if (userData === undefined) return undefined;
  if (typeof userData !== 'string' || Buffer.byteLength(userData) > MAX_USER_DATA)
    return 'user_data is limited to 32KiB';
  return undefined;
}

/** No root password when the server was made with SSH keys ("New root password when not using SSH keys"). */
function rootPassword(request: Readonly<Record<string, unknown>>): string | null {
  const sshKeys = Array.isArray(request.ssh_keys) ? request.ssh_keys : [];
  return sshKeys.length > 0 ? null : randomBytes(12).toString('base64url');
}

function intParam(value: string | null, fallback: number): number {
  return value !== null && /^\d+$/.test(value) ? Number(value) : fallback;
}

function paginate<T>(items: readonly T[], query: URLSearchParams) {
  const perPage = Math.min(50, Math.max(1, intParam(query.get('per_page'), 25)));
  const page = Math.max(1, intParam(query.get('page'), 1));
  const last = Math.max(1, Math.ceil(items.length / perPage));
  return {
    items: items.slice((page - 1) * perPage, page * perPage),
    meta: {
      pagination: {
        page,
        per_page: perPage,
        previous_page: page > 1 ? page - 1 : null,
        next_page: page < last ? page + 1 : null,
        last_page: last,
        total_entries: items.length,
      },
    },
  };
}

function selectorFilter(query: URLSearchParams): ((labels: Record<string, string>) => boolean) | Answer {
  const selector = query.get('label_selector');
  if (selector === null) return () => true;
  try {
    return parseLabelSelector(selector);
  } catch (e) {
    if (e instanceof LabelSelectorError) return invalid('label_selector', e.message);
    throw e;
  }
}

function takeRule<R extends { times?: number }>(rules: R[], match: (rule: R) => boolean): R | undefined {
  const rule = rules.find((r) => (r.times ?? Number.POSITIVE_INFINITY) > 0 && match(r));
  if (rule !== undefined && rule.times !== undefined) rule.times--;
  return rule;
}

/** The request handler of the fake API (everything under `/v1`). */
export function createRoutes(params: {
  readonly model: Model;
  readonly token: string;
  readonly bucket: { take(): { ok: boolean; headers: Record<string, string> } } | undefined;
  readonly faults: Faults;
  readonly calls: FakeHetznerCall[];
  readonly stats: { requests: number; rateLimited: number };
  readonly onAnswer?: ((answer: FakeAnswer) => void) | undefined;
}) {
  const { model, token, bucket, faults, calls, stats, onAnswer } = params;

  function createServer(body: unknown): Answer {
    if (body === undefined) return error({ code: 'json_error', message: 'invalid JSON' });
    const req = (body ?? {}) as Record<string, unknown>;
    for (const field of ['name', 'server_type', 'image']) {
      if (typeof req[field] !== 'string' || req[field] === '')
        return invalid(field, 'Missing data for required field.');
    }
    const name = req.name as string;
    const serverType = req.server_type as string;
    const imageRef = req.image as string;
    if (!HOSTNAME.test(name)) return invalid('name', 'Name must be a valid hostname.');
    if (req.location !== undefined && req.datacenter !== undefined)
      return invalid('location', 'location and datacenter are mutually exclusive');
    const location = (req.location as string | undefined) ?? model.locations[0] ?? 'fsn1';
    if (!model.locations.includes(location)) return invalid('location', `location '${location}' not found`);
    if (!model.serverTypes.includes(serverType))
      return error({ code: 'not_found', message: `server type '${serverType}' not found` });
    const image = [...model.images.values()].find((i) => String(i.id) === imageRef || i.name === imageRef);
    if (image === undefined || image.status !== 'available')
      return error({ code: 'not_found', message: `image '${imageRef}' not found` });
    const labelProblem = labelsProblem(req.labels);
    if (labelProblem !== undefined) return invalid('labels', labelProblem);
    const userDataError = userDataProblem(req.user_data);
    if (userDataError !== undefined) return invalid('user_data', userDataError);
    const rule = takeRule(
      faults.createErrors,
      (r) =>
        (r.serverType === undefined || r.serverType === serverType) &&
        (r.location === undefined || r.location === location),
    );
    if (rule !== undefined) return error(rule);
    if ([...model.servers.values()].some((s) => s.name === name)) {
      return error({
        code: 'uniqueness_error',
        message: 'server name is already used',
        details: { fields: [{ name: 'name' }] },
      });
    }

    const id = model.newServerId();
    const server: FakeServer = {
      id,
      name,
      status: 'initializing',
      serverType,
      location,
      image: imageRef,
      labels: { ...((req.labels as Record<string, string> | undefined) ?? {}) },
      userData: req.user_data as string | undefined,
      createdAt: model.now(),
      request: req,
      pinned: false,
      rebuildAction: undefined,
      rebuilds: [],
    };
    model.servers.set(id, server);
    const resources = [{ id, type: 'server' }];
    const action = model.addAction('create_server', resources);
    const start = req.start_after_create === false ? [] : [model.addAction('start_server', resources)];
    if (faults.loseCreates > 0) {
      faults.loseCreates--;
      return { status: 0, drop: true };
    }
    return {
      status: 201,
      body: {
        server: model.serverJson(server),
        action: model.actionJson(action),
        next_actions: start.map((a) => model.actionJson(a)),
        root_password: rootPassword(req),
      },
    };
  }

  /** `PUT /servers/{id}`: a new name and/or a new label set (replacing the old one whole). */
  function updateServer(server: FakeServer, body: unknown): Answer {
    if (body === undefined) return error({ code: 'json_error', message: 'invalid JSON' });
    const req = (body ?? {}) as Record<string, unknown>;
    if (req.name !== undefined) {
      if (typeof req.name !== 'string' || !HOSTNAME.test(req.name))
        return invalid('name', 'Name must be a valid hostname.');
      if ([...model.servers.values()].some((s) => s.name === req.name && s.id !== server.id)) {
        return error({
          code: 'uniqueness_error',
          message: 'server name is already used',
          details: { fields: [{ name: 'name' }] },
        });
      }
    }
    const labelProblem = labelsProblem(req.labels);
    if (labelProblem !== undefined) return invalid('labels', labelProblem);
    if (typeof req.name === 'string') server.name = req.name;
    if (req.labels !== undefined) server.labels = { ...(req.labels as Record<string, string>) };
    return { status: 200, body: { server: model.serverJson(server) } };
  }

  /**
   * `POST /servers/{id}/actions/rebuild`: Hetzner powers the server off first, overwrites its disk
   * from the image and boots it with the new user-data (or the previous one, when none is sent).
   * A server with an action still running is locked.
   */
  function rebuildServer(server: FakeServer, body: unknown): Answer {
    if (body === undefined) return error({ code: 'json_error', message: 'invalid JSON' });
    const req = (body ?? {}) as Record<string, unknown>;
    if (typeof req.image !== 'string' || req.image === '')
      return invalid('image', 'Missing data for required field.');
    const userDataError = userDataProblem(req.user_data);
    if (userDataError !== undefined) return invalid('user_data', userDataError);
    const imageRef = req.image;
    const image = [...model.images.values()].find((i) => String(i.id) === imageRef || i.name === imageRef);
    if (image === undefined || image.status !== 'available')
      return error({ code: 'not_found', message: `image '${imageRef}' not found` });
    const status = model.statusOf(server);
    if (status === 'deleting' || model.actionsOf(server.id).some((a) => model.actionStatus(a) === 'running'))
      return error({ code: 'locked', message: 'server is locked by a running action' });
    const rule = takeRule(faults.actionFaults, (r) => r.command === 'rebuild_server');
    const action = model.addAction(
      'rebuild_server',
      [{ id: server.id, type: 'server' }],
      0,
      rule === undefined
        ? undefined
        : rule.outcome === 'hang'
          ? { outcome: 'hang' }
          : {
              outcome: 'error',
              code: rule.code ?? 'action_failed',
              message: rule.message ?? 'Action failed',
            },
    );
    server.status = 'rebuilding';
    server.pinned = false;
    server.image = imageRef;
    if (typeof req.user_data === 'string') server.userData = req.user_data;
    server.rebuildAction = action;
    server.rebuilds.push({
      at: model.now(),
      image: imageRef,
      userData: server.userData,
      poweredOffFrom: status,
      labels: { ...server.labels },
      actionId: action.id,
    });
    if (faults.loseRebuilds > 0) {
      faults.loseRebuilds--;
      return { status: 0, drop: true };
    }
    return {
      status: 201,
      body: { action: model.actionJson(action), root_password: rootPassword(server.request) },
    };
  }

  /** `GET /servers/{id}/actions`: the server's actions, filtered by status, sorted by id or start. */
  function serverActions(server: FakeServer, query: URLSearchParams): Answer {
    const statuses = query.getAll('status');
    const sort = query.get('sort') ?? 'id';
    const direction = sort.endsWith(':desc') ? -1 : 1;
    const actions = model
      .actionsOf(server.id)
      .filter((a) => statuses.length === 0 || statuses.includes(model.actionStatus(a)))
      .sort(
        (a, b) =>
          (sort.startsWith('started') ? a.startedAt - b.startedAt || a.id - b.id : a.id - b.id) * direction,
      );
    const page = paginate(
      actions.map((a) => model.actionJson(a)),
      query,
    );
    return { status: 200, body: { actions: page.items, meta: page.meta } };
  }

  function listServers(query: URLSearchParams): Answer {
    const match = selectorFilter(query);
    if (typeof match !== 'function') return match;
    const name = query.get('name');
    const statuses = query.getAll('status');
    const servers = [...model.servers.values()]
      .sort((a, b) => a.id - b.id)
      .filter((s) => name === null || s.name === name)
      .filter((s) => match(s.labels))
      .map((s) => model.serverJson(s))
      .filter((s) => statuses.length === 0 || statuses.includes(s.status));
    const page = paginate(servers, query);
    return { status: 200, body: { servers: page.items, meta: page.meta } };
  }

  function listImages(query: URLSearchParams): Answer {
    const match = selectorFilter(query);
    if (typeof match !== 'function') return match;
    const types = query.getAll('type');
    const statuses = query.getAll('status');
    const name = query.get('name');
    const sort = query.get('sort') ?? 'id';
    const images = [...model.images.values()]
      .filter((i) => types.length === 0 || types.includes(i.type))
      .filter((i) => statuses.length === 0 || statuses.includes(i.status))
      .filter((i) => name === null || i.name === name)
      .filter((i) => match(i.labels))
      .sort((a, b) =>
        sort.startsWith('created')
          ? (a.createdAt - b.createdAt) * (sort.endsWith(':desc') ? -1 : 1)
          : (a.id - b.id) * (sort.endsWith(':desc') ? -1 : 1),
      );
    const page = paginate(
      images.map((i) => model.imageJson(i)),
      query,
    );
    return { status: 200, body: { images: page.items, meta: page.meta } };
  }

  function route(method: string, path: string, query: URLSearchParams, body: unknown): Answer {
    if (path === '/servers' && method === 'GET') return listServers(query);
    if (path === '/servers' && method === 'POST') return createServer(body);
    const server = /^\/servers\/(\d+)$/.exec(path);
    if (server !== null) {
      const found = model.servers.get(Number(server[1]));
      if (found === undefined) return error({ code: 'not_found', message: 'server not found' });
      if (method === 'GET') return { status: 200, body: { server: model.serverJson(found) } };
      if (method === 'PUT') return updateServer(found, body);
      if (method === 'DELETE') {
        model.servers.delete(found.id);
        const action = model.addAction('delete_server', [{ id: found.id, type: 'server' }]);
        return { status: 200, body: { action: model.actionJson(action) } };
      }
      return error({ code: 'method_not_allowed', message: 'method not allowed' });
    }
    const serverAction = /^\/servers\/(\d+)\/actions(\/rebuild)?$/.exec(path);
    const actionMethod = serverAction?.[2] === undefined ? 'GET' : 'POST';
    if (serverAction !== null && method === actionMethod) {
      const found = model.servers.get(Number(serverAction[1]));
      if (found === undefined) return error({ code: 'not_found', message: 'server not found' });
      return actionMethod === 'GET' ? serverActions(found, query) : rebuildServer(found, body);
    }
    if (path === '/actions' && method === 'GET') {
      const ids = query.getAll('id');
      if (ids.length === 0) return invalid('id', 'Missing data for required field.');
      const actions = ids.flatMap((id) => {
        const action = model.actions.get(Number(id));
        return action === undefined ? [] : [model.actionJson(action)];
      });
      // Not paginated: the spec's answer is `{ actions }` only, for the ids asked.
      return { status: 200, body: { actions } };
    }
    const action = /^\/actions\/(\d+)$/.exec(path);
    if (action !== null && method === 'GET') {
      const found = model.actions.get(Number(action[1]));
      return found === undefined
        ? error({ code: 'not_found', message: 'action not found' })
        : { status: 200, body: { action: model.actionJson(found) } };
    }
    if (path === '/images' && method === 'GET') return listImages(query);
    const image = /^\/images\/(\d+)$/.exec(path);
    if (image !== null && method === 'GET') {
      const found = model.images.get(Number(image[1]));
      return found === undefined
        ? error({ code: 'not_found', message: 'image not found' })
        : { status: 200, body: { image: model.imageJson(found) } };
    }
    return error({ code: 'not_found', message: 'not found' });
  }

  function answer(
    method: string,
    path: string,
    query: URLSearchParams,
    authorization: string | undefined,
    text: string,
  ) {
    stats.requests++;
    const headers: Record<string, string> = { 'X-Correlation-Id': randomUUID() };
    if (bucket !== undefined) {
      const taken = bucket.take();
      Object.assign(headers, taken.headers);
      if (!taken.ok) {
        stats.rateLimited++;
        return {
          headers,
          ...error({ code: 'rate_limit_exceeded', message: 'limit of requests per hour reached' }),
        };
      }
    }
    if (!path.startsWith('/v1/')) return { headers, ...error({ code: 'not_found', message: 'not found' }) };
    if (authorization !== `Bearer ${token}`)
      return { headers, ...error({ code: 'unauthorized', message: 'unable to authenticate' }) };
    const apiPath = path.slice(3);
    const fault = takeRule(
      faults.faults,
      (r) =>
        (r.method === undefined || r.method === method) &&
        (r.path === undefined || (typeof r.path === 'string' ? r.path === apiPath : r.path.test(apiPath))),
    );
    if (fault !== undefined && (fault.skip ?? 0) > 0) {
      fault.skip = (fault.skip ?? 0) - 1;
      // Let through: this request does not count against `times` either.
      if (fault.times !== undefined) fault.times++;
    } else if (fault !== undefined) return { headers, ...error(fault) };
    let body: unknown;
    if (method === 'POST' || method === 'PUT') {
      try {
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    return { headers, ...route(method, apiPath, query, body) };
  }

  return fakeHttpHandler({ now: () => model.now(), answer, calls, onAnswer });
}
