import { readFile as fsReadFile } from 'node:fs/promises';
import type { Clock } from '@forgejo-fleet/runtime';
import { Agent, type Dispatcher } from 'undici';
import type { ClusterAccess, Material } from './kubeconfig.js';
import { KubeconfigError } from './kubeconfig.js';

/** A rotated service-account token is picked up within this (client-go and client-node: 60 s). */
export const TOKEN_REREAD_MS = 60_000;

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

export type ReadFile = (path: string) => Promise<string>;

export const readTextFile: ReadFile = (path) => fsReadFile(path, 'utf8');

/** What every request needs: the base URL, the undici dispatcher, and the current Authorization. */
export interface Connection {
  readonly server: string;
  readonly dispatcher: Dispatcher;
  /** `Bearer …`, or undefined with a client certificate only; re-reads a token file when due. */
  authorization(): Promise<string | undefined>;
  /** After a 401: read the token file again on the next request. */
  invalidate(): void;
}

async function load(what: string, material: Material, readFile: ReadFile): Promise<string> {
  if ('data' in material) return Buffer.from(material.data, 'base64').toString('utf8');
  try {
    return await readFile(material.file);
  } catch (error) {
    const code = (error as { code?: unknown }).code;
    throw new KubeconfigError(
      `${what} ${material.file}: cannot read (${typeof code === 'string' ? code : 'error'})`,
    );
  }
}

/**
 * The connection to `access`: TLS through an undici Agent with the cluster's CA and the client
 * certificate, plain HTTP only to a loopback address (kubectl proxy, tests). `dispatcher` replaces
 * the Agent (tests).
 */
export async function connect(
  access: ClusterAccess,
  deps: { readonly readFile: ReadFile; readonly clock: Clock; readonly dispatcher?: Dispatcher | undefined },
): Promise<Connection> {
  const url = new URL(access.server);
  if (url.protocol === 'http:' && !LOOPBACK.has(url.hostname))
    throw new KubeconfigError(`server ${url.origin}: plain http only to a loopback address; use https`);
  let dispatcher = deps.dispatcher;
  if (dispatcher === undefined && url.protocol === 'https:') {
    const [ca, cert, key] = await Promise.all([
      access.ca === undefined ? undefined : load('certificate-authority', access.ca, deps.readFile),
      access.clientCert === undefined
        ? undefined
        : load('client-certificate', access.clientCert, deps.readFile),
      access.clientKey === undefined ? undefined : load('client-key', access.clientKey, deps.readFile),
    ]);
    dispatcher = new Agent({
      connect: {
        ...(ca === undefined ? {} : { ca }),
        ...(cert === undefined ? {} : { cert }),
        ...(key === undefined ? {} : { key }),
        ...(access.tlsServerName === undefined ? {} : { servername: access.tlsServerName }),
        rejectUnauthorized: true,
      },
    });
  }
  const token = access.token;
  let cached: { value: string; readAt: number } | undefined;
  return {
    server: url.origin + url.pathname.replace(/\/+$/, ''),
    dispatcher: dispatcher ?? new Agent(),
    async authorization() {
      if (token === undefined) return undefined;
      if ('text' in token) return `Bearer ${token.text}`;
      const now = deps.clock.now();
      if (cached === undefined || now - cached.readAt >= TOKEN_REREAD_MS) {
        const value = (await load('tokenFile', token, deps.readFile)).trim();
        if (value === '') throw new KubeconfigError(`tokenFile ${token.file}: empty`);
        cached = { value, readAt: now };
      }
      return `Bearer ${cached.value}`;
    },
    invalidate() {
      cached = undefined;
    },
  };
}
