import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { processRunning } from './process-running.js';

describe('processRunning', () => {
  it('is true for this process', () => {
    expect(processRunning(process.pid)).toBe(true);
  });

  it('is false for a pid that does not exist', () => {
    // Above the kernel's pid_max on every Linux (4,194,304 at most).
    expect(processRunning(9_999_999)).toBe(false);
  });

  it('is false for a zombie, whose stat says Z', () => {
    const stat = `${process.pid} (node (x) y) Z 1 0 0`;
    expect(processRunning(process.pid, () => stat)).toBe(false);
  });

  it('is true when the stat says running or sleeping, or cannot be read', () => {
    expect(processRunning(process.pid, () => `${process.pid} (sh) S 1 0 0`)).toBe(true);
    expect(processRunning(process.pid, () => undefined)).toBe(true);
  });

  it('is false for a child that has exited', async () => {
    const child = spawn('sh', ['-c', 'exit 0'], { stdio: 'ignore' });
    const pid = child.pid as number;
    await new Promise((resolve) => child.once('exit', resolve));
    expect(processRunning(pid)).toBe(false);
  });
});
