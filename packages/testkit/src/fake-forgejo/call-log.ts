import type { MiddlewareHandler } from 'hono';
import type { State } from './state.js';
import type { FakeCall } from './types.js';

/** Records every answered request (method, path, status) for API-economy assertions. */
export function callLog(state: State, calls: FakeCall[]): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const url = new URL(c.req.url);
    const call = {
      method: c.req.method,
      path: url.pathname,
      url: url.pathname + url.search,
      status: c.res.status,
    };
    calls.push(call);
    state.log(`${call.method} ${call.url} -> ${call.status}`);
  };
}
