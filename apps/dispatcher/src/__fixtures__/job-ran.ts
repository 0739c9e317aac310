import type { DispatcherConfig } from '@forgejo-fleet/config';
import { createForgejoClient, parseScope } from '@forgejo-fleet/forgejo';
import type { DispatchRecord } from '@forgejo-fleet/store';

/**
 * What Forgejo shows once a dispatch's runner has run its job: the job is no longer queued and
 * the ephemeral runner is gone (Forgejo deletes it after its task). The test powers the VM off.
 */
export async function jobRan(
  forgejo: { cancelJob(handle: string): void },
  config: DispatcherConfig,
  record: Pick<DispatchRecord, 'handle' | 'runner' | 'scope'> | undefined,
): Promise<void> {
  if (record === undefined) throw new Error('no dispatch');
  if (record.handle !== null) forgejo.cancelJob(record.handle);
  const scope = config.scopes.find((s) => s.key === record.scope);
  if (record.runner === null || scope === undefined) return;
  await createForgejoClient({
    apiUrl: config.forgejo.api_url,
    token: scope.forgejo_token.reveal(),
  }).deleteRunner(parseScope(record.scope), record.runner.id);
}
