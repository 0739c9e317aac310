import { readFileSync } from 'node:fs';

/** How processRunning looks at a process; replaced in tests. */
export interface ProcessProbe {
  /** `kill(pid, 0)`: throws ESRCH when no such process, EPERM when it belongs to someone else. */
  readonly signal: (pid: number) => void;
  /** `/proc/<pid>/stat`, or undefined where it cannot be read. */
  readonly stat: (pid: number) => string | undefined;
}

const SYSTEM_PROBE: ProcessProbe = { signal: (pid) => process.kill(pid, 0), stat: procStat };

/**
 * Whether a process is running, not merely present. A detached process whose parent exited is
 * reparented to PID 1, and where PID 1 does not reap its children (seen on CI machines whose init
 * is not a real init), a dead one stays a zombie that `kill(pid, 0)` still finds.
 */
export function processRunning(pid: number, probe: ProcessProbe = SYSTEM_PROBE): boolean {
  try {
    probe.signal(pid);
  } catch (error) {
    // EPERM: it exists, owned by someone else; its stat still tells a zombie.
    if ((error as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  const stat = probe.stat(pid);
  // The state letter follows "(comm) ", and comm may itself hold spaces or parentheses.
  return stat === undefined || stat.charAt(stat.lastIndexOf(')') + 2) !== 'Z';
}

function procStat(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    // No /proc (macOS) or the process ended between the two looks: trust kill(pid, 0).
    return undefined;
  }
}
