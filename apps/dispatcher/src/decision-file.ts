import { closeSync, existsSync, fstatSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';

export interface DecisionFileOptions {
  /** Rotate before a line would take the file past this many bytes. */
  readonly maxBytes: number;
  /** Rotated files kept: `path.1` (newest) … `path.N`; older ones are deleted. */
  readonly keep: number;
}

export interface DecisionFile {
  /** Appends one line; throws when the file cannot be written (the decision log logs it). */
  write(line: string): void;
  close(): void;
}

/**
 * The decision log as JSON lines, rotated by size: `decisions.jsonl` → `decisions.jsonl.1` → …
 *
 * Writes are synchronous appends to an fd (a line is a few hundred bytes into the page cache, no
 * fsync): a failed write (disk full) throws to the caller and the next write tries again, so the
 * file recovers by itself once space is back. A write stream would instead stay broken after its
 * first error until a restart.
 */
export function openDecisionFile(path: string, options: DecisionFileOptions): DecisionFile {
  let fd: number | undefined;
  let size = 0;

  function ensureOpen(): number {
    if (fd === undefined) {
      fd = openSync(path, 'a', 0o640);
      size = fstatSync(fd).size;
    }
    return fd;
  }

  function rotate(): void {
    if (fd !== undefined) closeSync(fd);
    fd = undefined;
    rmSync(`${path}.${options.keep}`, { force: true });
    for (let i = options.keep - 1; i >= 1; i--) {
      if (existsSync(`${path}.${i}`)) renameSync(`${path}.${i}`, `${path}.${i + 1}`);
    }
    renameSync(path, `${path}.1`);
  }

  ensureOpen();
  return {
    write(line) {
      const bytes = Buffer.from(line);
      ensureOpen();
      if (size > 0 && size + bytes.length > options.maxBytes) rotate();
      const handle = ensureOpen();
      writeSync(handle, bytes);
      size += bytes.length;
    },
    close() {
      if (fd !== undefined) closeSync(fd);
      fd = undefined;
    },
  };
}
