import { execFileSync } from 'node:child_process';

/** The tools of `names` that are not on PATH; deploy tests skip, naming them, when one is missing. */
export function missingTools(names: readonly string[]): string[] {
  return names.filter((name) => !hasTool(name));
}

export function hasTool(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$1"`, 'sh', name], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** A reason for `describe.skipIf`/`it.skipIf` names: empty when nothing is missing. */
export function skipNote(missing: readonly string[], install: string): string {
  return missing.length === 0 ? '' : ` (skipped: ${missing.join(', ')} not installed; ${install})`;
}
