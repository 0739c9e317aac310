import type { MiddlewareHandler } from 'hono';
import type { FakeAnswer } from '../fake-answer.js';

/** Hands every answer, body included, to `onAnswer` (opt-in: spec-validation tests record them). */
export function recordAnswers(onAnswer: (answer: FakeAnswer) => void): MiddlewareHandler {
  return async (c, next) => {
    await next();
    const url = new URL(c.req.url);
    // A clone: the original body still goes to the client.
    const body = await c.res.clone().text();
    onAnswer({
      method: c.req.method,
      path: url.pathname,
      query: url.search,
      status: c.res.status,
      contentType: c.res.headers.get('content-type') ?? undefined,
      body,
    });
  };
}
