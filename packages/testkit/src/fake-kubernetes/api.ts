import { LabelSelectorError, parseLabelSelector } from '../fake-hetzner/label-selector.js';
import type { Cluster, Propagation } from './cluster.js';
import { podObject, secretData, secretObject, vmiObject } from './objects.js';
import { BadContinueError, createSnapshots, decodeContinue, encodeContinue, readPage } from './paging.js';
import {
  type Answer,
  alreadyExists,
  badRequest,
  conflict,
  expired,
  failure,
  invalid,
  namespaceNotFound,
  notFound,
  type ResourceInfo,
  success,
} from './status.js';
import { kubeTime } from './store.js';
import type { KubeObject } from './types.js';
import {
  isStringMap,
  metadataCauses,
  podSpecCauses,
  secretDataCauses,
  vmiAdmissionCauses,
  vmiSchemaCauses,
} from './validate.js';

type Json = Record<string, unknown>;

const VMI_WEBHOOK = 'virtualmachineinstances-create-validator.kubevirt.io';
export const UNKNOWN_FORMAT =
  'the body of the request was in an unknown format - accepted media types include: application/json';
const PROPAGATIONS: readonly Propagation[] = ['Foreground', 'Background', 'Orphan'];

/** `dryRun=All` validates and answers without storing; any other value is refused (apiserver's `DryRun`). */
function dryRun(query: URLSearchParams): boolean | Answer {
  const values = query.getAll('dryRun');
  if (values.length === 0) return false;
  const bad = values.find((v) => v !== 'All');
  return bad === undefined ? true : badRequest(`Invalid dry run value: ${bad}`);
}

function intParam(query: URLSearchParams, name: string): number | undefined | Answer {
  const raw = query.get(name);
  if (raw === null || raw === '') return undefined;
  return /^-?\d+$/.test(raw) ? Number(raw) : badRequest(`invalid value for ${name}: ${JSON.stringify(raw)}`);
}

/** Built-in lists leave `kind`/`apiVersion` out of their items; custom resources keep them. */
function listItem(info: ResourceInfo, o: KubeObject): Json {
  if (info.group !== '') return o;
  const { kind: _kind, apiVersion: _apiVersion, ...rest } = o;
  return rest;
}

