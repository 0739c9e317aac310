import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * `../shared/specs` beside the repository root: where the API documents live, on a developer's machine
 * and in CI alike (they are not copied into the repository).
 */
export const SPECS_DIR = fileURLToPath(new URL('../../../../../shared/specs/', import.meta.url));

export const HCLOUD_SPEC = 'hcloud-openapi.json';
export const FORGEJO_SPEC = 'forgejo-swagger.v1.json';
export const KUBERNETES_PODS_SPEC = 'kubernetes-core-v1-pods.openapi.json';
export const KUBEVIRT_VMI_SPEC = 'kubevirt-vmi.openapi.json';

export class SpecMissingError extends Error {
  override readonly name = 'SpecMissingError';
}

/**
 * Reads one API document. A missing file is an error, never a skip: the spec-validation tests are what
 * keeps the fakes honest, so they must not pass silently where the specs are absent.
 */
export function loadSpec(file: string, dir = SPECS_DIR): unknown {
  const path = join(dir, file);
  if (!existsSync(path)) {
    throw new SpecMissingError(
      `API spec ${path} not found: the fakes' spec-validation tests need ../shared/specs/${file} beside ` +
        'the repository root (the shared folder is laid there for every session and CI run)',
    );
  }
  return JSON.parse(readFileSync(path, 'utf8')) as unknown;
}
