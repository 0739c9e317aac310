import { parseScope } from '@forgejo-fleet/forgejo';
import type { Instance, Provider } from '@forgejo-fleet/providers';
import type { DispatchRecord } from '@forgejo-fleet/store';
import type { ServiceDeps } from './deps.js';
import { releaseResources } from './release.js';

/**
 * One pass over the VMs we believe are up: a VM that powered off or vanished means its job is
 * over, so the dispatch is `finished` and the VM and any leftover registration are deleted; a
 * job Forgejo reports running moves its dispatch to `running`. (Timeouts, orphans and adoption
 * after a crash are the lifecycle reconciler's work.)
 */
export async function reconcileOnce(deps: ServiceDeps, signal?: AbortSignal): Promise<void> {
  const live = await deps.store.listLive();
  const up = live.filter((r) => (r.state === 'booting' || r.state === 'running') && r.instance_id !== null);
  const running = await runningHandles(deps, up, signal);
  const instances = await listInstances(deps, up, signal);
  for (const record of up) {
    if (signal?.aborted) return;
    const listed = instances.get(record.provider ?? '');
    // A provider whose list failed is skipped this pass: "not listed" must never read as "gone".
    if (listed === undefined) continue;
    await reconcileRecord(deps, record, listed.get(record.instance_id ?? ''), running);
  }
}

// One list call per provider per pass, filtered by our fleet tag, whatever the number of VMs.
async function listInstances(
  deps: ServiceDeps,
  records: readonly DispatchRecord[],
  signal: AbortSignal | undefined,
): Promise<Map<string, Map<string, Instance>>> {
  const byProvider = new Map<string, Map<string, Instance>>();
  const providers = new Map<string, Provider>();
  for (const record of records) {
    if (record.provider !== null)
      providers.set(record.provider, deps.providerFor(record.provider, record.scope));
  }
  for (const [name, provider] of providers) {
    try {
      const list = await provider.list({ 'forgejo-fleet': deps.config.fleet_id }, signal ? { signal } : {});
      byProvider.set(name, new Map(list.map((instance) => [instance.id, instance])));
    } catch (error) {
      deps.log.warn(
        { provider: name, err: (error as Error).message },
        'instance list failed; retrying next pass',
      );
    }
  }
  return byProvider;
}

async function reconcileRecord(
  deps: ServiceDeps,
  record: DispatchRecord,
  instance: Instance | undefined,
  running: ReadonlySet<string>,
): Promise<void> {
  const log = deps.log.child({ dispatchId: record.id });
  const now = deps.clock.now();
  if (instance === undefined || instance.state === 'stopped' || instance.state === 'terminated') {
    // Clean up first: a dispatch only ends once its VM and registration are gone, so a failed
    // delete is retried on the next pass instead of leaking.
    const released = await releaseResources(deps, record, log);
    if (!released.ok) return;
    const finished = await deps.store.transition(record.id, ['booting', 'running'], 'finished', now, {
      reason: instance === undefined ? 'instance gone' : `instance ${instance.state}`,
    });
    if (finished) log.info({ instanceId: record.instance_id }, 'dispatch finished');
    return;
  }
  if (record.state === 'booting' && record.handle !== null && running.has(record.handle)) {
    await deps.store.transition(record.id, ['booting'], 'running', now, { reason: 'job picked up' });
  }
}

// One jobs-list call per scope per pass, whatever the number of dispatches.
async function runningHandles(
  deps: ServiceDeps,
  records: readonly DispatchRecord[],
  signal: AbortSignal | undefined,
): Promise<Set<string>> {
  const scopes = new Set(
    records.filter((r) => r.state === 'booting' && r.handle !== null).map((r) => r.scope),
  );
  const handles = new Set<string>();
  for (const scope of scopes) {
    try {
      const jobs = await deps.forgejoFor(scope).listJobs(parseScope(scope), signal ? { signal } : {});
      for (const job of jobs) if (job.status === 'running') handles.add(job.handle);
    } catch (error) {
      deps.log.warn(
        { scope, err: (error as Error).message },
        'job list failed; running state updates next tick',
      );
    }
  }
  return handles;
}
