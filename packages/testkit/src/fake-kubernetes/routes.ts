import type { FakeAnswer } from '../fake-answer.js';
import { fakeHttpHandler } from '../fake-http.js';
import { type Api, UNKNOWN_FORMAT } from './api.js';
import type { Cluster } from './cluster.js';
import {
  type Answer,
  badRequest,
  failure,
  forbidden,
  RESOURCES,
  type ResourceInfo,
  TOO_MANY_REQUESTS,
  unauthorized,
} from './status.js';
import type { FakeKubeResource, FakeKubernetesCall, FakeKubeVerb, FaultRule } from './types.js';

const CORE = /^\/api\/v1\/namespaces\/([^/]+)\/(pods|secrets)(?:\/([^/]+))?$/;
const KUBEVIRT = /^\/apis\/kubevirt\.io\/v1\/namespaces\/([^/]+)\/(virtualmachineinstances)(?:\/([^/]+))?$/;
export const DEFAULT_USER = 'system:serviceaccount:default:forgejo-fleet';

export interface Faults {
  rules: FaultRule[];
  /** Creates whose answer is lost: the object is made, then the connection is reset. */
  loseCreates: number;
}

interface Target {
  readonly info: ResourceInfo;
  readonly namespace: string;
  readonly name: string | undefined;
  readonly verb: FakeKubeVerb | undefined;
}

function target(method: string, path: string): Target | undefined {
  const found = CORE.exec(path) ?? KUBEVIRT.exec(path);
  if (found === null) return undefined;
  const [, namespace = '', resource = '', rawName] = found;
  const name = rawName === undefined ? undefined : decodeURIComponent(rawName);
  const verbs: Record<string, FakeKubeVerb> =
    name === undefined ? { GET: 'list', POST: 'create' } : { GET: 'get', DELETE: 'delete' };
  return {
    info: RESOURCES[resource as FakeKubeResource],
    namespace: decodeURIComponent(namespace),
    name,
    verb: verbs[method],
  };
}

function takeRule(rules: FaultRule[], t: Target, verb: FakeKubeVerb): FaultRule | undefined {
  const rule = rules.find(
    (r) =>
      (r.times ?? Number.POSITIVE_INFINITY) > 0 &&
      (r.resource === undefined || r.resource === t.info.resource) &&
      (r.verb === undefined || r.verb === verb) &&
      (r.namespace === undefined || r.namespace === t.namespace) &&
      (r.name === undefined || r.name === t.name),
  );
  if (rule?.times !== undefined) rule.times--;
  return rule;
}

function faultAnswer(rule: FaultRule, t: Target, verb: FakeKubeVerb): Answer {
  switch (rule.kind) {
    case 'forbidden': {
      const group = t.info.group;
      return forbidden(
        t.info,
        t.name,
        `User "${rule.user ?? DEFAULT_USER}" cannot ${verb} resource "${t.info.resource}" in API group "${group}" in the namespace "${t.namespace}"`,
      );
    }
    case 'tooManyRequests': {
      const retry = rule.retryAfterSeconds ?? 1;
      if (rule.shape === 'text') {
        // The max-in-flight and APF filters answer with http.Error: plain text, no Status.
        return { status: 429, text: `${TOO_MANY_REQUESTS}\n`, headers: { 'Retry-After': String(retry) } };
      }
      return failure(429, 'TooManyRequests', `${TOO_MANY_REQUESTS}`, { retryAfterSeconds: retry });
    }
    case 'status':
      return failure(rule.code, rule.reason, rule.message ?? rule.reason, {
        ...(rule.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: rule.retryAfterSeconds }),
      });
    case 'drop':
      return { status: 0, drop: true };
  }
}

/** The request handler: bearer auth, fault injection, then the API; every request first lets time pass. */
export function createRoutes(params: {
  readonly cluster: Cluster;
  readonly api: Api;
  readonly token: string;
  readonly faults: Faults;
  readonly calls: FakeKubernetesCall[];
  readonly onAnswer?: ((answer: FakeAnswer) => void) | undefined;
}) {
  const { cluster, api, token, faults, calls, onAnswer } = params;

  function answer(
    method: string,
    path: string,
    query: URLSearchParams,
    authorization: string | undefined,
    text: string,
  ): Answer {
    if (authorization !== `Bearer ${token}`) return unauthorized();
    cluster.sync();
    if (path === '/version' && method === 'GET') {
      return {
        status: 200,
        body: { major: '1', minor: '36', gitVersion: 'v1.36.0-fake', platform: 'linux/amd64' },
      };
    }
    const t = target(method, path);
    if (t === undefined)
      return failure(404, 'NotFound', 'the server could not find the requested resource', {});
    if (t.verb === undefined)
      return failure(
        405,
        'MethodNotAllowed',
        'the server does not allow this method on the requested resource',
        {},
      );
    const rule = takeRule(faults.rules, t, t.verb);
    if (rule !== undefined) return faultAnswer(rule, t, t.verb);
    switch (t.verb) {
      case 'list':
        return api.list(t.info, t.namespace, query);
      case 'get':
        return api.get(t.info, t.namespace, t.name ?? '');
      case 'delete':
        return api.remove(t.info, t.namespace, t.name ?? '', query, text);
      case 'create': {
        let body: unknown;
        try {
          body = JSON.parse(text);
        } catch {
          return badRequest(UNKNOWN_FORMAT);
        }
        const created = api.create(t.info, t.namespace, body, query);
        if (created.status === 201 && faults.loseCreates > 0 && query.get('dryRun') === null) {
          faults.loseCreates--;
          return { status: 0, drop: true };
        }
        return created;
      }
    }
  }

  // What was written becomes due (a pod's secret arrived, a create over quota): settle it after each answer.
  return fakeHttpHandler({
    now: () => cluster.now(),
    answer,
    afterAnswer: () => cluster.sync(),
    calls,
    onAnswer,
  });
}
