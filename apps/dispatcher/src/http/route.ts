import type { RouteDef } from '@forgejo-fleet/dispatch-api';
import { honoPath } from '@forgejo-fleet/dispatch-api';
import type { Context, Handler, Hono } from 'hono';
import type { AppEnv } from './env.js';

/**
 * Registers `handler` for one route of the dispatch API, by the definition the OpenAPI document is
 * generated from: a handler cannot sit under a method or path the document does not show.
 */
export function on(
  app: Hono<AppEnv>,
  route: Pick<RouteDef, 'method' | 'path'>,
  handler: Handler<AppEnv>,
): void {
  app.on(route.method.toUpperCase(), honoPath(route), handler);
}

/** A parameter of the route's path template; hono sets every one of them when the route matched. */
export function pathParam(c: Context<AppEnv>, name: string): string {
  const value = c.req.param(name);
  if (value === undefined) throw new Error(`route ${c.req.routePath} has no parameter ${name}`);
  return value;
}
