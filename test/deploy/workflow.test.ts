import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';

const file = fileURLToPath(new URL('../../.forgejo/workflows/ci.yml', import.meta.url));

interface Step {
  uses?: string;
  run?: string;
  env?: Record<string, string>;
}
interface Workflow {
  on: {
    push?: unknown;
    pull_request?: unknown;
    workflow_dispatch: { inputs: Record<string, { type: string; default: unknown; description: string }> };
  };
  jobs: Record<string, { if?: string; 'runs-on': string; steps: Step[] }>;
}

const workflow = parse(readFileSync(file, 'utf8'), { strict: true, uniqueKeys: true }) as Workflow;

describe('.forgejo/workflows/ci.yml', () => {
  it('runs on push and pull_request', () => {
    expect(Object.keys(workflow.on)).toEqual(
      expect.arrayContaining(['push', 'pull_request', 'workflow_dispatch']),
    );
  });

  it.each([
    ['live_smoke', 'boolean', false],
    ['dispatcher_url', 'string', ''],
    ['smoke_dispatch', 'boolean', false],
  ])('has the workflow_dispatch input %s (%s, default %j)', (name, type, fallback) => {
    const input = workflow.on.workflow_dispatch.inputs[name];

    expect(input?.type).toBe(type);
    expect(input?.default).toBe(fallback);
    expect(input?.description).not.toBe('');
  });

  it('lints, type-checks, tests and runs the local smoke in the check job', () => {
    const runs = workflow.jobs.check?.steps.map((s) => s.run ?? '').join('\n');

    for (const command of [
      'npm ci',
      'npm run lint',
      'npm run typecheck',
      'npm test',
      'scripts/smoke-local.sh',
    ]) {
      expect(runs).toContain(command);
    }
  });

  it('has a live_smoke job, only on a dispatch with live_smoke ticked, running runtime-http-smoke.sh with repository secrets', () => {
    const job = workflow.jobs.live_smoke;
    const smoke = job?.steps.find((s) => s.run?.includes('scripts/runtime-http-smoke.sh'));

    expect(job?.if).toContain('inputs.live_smoke');
    expect(job?.if).toContain("github.event_name == 'workflow_dispatch'");
    expect(smoke?.env?.DISPATCHER_URL).toContain('inputs.dispatcher_url');
    expect(Object.values(smoke?.env ?? {}).join(' ')).toContain('secrets.DISPATCHER_TOKEN');
    // The token reaches the script as a file, never on a command line.
    expect(smoke?.run).toContain('DISPATCHER_TOKEN_FILE=');
  });
});
