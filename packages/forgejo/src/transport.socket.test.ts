import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Agent } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { createForgejoClient } from './client.js';
import { ForgejoNetworkError } from './errors.js';
import { parseScope } from './scope.js';

// The same client on real sockets: undici's real connect errors and a server that never answers.
const servers: Server[] = [];
const agents: Agent[] = [];

afterEach(async () => {
  for (const agent of agents.splice(0)) await agent.destroy();
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
});

async function listen(handler: RequestListener): Promise<string> {
  const server = createServer(handler);
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

function client(apiUrl: string, timeoutMs = 10_000) {
  const agent = new Agent();
  agents.push(agent);
  const sleeps: number[] = [];
  const forgejo = createForgejoClient({
    apiUrl,
    token: 'pat_socket_test',
    dispatcher: agent,
    timeoutMs,
    retry: { attempts: 3 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0,
  });
  return { forgejo, sleeps };
}

describe('on real sockets', () => {
  it('retries a POST whose connection was refused, then reports it', async () => {
    const url = await listen(() => undefined);
    const server = servers.pop();
    await new Promise((resolve) => server?.close(resolve));
    const { forgejo, sleeps } = client(url);

    const err = await forgejo
      .registerRunner(parseScope('org:acme'), { name: 'ff-1', ephemeral: true })
      .catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ForgejoNetworkError);
    expect((err as Error).message).toMatch(/^POST \/api\/v1\/orgs\/acme\/actions\/runners: .*ECONNREFUSED/);
    expect(sleeps).toHaveLength(2);
  });

  it('times out on a server that accepts and never answers', async () => {
    let requests = 0;
    const url = await listen(() => {
      requests++;
    });
    const { forgejo, sleeps } = client(url, 50);

    const err = await forgejo.listJobs(parseScope('instance')).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ForgejoNetworkError);
    expect((err as Error).message).toBe('GET /api/v1/admin/actions/runners/jobs: timed out after 50ms');
    expect(requests).toBe(3);
    expect(sleeps).toHaveLength(2);
  });

  it('times out while the body is still streaming', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
    });
    const { forgejo } = client(url, 50);

    await expect(forgejo.listJobs(parseScope('instance'))).rejects.toThrow('timed out after 50ms');
  });

  it("the caller's signal cuts a hung request at once, without a retry", async () => {
    let requests = 0;
    const url = await listen(() => {
      requests++;
    });
    const { forgejo, sleeps } = client(url, 10_000);
    const controller = new AbortController();
    const reason = new DOMException('shutting down', 'AbortError');

    const call = forgejo.listJobs(parseScope('instance'), { signal: controller.signal });
    await new Promise<void>((resolve) => {
      const wait = () => (requests > 0 ? resolve() : setImmediate(wait));
      wait();
    });
    controller.abort(reason);

    await expect(call).rejects.toBe(reason);
    expect(requests).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("the caller's signal cuts a body that never ends", async () => {
    let answered = 0;
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[', () => {
        answered++;
      });
    });
    const { forgejo, sleeps } = client(url, 10_000);
    const controller = new AbortController();
    const reason = new DOMException('shutting down', 'AbortError');

    const call = forgejo.listRunners(parseScope('instance'), { signal: controller.signal });
    await new Promise<void>((resolve) => {
      const wait = () => (answered > 0 ? resolve() : setImmediate(wait));
      wait();
    });
    controller.abort(reason);

    await expect(call).rejects.toBe(reason);
    expect(sleeps).toEqual([]);
  });

  it('a retried request is cut off at the deadline on every attempt: the call ends within attempts x timeout', async () => {
    const url = await listen((_req, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.write('[');
    });
    const { forgejo, sleeps } = client(url, 100);
    const started = performance.now();

    const err = await forgejo.listJobs(parseScope('instance')).catch((e: unknown) => e);

    expect(err).toBeInstanceOf(ForgejoNetworkError);
    expect(sleeps).toHaveLength(2); // 3 attempts, each cut at 100 ms while its body streamed
    expect(performance.now() - started).toBeLessThan(3 * 100 * 3);
  });
});
