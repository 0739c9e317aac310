import { Writable } from 'node:stream';
import { parseDispatcherConfig } from '@forgejo-fleet/config';
import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';
import { warnAllowMetadata } from './metadata-warning.js';

function config(runner: string, routes: string) {
  return parseDispatcherConfig(
    `
fleet_id: meta
forgejo: { api_url: http://127.0.0.1:3000, instance_url: https://git.example.com, token_env: FT }
runner: ${runner}
providers:
  cloud: { kind: shell, command: [/bin/false] }
routes:
${routes}
scopes:
  org:acme: {}
clients:
  - { name: ci, token_env: CT, scopes: ['*'] }
`,
    { file: 'meta.yaml', env: { FT: 'forgejo-token', CT: 'client-token-0123456789' } },
  );
}

function warnings(runner: string, routes: string): Array<{ level: number; route: string; msg: string }> {
  const lines: string[] = [];
  const log = createLogger(
    'info',
    new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    }),
  );
  warnAllowMetadata(config(runner, routes), log);
  return lines.map((line) => JSON.parse(line));
}

const ROUTES = `
  - { name: small, labels: [small], providers: [cloud] }
  - { name: big, labels: [big], providers: [cloud], runner: { allow_metadata: false } }
  - { name: gpu, labels: [gpu], providers: [cloud], runner: { allow_metadata: true } }`;

describe('warnAllowMetadata', () => {
  it('warns once per route whose jobs may reach the metadata service, route setting first', () => {
    const lines = warnings('{ allow_metadata: true }', ROUTES);

    expect(lines.map((line) => [line.level, line.route])).toEqual([
      [40, 'small'],
      [40, 'gpu'],
    ]);
    expect(lines[0]?.msg).toBe(
      'runner.allow_metadata: jobs on this route can reach the cloud metadata service and any credentials it serves',
    );
  });

  it('says nothing when no route allows it', () => {
    expect(warnings('{}', ROUTES.replace('allow_metadata: true', 'allow_metadata: false'))).toEqual([]);
  });
});
