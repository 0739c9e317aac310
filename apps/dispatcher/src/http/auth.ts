import { createHash, timingSafeEqual } from 'node:crypto';
import type { MiddlewareHandler } from 'hono';
import type { AppEnv } from './env.js';
import { ApiError } from './errors.js';

export interface ApiClient {
  readonly name: string;
  readonly token: string;
  readonly scopes: '*' | readonly string[];
}

// Hashing first gives equal-length buffers, so the comparison time says nothing about the token.
export function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Bearer tokens from the config's `clients`, compared in constant time; sets `client`. */
export function bearerAuth(clients: readonly ApiClient[]): MiddlewareHandler<AppEnv> {
  const known = clients.map((client) => ({ client, hash: digest(client.token) }));
  return async (c, next) => {
    const header = c.req.header('authorization') ?? '';
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!match?.[1]) {
      throw new ApiError('unauthorized', 'missing bearer token (Authorization: Bearer <token>)');
    }
    const presented = digest(match[1]);
    let found: ApiClient | undefined;
    for (const { client, hash } of known) {
      if (timingSafeEqual(hash, presented)) found = client;
    }
    if (!found) throw new ApiError('unauthorized', 'unknown bearer token');
    c.set('client', { name: found.name, scopes: found.scopes });
    await next();
  };
}

export function clientMayUse(client: { scopes: '*' | readonly string[] }, scope: string): boolean {
  return client.scopes === '*' || client.scopes.includes(scope);
}
