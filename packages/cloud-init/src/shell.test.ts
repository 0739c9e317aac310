import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shQuote } from './shell.js';

describe('shQuote', () => {
  it.each(['plain', '', "it's", "''", '$(reboot)', '`id`', 'a b\tc', 'line\nbreak', '\\', '"; rm -rf / #'])(
    'sh reads %j back unchanged',
    (value) => {
      const echoed = execFileSync('/bin/sh', ['-c', `printf %s ${shQuote(value)}`], { encoding: 'utf8' });

      expect(echoed).toBe(value);
    },
  );
});
