import { readFileSync } from 'node:fs';

/**
 * Whether a process is running, not merely present. A detached process whose parent exited is
 * reparented to PID 1, and where PID 1 does not reap its children (seen on CI machines whose init
 * is not a real init), a dead one stays a zombie that `kill(pid, 0)` still finds.
 */
export function processRunning(
  pid: number,
  readStat: (pid: number) => string | undefined = procStat,
): boolean {
  try {
    process.kill(pid, 0);
  } catch (error) {
    // EPERM: it exists, owned by someone else, so it is not a zombie we could tell apart.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = readStat(pid);
  if (stat === undefined) return true;
  // The state letter follows "(comm) ", and comm may itself hold spaces or parentheses.
  const close = stat.lastIndexOf(')');
  return close < 0 || stat.charAt(close + 2) !== 'Z';
}

function procStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // No /proc (macOS) or the process ended between the two looks: trust kill(pid, 0).
    return undefined;
  }
}
