import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createModel } from './model.js';
import { projectBucket } from './rate-limit.js';
import { createRoutes, type Faults } from './routes.js';
import type {
  ActionFaultRule,
  CreateErrorRule,
  FakeHetznerCall,
  FakeHetznerOptions,
  FakeImage,
  FakeServer,
  FakeServerStatus,
  FaultRule,
} from './types.js';

export const FAKE_HETZNER_TOKEN = 'fake-hcloud-token';

/** A fake Hetzner Cloud API on 127.0.0.1 (random port), built after hcloud-openapi.json. */
export interface RunningFakeHetzner {
  /** `http://127.0.0.1:PORT/v1`: what a provider's `endpoint` is set to. */
  readonly url: string;
  readonly token: string;
  servers(): FakeServer[];
  server(id: number | string): FakeServer | undefined;
  /** Pins a server's status (e.g. `off`: the VM powered itself off after its job). */
  setStatus(id: number | string, status: FakeServerStatus): void;
  addImage(image: Partial<Omit<FakeImage, 'id'>>): number;
  /** Creates of that server type and/or location answer with the error (e.g. `resource_unavailable`). */
  injectCreateError(rule: CreateErrorRule): void;
  /** Requests matching method and path answer with the error. */
  injectFault(rule: FaultRule): void;
  /** The next actions of `rule.command` (e.g. `rebuild_server`) end in `error`, or never end. */
  injectActionFault(rule: ActionFaultRule): void;
  /** The next `n` creates make their server, then reset the connection instead of answering. */
  loseCreateResponses(n?: number): void;
  /** The next `n` rebuilds start, then reset the connection instead of answering. */
  loseRebuildResponses(n?: number): void;
  clearFaults(): void;
  calls(): FakeHetznerCall[];
  stats(): { requests: number; rateLimited: number };
  close(): Promise<void>;
}

export async function startFakeHetzner(options: FakeHetznerOptions = {}): Promise<RunningFakeHetzner> {
  const model = createModel(options);
  const token = options.token ?? FAKE_HETZNER_TOKEN;
  const rate = options.rateLimit === undefined ? { limit: 3_600, refillPerSecond: 1 } : options.rateLimit;
  const bucket = rate === false ? undefined : projectBucket(model.now, rate.limit, rate.refillPerSecond);
  const faults: Faults = { createErrors: [], faults: [], actionFaults: [], loseCreates: 0, loseRebuilds: 0 };
  const calls: FakeHetznerCall[] = [];
  const stats = { requests: 0, rateLimited: 0 };
  const server = createServer(
    createRoutes({ model, token, bucket, faults, calls, stats, onAnswer: options.onAnswer }),
  );
  server.keepAliveTimeout = 60_000;
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  function find(id: number | string) {
    return model.servers.get(Number(id));
  }

  return {
    url: `http://127.0.0.1:${port}/v1`,
    token,
    servers: () => [...model.servers.values()],
    server: find,
    setStatus(id, status) {
      const found = find(id);
      if (found === undefined) throw new Error(`no server ${id}`);
      found.status = status;
      found.pinned = true;
    },
    addImage: (image) => model.addImage(image),
    injectCreateError: (rule) => faults.createErrors.push({ ...rule }),
    injectFault: (rule) => faults.faults.push({ ...rule }),
    injectActionFault: (rule) => faults.actionFaults.push({ ...rule }),
    loseCreateResponses(n = 1) {
      faults.loseCreates += n;
    },
    loseRebuildResponses(n = 1) {
      faults.loseRebuilds += n;
    },
    clearFaults() {
      faults.createErrors.length = 0;
      faults.faults.length = 0;
      faults.actionFaults.length = 0;
      faults.loseCreates = 0;
      faults.loseRebuilds = 0;
    },
    calls: () => [...calls],
    stats: () => ({ ...stats }),
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
