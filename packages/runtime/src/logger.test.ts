import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.js';

function capture(options?: Parameters<typeof createLogger>[2]) {
  const lines: Record<string, unknown>[] = [];
  const log = createLogger('info', { write: (line: string) => lines.push(JSON.parse(line)) }, options);
  return { log, lines };
}

describe('createLogger', () => {
  it.each([
    ['token', { token: 'pat-123' }],
    ['nested token', { forgejo: { token: 'pat-123' } }],
    ['secret', { secret: 'whsec' }],
    ['authorization header', { headers: { authorization: 'Bearer pat-123' } }],
    ['nested authorization header', { req: { headers: { authorization: 'Bearer pat-123' } } }],
    ['signature', { signature: 'sha256=abc' }],
    ['user-data', { userData: '#cloud-config token pat-123' }],
    ['user_data', { vm: { user_data: '#cloud-config token pat-123' } }],
  ])('blanks a %s', (_, fields) => {
    const { log, lines } = capture();
    log.info(fields, 'hello');
    expect(JSON.stringify(lines[0])).not.toMatch(/pat-123|whsec|sha256=abc/);
    expect(JSON.stringify(lines[0])).toContain('[redacted]');
  });

  it('blanks the extra paths too, names the service, and keeps other fields', () => {
    const { log, lines } = capture({ service: 'autoscaler', redact: ['body', '*.body'] });
    log.info({ body: '{"secret":1}', delivery: { body: 'x' }, scope: 'org:acme' }, 'webhook');
    expect(lines[0]).toMatchObject({
      service: 'autoscaler',
      body: '[redacted]',
      delivery: { body: '[redacted]' },
      scope: 'org:acme',
      msg: 'webhook',
    });
  });

  it('honours the level', () => {
    const lines: string[] = [];
    const log = createLogger('warn', { write: (line: string) => lines.push(line) });
    log.info('quiet');
    log.warn('loud');
    expect(lines).toHaveLength(1);
  });
});
