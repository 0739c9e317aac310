import type { Cause } from './status.js';

// The API server's object-meta and field rules (k8s.io/apimachinery `util/validation/validation.go`,
// `api/validation/objectmeta.go`; k/k `pkg/apis/core/validation/validation.go`), with their messages.

const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_KEY = /^[-._a-zA-Z0-9]+$/;

const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must " +
  "start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";
const LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and " +
  "end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is " +
  "'[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const NAME_PART_MSG =
  "name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an " +
  "alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is " +
  "'([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')";
const LABEL_VALUE_MSG =
  "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must " +
  "start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used " +
  "for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')";
const CONFIG_KEY_MSG =
  "a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or " +
  "'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')";

/** All annotations together (keys and values), am `TotalAnnotationSizeLimitB`. */
export const ANNOTATIONS_MAX_BYTES = 256 * 1024;
/** A Secret's data, k/k `MaxSecretSize`. */
export const SECRET_MAX_BYTES = 1024 * 1024;
/** KubeVirt's cap on inline cloud-init user-data (vmi-create-admitter.go). */
export const INLINE_USER_DATA_MAX_BYTES = 2048;

const quote = (value: unknown) => JSON.stringify(value);

function invalidValue(field: string, value: unknown, detail: string): Cause {
  return { reason: 'FieldValueInvalid', field, message: `Invalid value: ${quote(value)}: ${detail}` };
}

export function required(field: string, detail = ''): Cause {
  return {
    reason: 'FieldValueRequired',
    field,
    message: `Required value${detail === '' ? '' : `: ${detail}`}`,
  };
}

export function isDnsSubdomain(name: string): boolean {
  return name.length <= 253 && DNS1123_SUBDOMAIN.test(name);
}

export function isDnsLabel(name: string): boolean {
  return name.length <= 63 && DNS1123_LABEL.test(name);
}

function subdomainCauses(field: string, name: string): Cause[] {
  const causes: Cause[] = [];
  if (name.length > 253) causes.push(invalidValue(field, name, 'must be no more than 253 characters'));
  if (!DNS1123_SUBDOMAIN.test(name)) causes.push(invalidValue(field, name, SUBDOMAIN_MSG));
  return causes;
}

/** A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name part of ≤ 63. */
function qualifiedNameCauses(field: string, key: string): Cause[] {
  const parts = key.split('/');
  if (parts.length > 2) {
    return [
      invalidValue(
        field,
        key,
        "a qualified name must consist of alphanumeric characters, '-', '_' or '.', and must start and end " +
          "with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for " +
          "validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]') with an optional DNS subdomain prefix " +
          "and '/' (e.g. 'example.com/MyName')",
      ),
    ];
  }
  const [prefix, name] = parts.length === 2 ? [parts[0] ?? '', parts[1] ?? ''] : [undefined, key];
  const causes: Cause[] = [];
  if (prefix !== undefined) {
    if (prefix === '') causes.push(invalidValue(field, key, 'prefix part must be non-empty'));
    else if (!isDnsSubdomain(prefix)) causes.push(invalidValue(field, key, `prefix part ${SUBDOMAIN_MSG}`));
  }
  if (name === '') causes.push(invalidValue(field, key, 'name part must be non-empty'));
  else if (name.length > 63)
    causes.push(invalidValue(field, key, 'name part must be no more than 63 characters'));
  else if (!QUALIFIED_NAME.test(name)) causes.push(invalidValue(field, key, NAME_PART_MSG));
  return causes;
}