/** The four verbs on pods, secrets and VMIs, as the API server answers them. */
export function createApi(
  cluster: Cluster,
  options: { continueTokenTtlSeconds?: number; maxPageItems?: number },
) {
  const { store } = cluster;
  const snapshots = createSnapshots(cluster.now, (options.continueTokenTtlSeconds ?? 300) * 1000);

  function finalName(metadata: Json): string {
    if (typeof metadata.name === 'string' && metadata.name !== '') return metadata.name;
    if (typeof metadata.generateName === 'string' && metadata.generateName !== '')
      return `${metadata.generateName.slice(0, 58)}${cluster.nameSuffix()}`;
    return '';
  }

  function create(info: ResourceInfo, namespace: string, body: unknown, query: URLSearchParams): Answer {
    const dry = dryRun(query);
    if (typeof dry !== 'boolean') return dry;
    if (!isStringMap(body))
      return badRequest(`the object provided is unrecognized (must be of type ${info.kind})`);
    if (body.kind !== undefined && body.kind !== info.kind)
      return badRequest(
        `the object provided is unrecognized (must be of type ${info.kind}): kind ${JSON.stringify(body.kind)}`,
      );
    const metadata = isStringMap(body.metadata) ? body.metadata : {};
    if (metadata.namespace !== undefined && metadata.namespace !== namespace)
      return badRequest(
        'the namespace of the provided object does not match the namespace sent on the request',
      );
    const name = finalName(metadata);
    // NamespaceLifecycle admission comes before validation.
    if (!cluster.namespaces.has(namespace)) return namespaceNotFound(namespace);

    let data: Record<string, Buffer> = {};
    if (info.resource === 'secrets') {
      const decoded = secretData(body);
      if (typeof decoded === 'string')
        return badRequest(`Secret in version "v1" cannot be handled as a Secret: ${decoded}`);
      data = decoded;
    }
    const causes = [
      ...metadataCauses(metadata, name),
      ...(info.resource === 'pods' ? podSpecCauses(body.spec) : []),
      ...(info.resource === 'secrets' ? secretDataCauses(data) : []),
      ...(info.resource === 'virtualmachineinstances' ? vmiSchemaCauses(body.spec) : []),
    ];
    if (causes.length > 0) return invalid(info, name, causes);
    if (info.resource === 'virtualmachineinstances') {
      const denied = vmiAdmissionCauses(body.spec as Json);
      if (denied.length > 0) {
        const detail = denied.map((c) => `${c.field}: ${c.message}`).join(', ');
        return failure(422, 'Invalid', `admission webhook "${VMI_WEBHOOK}" denied the request: ${detail}`, {
          causes: denied,
        });
      }
    }
    // ResourceQuota admission comes before storage: a replayed create at quota is refused, not 409.
    if (info.resource === 'pods') {
      const refusal = cluster.quotaRefusal(namespace, name);
      if (refusal !== undefined) return failure(403, 'Forbidden', refusal, { name, kind: 'pods' });
    }
    if (store.get(info.resource, namespace, name) !== undefined) return alreadyExists(info, name);

    const meta = {
      ...metadata,
      name,
      namespace,
      uid: cluster.newUid(),
      resourceVersion: '',
      creationTimestamp: kubeTime(cluster.now()),
    };
    const object =
      info.resource === 'pods'
        ? podObject(body, meta, cluster.nameSuffix)
        : info.resource === 'secrets'
          ? secretObject(body, meta, data)
          : vmiObject(body, meta);
    if (dry) return { status: 201, body: object };
    return { status: 201, body: structuredClone(store.put(info.resource, object)) };
  }

  function get(info: ResourceInfo, namespace: string, name: string): Answer {
    const found = store.get(info.resource, namespace, name);
    return found === undefined ? notFound(info, name) : { status: 200, body: structuredClone(found) };
  }

  function list(info: ResourceInfo, namespace: string, query: URLSearchParams): Answer {
    let match: (labels: Readonly<Record<string, string>>) => boolean = () => true;
    const selector = query.get('labelSelector');
    if (selector !== null && selector !== '') {
      try {
        match = parseLabelSelector(selector);
      } catch (e) {
        if (!(e instanceof LabelSelectorError)) throw e;
        return badRequest(`unable to parse requirement: ${e.message}`);
      }
    }
    const limit = intParam(query, 'limit');
    if (typeof limit === 'object') return limit;
    const cap =
      limit === undefined || limit <= 0 ? undefined : Math.min(limit, options.maxPageItems ?? limit);
    const collection = `${info.resource}/${namespace}`;
    let rv = Number(store.revision());
    let items = store.list(info.resource, namespace);
    let start: string | undefined;
    const token = query.get('continue');
    if (token !== null && token !== '') {
      let decoded: { rv: number; start: string };
      try {
        decoded = decodeContinue(token);
      } catch (e) {
        if (!(e instanceof BadContinueError)) throw e;
        return badRequest(e.message);
      }
      start = decoded.start;
      const snapshot = snapshots.find(collection, decoded.rv);
      if (snapshot === undefined) {
        snapshots.take(collection, rv, items);
        return expired(encodeContinue(rv, start));
      }
      rv = decoded.rv;
      items = [...snapshot];
    }
    const page = readPage(items, (o) => match(o.metadata.labels ?? {}), start, cap);
    const metadata: Json = { resourceVersion: String(rv) };
    if (page.resumeAfter !== undefined) {
      snapshots.take(collection, rv, items);
      metadata.continue = encodeContinue(rv, `${page.resumeAfter}\u0000`);
      // With a label selector the server cannot count what is left (ListMeta).
      if (selector === null || selector === '') metadata.remainingItemCount = page.remaining;
    }
    return {
      status: 200,
      body: {
        kind: info.listKind,
        apiVersion: info.apiVersion,
        metadata,
        items: page.items.map((o) => listItem(info, structuredClone(o))),
      },
    };
  }

  function deleteOptions(query: URLSearchParams, text: string): { options: Json } | { error: Answer } {
    const options: Json = {};
    const grace = intParam(query, 'gracePeriodSeconds');
    if (typeof grace === 'object') return { error: grace };
    if (grace !== undefined) options.gracePeriodSeconds = grace;
    const policy = query.get('propagationPolicy');
    if (policy !== null) options.propagationPolicy = policy;
    const orphan = query.get('orphanDependents');
    if (orphan !== null) options.orphanDependents = orphan === 'true';
    if (text.trim() === '') return { options };
    let body: unknown;
    try {
      body = JSON.parse(text);
    } catch {
      return { error: badRequest(UNKNOWN_FORMAT) };
    }
    if (!isStringMap(body)) return { error: badRequest('DeleteOptions must be an object') };
    return { options: { ...options, ...body } };
  }

  function remove(
    info: ResourceInfo,
    namespace: string,
    name: string,
    query: URLSearchParams,
    text: string,
  ): Answer {
    const dry = dryRun(query);
    if (typeof dry !== 'boolean') return dry;
    const parsed = deleteOptions(query, text);
    if ('error' in parsed) return parsed.error;
    const opts = parsed.options;
    const found = store.get(info.resource, namespace, name);
    if (found === undefined) return notFound(info, name);
    const policy =
      (opts.propagationPolicy as Propagation | undefined) ??
      (opts.orphanDependents === true ? 'Orphan' : 'Background');
    if (!PROPAGATIONS.includes(policy)) {
      return failure(
        422,
        'Invalid',
        `DeleteOptions.meta.k8s.io "" is invalid: propagationPolicy: Unsupported value: ${JSON.stringify(policy)}: supported values: "Foreground", "Background", "Orphan"`,
        { group: 'meta.k8s.io', kind: 'DeleteOptions' },
      );
    }
    const grace = opts.gracePeriodSeconds;
    if (grace !== undefined && (typeof grace !== 'number' || !Number.isInteger(grace)))
      return badRequest('gracePeriodSeconds must be an integer');
    const pre = isStringMap(opts.preconditions) ? opts.preconditions : {};
    const { uid, resourceVersion } = found.metadata;
    if (typeof pre.uid === 'string' && pre.uid !== uid)
      return conflict(
        info,
        name,
        `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${uid}`,
      );
    if (typeof pre.resourceVersion === 'string' && pre.resourceVersion !== resourceVersion) {
      return conflict(
        info,
        name,
        `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${resourceVersion}`,
      );
    }
    if (dry)
      return info.resource === 'pods'
        ? { status: 200, body: structuredClone(found) }
        : success(info, name, uid);
    // Negative grace counts as 1, as the pod registry does.
    const graceSeconds = grace === undefined ? undefined : Math.max(grace as number, grace === 0 ? 0 : 1);
    cluster.deleteObject(info.resource, found, { graceSeconds, propagation: policy });
    if (info.resource !== 'pods') return success(info, name, uid);
    // The pod, as it terminates, or as it was when it went at once (grace 0).
    const after = store.get('pods', namespace, name);
    if (after !== undefined && after.metadata.uid === uid)
      return { status: 200, body: structuredClone(after) };
    const gone = structuredClone(found);
    gone.metadata.deletionTimestamp ??= kubeTime(cluster.now());
    gone.metadata.deletionGracePeriodSeconds ??= 0;
    return { status: 200, body: gone };
  }

  return { create, get, list, remove, expireContinueTokens: () => snapshots.expireAll() };
}

export type Api = ReturnType<typeof createApi>;
