/**
 * A listener that could not be opened, named by its config key: `listen: cannot listen on
 * 127.0.0.1:8080: the address is in use …` instead of Node's stack trace. Not a config error
 * (exit 78 is never restarted): the other process may be a previous instance still stopping.
 */
export class ListenError extends Error {
  override readonly name = 'ListenError';

  constructor(
    /** The config key of the listener, e.g. `listen`, `agent.listen`, `webhook.listen`. */
    readonly key: string,
    readonly host: string,
    readonly port: number,
    readonly code: string | undefined,
    cause: unknown,
  ) {
    super(`${key}: cannot listen on ${hostPort(host, port)}: ${reasonOf(code, cause)}`, { cause });
  }
}

/** The error a listener's 'error' event gave, as a ListenError naming `key`. */
export function listenError(error: unknown, key: string, at: { host: string; port: number }): ListenError {
  const code =
    typeof error === 'object' && error !== null && 'code' in error ? String(error.code) : undefined;
  return new ListenError(key, at.host, at.port, code, error);
}

function reasonOf(code: string | undefined, cause: unknown): string {
  switch (code) {
    case 'EADDRINUSE':
      return 'the address is in use (another process, or another listener of this config, holds it): change the port or stop the other one';
    case 'EACCES':
      return 'permission denied (a port below 1024 needs privileges): use a higher port';
    case 'EADDRNOTAVAIL':
      return 'this machine has no such address: use one of its own, or 0.0.0.0';
    default:
      return cause instanceof Error ? cause.message : String(cause);
  }
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}