function isStringMap(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

function labelCauses(labels: unknown): Cause[] {
  if (labels === undefined) return [];
  if (!isStringMap(labels)) return [invalidValue('metadata.labels', labels, 'must be a map of strings')];
  const causes: Cause[] = [];
  for (const [key, value] of Object.entries(labels)) {
    causes.push(...qualifiedNameCauses('metadata.labels', key));
    if (typeof value !== 'string') causes.push(invalidValue('metadata.labels', value, 'must be a string'));
    else if (value.length > 63)
      causes.push(invalidValue('metadata.labels', value, 'must be no more than 63 characters'));
    else if (!LABEL_VALUE.test(value)) causes.push(invalidValue('metadata.labels', value, LABEL_VALUE_MSG));
  }
  return causes;
}

function annotationCauses(annotations: unknown): Cause[] {
  if (annotations === undefined) return [];
  if (!isStringMap(annotations))
    return [invalidValue('metadata.annotations', annotations, 'must be a map of strings')];
  const causes: Cause[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(annotations)) {
    causes.push(...qualifiedNameCauses('metadata.annotations', key.toLowerCase()));
    if (typeof value !== 'string')
      causes.push(invalidValue('metadata.annotations', value, 'must be a string'));
    total += Buffer.byteLength(key) + Buffer.byteLength(String(value));
  }
  if (total > ANNOTATIONS_MAX_BYTES) {
    causes.push({
      reason: 'FieldValueTooLong',
      field: 'metadata.annotations',
      message: `Too long: must have at most ${ANNOTATIONS_MAX_BYTES} bytes`,
    });
  }
  return causes;
}

/** am `ValidateOwnerReferences`: the four fields each, and at most one controller (fields are not indexed). */
function ownerReferenceCauses(refs: unknown): Cause[] {
  if (refs === undefined) return [];
  const field = 'metadata.ownerReferences';
  if (!Array.isArray(refs)) return [invalidValue(field, refs, 'must be a list')];
  const causes: Cause[] = [];
  let controller: string | undefined;
  for (const raw of refs) {
    const ref = isStringMap(raw) ? raw : {};
    const text = (key: string) => (typeof ref[key] === 'string' ? (ref[key] as string) : '');
    const version = text('apiVersion').split('/').at(-1) ?? '';
    if (version === '')
      causes.push(invalidValue(`${field}.apiVersion`, text('apiVersion'), 'version must not be empty'));
    if (text('kind') === '') causes.push(invalidValue(`${field}.kind`, '', 'kind must not be empty'));
    if (text('name') === '') causes.push(invalidValue(`${field}.name`, '', 'name must not be empty'));
    if (text('uid') === '') causes.push(invalidValue(`${field}.uid`, '', 'uid must not be empty'));
    if (ref.controller === true) {
      const current = `${text('kind')}/${text('name')}`;
      if (controller === undefined) controller = current;
      else
        causes.push(
          invalidValue(
            field,
            refs,
            `Only one reference can have Controller set to true. Found "true" in references for ${controller} and ${current}`,
          ),
        );
    }
  }
  return causes;
}

/** Object metadata as every create checks it; `name` is the final name (generateName already applied). */
export function metadataCauses(metadata: Record<string, unknown>, name: string): Cause[] {
  return [
    ...(name === ''
      ? [required('metadata.name', 'name or generateName is required')]
      : subdomainCauses('metadata.name', name)),
    ...labelCauses(metadata.labels),
    ...annotationCauses(metadata.annotations),
    ...ownerReferenceCauses(metadata.ownerReferences),
  ];
}

const RESTART_POLICIES = ['Always', 'OnFailure', 'Never'];

/** The parts of a PodSpec the fake checks: containers, restart policy, deadline, secret volumes, mounts. */
export function podSpecCauses(spec: unknown): Cause[] {
  if (!isStringMap(spec)) return [required('spec')];
  const causes: Cause[] = [];
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  const volumeNames = new Set<string>();
  volumes.forEach((raw, i) => {
    const volume = isStringMap(raw) ? raw : {};
    const name = typeof volume.name === 'string' ? volume.name : '';
    if (!isDnsLabel(name)) causes.push(invalidValue(`spec.volumes[${i}].name`, name, LABEL_MSG));
    else if (volumeNames.has(name))
      causes.push({
        reason: 'FieldValueDuplicate',
        field: `spec.volumes[${i}].name`,
        message: `Duplicate value: ${quote(name)}`,
      });
    volumeNames.add(name);
    const secret = isStringMap(volume.secret) ? volume.secret : undefined;
    const mode = secret?.defaultMode;
    if (
      mode !== undefined &&
      (typeof mode !== 'number' || !Number.isInteger(mode) || mode < 0 || mode > 0o777)
    ) {
      causes.push(
        invalidValue(
          `spec.volumes[${i}].secret.defaultMode`,
          mode,
          'must be a number between 0 and 0777 (octal), both inclusive',
        ),
      );
    }
  });
  const containers = Array.isArray(spec.containers) ? spec.containers : [];
  if (containers.length === 0) causes.push(required('spec.containers'));
  containers.forEach((raw, i) => {
    const container = isStringMap(raw) ? raw : {};
    const name = typeof container.name === 'string' ? container.name : '';
    if (name === '') causes.push(required(`spec.containers[${i}].name`));
    else if (!isDnsLabel(name)) causes.push(invalidValue(`spec.containers[${i}].name`, name, LABEL_MSG));
    if (typeof container.image !== 'string' || container.image.trim() === '')
      causes.push(required(`spec.containers[${i}].image`));
    const mounts = Array.isArray(container.volumeMounts) ? container.volumeMounts : [];
    mounts.forEach((m, j) => {
      const mount = isStringMap(m) ? m : {};
      const field = `spec.containers[${i}].volumeMounts[${j}]`;
      if (typeof mount.name !== 'string' || !volumeNames.has(mount.name))
        causes.push({
          reason: 'FieldValueInvalid',
          field: `${field}.name`,
          message: `Not found: ${quote(mount.name ?? '')}`,
        });
      if (typeof mount.mountPath !== 'string' || mount.mountPath === '')
        causes.push(required(`${field}.mountPath`));
    });
  });
  if (spec.restartPolicy !== undefined && !RESTART_POLICIES.includes(String(spec.restartPolicy))) {
    causes.push({
      reason: 'FieldValueNotSupported',
      field: 'spec.restartPolicy',
      message: `Unsupported value: ${quote(spec.restartPolicy)}: supported values: "Always", "OnFailure", "Never"`,
    });
  }
  const deadline = spec.activeDeadlineSeconds;
  if (
    deadline !== undefined &&
    (typeof deadline !== 'number' || !Number.isInteger(deadline) || deadline < 1)
  ) {
    causes.push(
      invalidValue('spec.activeDeadlineSeconds', deadline, 'must be between 1 and 2147483647, inclusive'),
    );
  }
  return causes;
}

/** Secret data keys and total size; `data` is already decoded. */
export function secretDataCauses(data: Readonly<Record<string, Buffer>>): Cause[] {
  const causes: Cause[] = [];
  let total = 0;
  for (const [key, value] of Object.entries(data)) {
    if (!CONFIG_KEY.test(key) || key === '.' || key === '..')
      causes.push(invalidValue(`data[${key}]`, key, CONFIG_KEY_MSG));
    total += value.length;
  }
  if (total > SECRET_MAX_BYTES) {
    causes.push({
      reason: 'FieldValueTooLong',
      field: 'data',
      message: `Too long: must have at most ${SECRET_MAX_BYTES} bytes`,
    });
  }
  return causes;
}

/** The CRD schema's required fields of a VMI. */
export function vmiSchemaCauses(spec: unknown): Cause[] {
  if (!isStringMap(spec)) return [required('spec')];
  return isStringMap(spec.domain) ? [] : [required('spec.domain')];
}

/** KubeVirt's create admitter on cloudInitNoCloud: one user-data source, inline data ≤ 2048 bytes. */
export function vmiAdmissionCauses(spec: Record<string, unknown>): Cause[] {
  const causes: Cause[] = [];
  const volumes = Array.isArray(spec.volumes) ? spec.volumes : [];
  volumes.forEach((raw, i) => {
    const source = isStringMap(raw) && isStringMap(raw.cloudInitNoCloud) ? raw.cloudInitNoCloud : undefined;
    if (source === undefined) return;
    const field = `spec.volumes[${i}].cloudInitNoCloud`;
    const sources = ['userData', 'userDataBase64', 'secretRef'].filter((k) => source[k] !== undefined);
    if (sources.length !== 1) {
      causes.push(invalidValue(field, sources, 'must have one and only one userdata source set'));
    }
    const inline =
      typeof source.userData === 'string'
        ? Buffer.byteLength(source.userData)
        : typeof source.userDataBase64 === 'string'
          ? Buffer.from(source.userDataBase64, 'base64').length
          : 0;
    if (inline > INLINE_USER_DATA_MAX_BYTES) {
      causes.push(
        invalidValue(
          field,
          inline,
          `userdata exceeds ${INLINE_USER_DATA_MAX_BYTES} bytes limit. Should use UserDataSecretRef for larger data`,
        ),
      );
    }
  });
  return causes;
}

export { isStringMap };
