import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { hasTool } from './tools.js';

const run = promisify(execFile);
const dir = fileURLToPath(new URL('../../deploy/prometheus/', import.meta.url));
const inCi = process.env.FORGEJO_FLEET_CI === '1';
const present = hasTool('promtool');

describe('deploy/prometheus', () => {
  // CI installs promtool (.ci/run); there a missing one is a failure, never a silent skip.
  it.runIf(inCi)('has promtool in CI', () => {
    expect(present, 'promtool not on PATH: .ci/run installs the Debian prometheus package').toBe(true);
  });

  describe.skipIf(!present)(
    `promtool${present ? '' : ' (skipped: promtool not installed; apt-get install prometheus)'}`,
    () => {
      it('accepts alerts.yml (promtool check rules)', async () => {
        const { stdout } = await run('promtool', ['check', 'rules', 'alerts.yml'], { cwd: dir });
        expect(stdout).toMatch(/SUCCESS: \d+ rules found/);
      });

      it('passes the alert unit tests (promtool test rules alerts.test.yml)', async () => {
        const { stdout } = await run('promtool', ['test', 'rules', 'alerts.test.yml'], { cwd: dir });
        expect(stdout).toContain('SUCCESS');
      });
    },
  );
});
