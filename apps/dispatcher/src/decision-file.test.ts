import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openDecisionFile } from './decision-file.js';

let dir: string;
let path: string;

beforeEach(() => {
  dir = mkdtempSync(join(tmpdir(), 'fleet-decisions-'));
  path = join(dir, 'decisions.jsonl');
});

afterEach(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** A 10-byte line: `#n` padded. */
function line(n: number): string {
  return `${`#${n}`.padEnd(9, '.')}\n`;
}

function read(file: string): string {
  return existsSync(file) ? readFileSync(file, 'utf8') : '(none)';
}

describe('the decision log file', () => {
  it('rotates before a line would pass max bytes, keeping `keep` files, newest first', () => {
    const file = openDecisionFile(path, { maxBytes: 30, keep: 2 });

    for (let n = 1; n <= 10; n++) file.write(line(n));
    file.close();

    expect(read(path)).toBe(line(10));
    expect(read(`${path}.1`)).toBe(line(7) + line(8) + line(9));
    expect(read(`${path}.2`)).toBe(line(4) + line(5) + line(6));
    expect(read(`${path}.3`)).toBe('(none)');
  });

  it('counts what the file already holds after a restart', () => {
    writeFileSync(path, line(1) + line(2));
    const file = openDecisionFile(path, { maxBytes: 30, keep: 5 });

    file.write(line(3));
    file.write(line(4));
    file.close();

    expect(read(path)).toBe(line(4));
    expect(read(`${path}.1`)).toBe(line(1) + line(2) + line(3));
  });

  it('writes a line longer than max bytes alone into its own file', () => {
    const file = openDecisionFile(path, { maxBytes: 5, keep: 1 });

    file.write(line(1));
    file.write(line(2));
    file.close();

    expect(read(path)).toBe(line(2));
    expect(read(`${path}.1`)).toBe(line(1));
  });

  it('throws when a write fails, and writes again without a restart once the disk is back', () => {
    const file = openDecisionFile(path, { maxBytes: 15, keep: 1 });
    file.write(line(1));
    rmSync(dir, { recursive: true, force: true }); // the disk goes away

    expect(() => file.write(line(2))).toThrow(/ENOENT/);
    mkdirSync(dir); // it is back
    file.write(line(3));
    file.close();

    expect(read(path)).toBe(line(3));
  });
});
