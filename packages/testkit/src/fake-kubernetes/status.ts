import type { FakeKubeResource } from './types.js';

/** What the API server knows of a resource, for paths, answers and messages. */
export interface ResourceInfo {
  readonly resource: FakeKubeResource;
  readonly kind: string;
  readonly listKind: string;
  readonly apiVersion: string;
  readonly group: string;
}

export const RESOURCES: Readonly<Record<FakeKubeResource, ResourceInfo>> = {
  pods: { resource: 'pods', kind: 'Pod', listKind: 'PodList', apiVersion: 'v1', group: '' },
  secrets: { resource: 'secrets', kind: 'Secret', listKind: 'SecretList', apiVersion: 'v1', group: '' },
  virtualmachineinstances: {
    resource: 'virtualmachineinstances',
    kind: 'VirtualMachineInstance',
    listKind: 'VirtualMachineInstanceList',
    apiVersion: 'kubevirt.io/v1',
    group: 'kubevirt.io',
  },
};

/** `pods`, `virtualmachineinstances.kubevirt.io`: how apimachinery names a resource in messages. */
export function qualified(info: ResourceInfo): string {
  return info.group === '' ? info.resource : `${info.resource}.${info.group}`;
}

/** One field error of a 422 (am `api/errors` `NewInvalid`). */
export interface Cause {
  readonly reason:
    | 'FieldValueInvalid'
    | 'FieldValueRequired'
    | 'FieldValueTooLong'
    | 'FieldValueNotSupported'
    | 'FieldValueDuplicate';
  readonly field: string;
  /** Without the field: `Invalid value: "x": …`. */
  readonly message: string;
}

/** One answer of the fake: a JSON body, a plain text body, or a dropped connection. */
export interface Answer {
  readonly status: number;
  readonly body?: unknown;
  readonly text?: string;
  readonly headers?: Readonly<Record<string, string>>;
  readonly drop?: boolean;
}

interface Details {
  readonly name?: string;
  readonly group?: string;
  readonly kind?: string;
  readonly uid?: string;
  readonly causes?: readonly Cause[];
  readonly retryAfterSeconds?: number;
}

/** A `Status` answer (am `apis/meta/v1/types.go`); empty detail fields are left out as Go's omitempty does. */
export function failure(
  code: number,
  reason: string,
  message: string,
  details?: Details,
  metadata: Record<string, string> = {},
): Answer {
  const cleaned = Object.fromEntries(
    Object.entries(details ?? {}).filter(([, v]) => v !== undefined && v !== ''),
  );
  const retry = details?.retryAfterSeconds;
  return {
    status: code,
    ...(retry === undefined ? {} : { headers: { 'Retry-After': String(retry) } }),
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata,
      status: 'Failure',
      message,
      reason,
      ...(details === undefined ? {} : { details: cleaned }),
      code,
    },
  };
}

export function success(info: ResourceInfo, name: string, uid: string): Answer {
  return {
    status: 200,
    body: {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name, ...(info.group === '' ? {} : { group: info.group }), kind: info.resource, uid },
    },
  };
}

const detailsOf = (info: ResourceInfo, name: string): Details => ({
  name,
  group: info.group,
  kind: info.resource,
});

export function notFound(info: ResourceInfo, name: string): Answer {
  return failure(404, 'NotFound', `${qualified(info)} "${name}" not found`, detailsOf(info, name));
}

export function namespaceNotFound(namespace: string): Answer {
  return failure(404, 'NotFound', `namespaces "${namespace}" not found`, {
    name: namespace,
    kind: 'namespaces',
  });
}

export function alreadyExists(info: ResourceInfo, name: string): Answer {
  return failure(409, 'AlreadyExists', `${qualified(info)} "${name}" already exists`, detailsOf(info, name));
}

export function conflict(info: ResourceInfo, name: string, why: string): Answer {
  return failure(
    409,
    'Conflict',
    `Operation cannot be fulfilled on ${qualified(info)} "${name}": ${why}`,
    detailsOf(info, name),
  );
}

/** 422 Invalid: `Pod "x" is invalid: [a, b]` (brackets only for several causes), with the causes. */
export function invalid(info: ResourceInfo, name: string, causes: readonly Cause[]): Answer {
  const parts = causes.map((c) => `${c.field}: ${c.message}`);
  const list = parts.length === 1 ? parts[0] : `[${parts.join(', ')}]`;
  const kind = info.group === '' ? info.kind : `${info.kind}.${info.group}`;
  return failure(422, 'Invalid', `${kind} "${name}" is invalid: ${list}`, {
    name,
    group: info.group,
    kind: info.kind,
    causes,
  });
}

/** 403 Forbidden: `pods "x" is forbidden: …`, or `pods is forbidden: …` without a name (a list). */
export function forbidden(info: ResourceInfo, name: string | undefined, why: string): Answer {
  const subject = name === undefined ? qualified(info) : `${qualified(info)} "${name}"`;
  return failure(403, 'Forbidden', `${subject} is forbidden: ${why}`, {
    ...(name === undefined ? {} : { name }),
    group: info.group,
    kind: info.resource,
  });
}

export function badRequest(message: string): Answer {
  return failure(400, 'BadRequest', message);
}

export function unauthorized(): Answer {
  return failure(401, 'Unauthorized', 'Unauthorized');
}

export const EXPIRED_MESSAGE =
  'The provided continue parameter is too old to display a consistent list result. You can start a new ' +
  'list without the continue parameter, or use the continue token in this response to retrieve the ' +
  'remainder of the results. Continuing with the provided token results in an inconsistent list - ' +
  'objects that were created, modified, or deleted between the time the first chunk was returned and ' +
  'now may show up in the list.';

/** 410 Expired with a fresh token in `metadata.continue` that resumes from a newer snapshot. */
export function expired(freshContinue: string): Answer {
  return failure(410, 'Expired', EXPIRED_MESSAGE, undefined, { continue: freshContinue });
}

export const TOO_MANY_REQUESTS = 'Too many requests, please try again later.';
