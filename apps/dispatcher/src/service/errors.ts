import { ProviderError, type ProviderErrorClass } from '@forgejo-fleet/providers';

export function errorSummary(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** An error a provider did not classify (a bug, a crash in a script) is treated as transient. */
export function errorClass(error: unknown): ProviderErrorClass {
  return error instanceof ProviderError ? error.class : 'transient';
}
