import type { z } from 'zod';
import { ConnectError, type RpcMethod, RUNNER_SERVICE_PATH } from '../fake-forgejo/rpc-protocol.js';

/** Per-call timeout, like the runner's `fetch_timeout` (5 s). */
export const RPC_TIMEOUT_MS = 5000;

/** A failed RPC: a connect error from the server, or a transport failure. */
export class RpcError extends Error {
  override name = 'RpcError';
  constructor(
    message: string,
    readonly code: string,
    readonly status: number | null,
  ) {
    super(message);
  }
}

export interface RunnerClient {
  call<T extends z.ZodType>(method: RpcMethod, body: unknown, response: T): Promise<z.infer<T>>;
}

/** A connect-JSON client of `runner.v1.RunnerService`, authenticating with the runner's uuid and token. */
export function createRunnerClient(o: {
  url: string;
  uuid: string;
  token: string;
  version: string;
  fetch: typeof fetch;
  signal?: AbortSignal;
}): RunnerClient {
  const base = o.url.replace(/\/+$/, '') + RUNNER_SERVICE_PATH;
  return {
    async call(method, body, response) {
      const signals = [AbortSignal.timeout(RPC_TIMEOUT_MS)];
      if (o.signal) signals.push(o.signal);
      let res: Response;
      try {
        res = await o.fetch(`${base}/${method}`, {
          method: 'POST',
          headers: {
            'content-type': 'application/json',
            'connect-protocol-version': '1',
            'x-runner-uuid': o.uuid,
            'x-runner-token': o.token,
            'x-runner-version': o.version,
          },
          body: JSON.stringify(body),
          signal: AbortSignal.any(signals),
        });
      } catch (err) {
        throw new RpcError(
          `${method}: ${err instanceof Error ? err.message : String(err)}`,
          'unavailable',
          null,
        );
      }
      const text = await res.text();
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch {
        throw new RpcError(`${method}: HTTP ${res.status}: ${text.slice(0, 200)}`, 'unknown', res.status);
      }
      if (!res.ok) {
        const err = ConnectError.safeParse(json);
        const code = err.success ? err.data.code : 'unknown';
        const message = err.success ? err.data.message : text.slice(0, 200);
        throw new RpcError(`${method}: ${code}: ${message}`, code, res.status);
      }
      const parsed = response.safeParse(json);
      if (!parsed.success)
        throw new RpcError(`${method}: bad response: ${parsed.error.message}`, 'internal', res.status);
      return parsed.data;
    },
  };
}
