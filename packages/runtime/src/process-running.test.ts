import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { type ProcessProbe, processRunning } from './process-running.js';

function probe(stat: string | undefined, signalError?: string): ProcessProbe {
  return {
    signal: () => {
      if (signalError !== undefined) throw Object.assign(new Error(signalError), { code: signalError });
    },
    stat: () => stat,
  };
}

describe('processRunning', () => {
  it('is true for this process', () => {
    expect(processRunning(process.pid)).toBe(true);
  });

  it('is false for a pid that does not exist', () => {
    // Above the kernel's pid_max on every Linux (4,194,304 at most).
    expect(processRunning(9_999_999)).toBe(false);
  });

  it('is false for a child that has exited', async () => {
    const child = spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' });
    const pid = child.pid as number;
    await new Promise((resolve) => child.once('exit', resolve));
    expect(processRunning(pid)).toBe(false);
  });

  it('is false for a zombie, whose stat says Z after the command name', () => {
    expect(processRunning(7, probe('7 (node (x) y) Z 1 0 0'))).toBe(false);
  });

  it('is true when the stat says running or sleeping, or cannot be read', () => {
    expect(processRunning(7, probe('7 (sh) S 1 0 0'))).toBe(true);
    expect(processRunning(7, probe(undefined))).toBe(true);
  });

  it("looks at the stat of another user's process (EPERM) and is false for ESRCH", () => {
    expect(processRunning(7, probe('7 (sshd) S 1 0 0', 'EPERM'))).toBe(true);
    expect(processRunning(7, probe('7 (sshd) Z 1 0 0', 'EPERM'))).toBe(false);
    expect(processRunning(7, probe('7 (sshd) S 1 0 0', 'ESRCH'))).toBe(false);
  });
});
