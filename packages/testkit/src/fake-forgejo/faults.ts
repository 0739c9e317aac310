import type { Context, MiddlewareHandler } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { swaggerUrl } from './errors.js';
import { connectCodeForStatus, RUNNER_SERVICE_PATH } from './rpc-protocol.js';
import type { FaultRule } from './types.js';

interface ActiveFault {
  rule: FaultRule;
  remaining: number;
}

/** Injected failures, matched in order, each consumed `times` times. */
export interface FaultInjector {
  add(rule: FaultRule): void;
  clear(): void;
  /** Lets every hanging request go (they then answer 503; on a closing server nobody reads it). */
  releaseAll(): void;
  middleware: MiddlewareHandler;
}

function pathMatches(rule: FaultRule, fullPath: string): boolean {
  const apiPath = fullPath.startsWith('/api/v1/') ? fullPath.slice('/api/v1'.length) : null;
  if (typeof rule.path === 'string') return rule.path === fullPath || rule.path === apiPath;
  rule.path.lastIndex = 0;
  if (rule.path.test(fullPath)) return true;
  rule.path.lastIndex = 0;
  return apiPath !== null && rule.path.test(apiPath);
}

/** Forgejo-style error body for the REST API, connect-style for runner RPC. */
function faultResponse(c: Context, status: number): Response {
  const path = new URL(c.req.url).pathname;
  if (path.startsWith(`${RUNNER_SERVICE_PATH}/`)) {
    return c.json(
      { code: connectCodeForStatus(status), message: `injected fault ${status}` },
      status as ContentfulStatusCode,
    );
  }
  if (status === 204 || status === 304 || status < 200) return c.body(null, status as 204);
  return c.json({ message: `injected fault ${status}`, url: swaggerUrl(c) }, status as ContentfulStatusCode);
}

export function createFaultInjector(): FaultInjector {
  let faults: ActiveFault[] = [];
  const releases = new Set<() => void>();

  function take(method: string, path: string): FaultRule | undefined {
    const found = faults.find(
      (f) =>
        (f.rule.method === undefined || f.rule.method.toUpperCase() === method) && pathMatches(f.rule, path),
    );
    if (!found) return undefined;
    found.remaining--;
    if (found.remaining <= 0) faults = faults.filter((f) => f !== found);
    return found.rule;
  }

  function wait(ms: number | null, signal: AbortSignal): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        if (timer) clearTimeout(timer);
        releases.delete(done);
        signal.removeEventListener('abort', done);
        resolve();
      };
      const timer = ms === null ? undefined : setTimeout(done, ms);
      releases.add(done);
      signal.addEventListener('abort', done);
    });
  }

  return {
    add(rule) {
      faults.push({ rule, remaining: rule.times ?? Number.POSITIVE_INFINITY });
    },
    clear() {
      faults = [];
    },
    releaseAll() {
      for (const release of [...releases]) release();
    },
    async middleware(c, next) {
      const rule = take(c.req.method.toUpperCase(), new URL(c.req.url).pathname);
      if (!rule) return next();
      const signal = c.req.raw.signal;
      if (rule.hang) {
        await wait(null, signal);
        return faultResponse(c, 503);
      }
      if (rule.delayMs !== undefined && rule.delayMs > 0) await wait(rule.delayMs, signal);
      if (rule.status !== undefined) return faultResponse(c, rule.status);
      return next();
    },
  };
}
