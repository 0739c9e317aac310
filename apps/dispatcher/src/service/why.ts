import type { Decision, DispatchRecord } from '@forgejo-fleet/store';
import type { UsageMeter } from './budgets.js';
import type { ServiceDeps } from './deps.js';
import type { ForeignSightings } from './foreign-sightings.js';
import type { InstanceNotes } from './instance-notes.js';
import type { ProviderHealth } from './provider-health.js';
import { enteredAt, firstEnteredAt } from './reconcile/context.js';
import { retryBackoff } from './reconcile/pickup-timeout.js';
import { type Caller, INTERNAL } from './visibility.js';
import { explainRevive } from './why-revive.js';

/**
 * `why`: everything the dispatcher knows about one dispatch, as text an operator reads top to
 * bottom: what it is, which route and credentials, limits and budgets, every provider attempt,
 * the timers, where it is now and what happens next.
 */
export async function explainDispatch(
  deps: ServiceDeps,
  guards: { health: ProviderHealth; usage: UsageMeter; foreign?: ForeignSightings; notes?: InstanceNotes },
  asked: string,
  record: DispatchRecord | undefined,
  caller: Caller = INTERNAL,
): Promise<{ record: DispatchRecord | undefined; text: string }> {
  // Fleet-wide figures (every scope's live VMs, other stores' VMs) are for `*` clients only: a
  // tenant learns its own scope's numbers and the caps, not how busy the other teams are.
  const fleetWide = caller.scopes === '*';
  if (record === undefined) {
    return {
      record,
      text: [
        `no dispatch for ${asked}.`,
        'If this is a waiting job, the autoscaler has not asked for a VM for it: check that a route',
        'takes its labels (GET /v1/routes), that its scope is configured on both services, and the',
        "autoscaler's skipped-jobs metric and logs for the reason it was passed over.",
      ].join('\n'),
    };
  }
  const now = deps.clock.now();
  const at = (ms: number) => `${new Date(ms).toISOString()} (${relative(ms - now)})`;
  const lines: string[] = [];
  const job = record.job;
  lines.push(
    `dispatch ${record.id}${record.handle ? ` for job handle ${record.handle}` : ' (manual, no job handle)'}` +
      (job ? ` — job "${job.name}" #${job.id}, attempt ${job.attempt}` : ''),
  );
  lines.push(
    `state: ${record.state} since ${at(record.updated_at)}${record.error ? ` — ${record.error}` : ''}`,
  );
  lines.push(`requested by client ${record.client} with labels [${record.labels.join(', ')}]`);

  const route = deps.config.routes.find((r) => r.name === record.route);
  lines.push(
    route
      ? `route: ${route.name} (takes [${route.labels.join(', ')}]; the route with the fewest labels covering the job wins); providers in order: ${route.providers.join(' → ')}`
      : `route: ${record.route} (no longer configured)`,
  );
  const scope = deps.config.scopes.find((s) => s.key === record.scope);
  lines.push(
    `scope: ${record.scope}; Forgejo credentials: ${scope ? `${scope.forgejo_token_key} (token from ${scope.forgejo_token.source})` : 'scope no longer configured'}`,
  );
  if (record.runner) lines.push(`runner registration: ${record.runner.name} (id ${record.runner.id})`);

  lines.push('limits:');
  const live = await deps.store.countLive();
  const of = (count: number | undefined, cap: number) =>
    fleetWide ? `${count ?? 0} of ${cap} live VMs` : `at most ${cap} live VMs (use shown to "*" clients)`;
  lines.push(`  global: ${of(live.total, deps.config.limits.max_vms)}`);
  if (route) {
    lines.push(`  route ${route.name}: ${of(live.byRoute.get(route.name), route.limits.max_vms)}`);
    if (route.limits.max_vms_per_scope !== undefined) {
      const inScope = live.byRouteScope.get(`${route.name}\u0000${record.scope}`) ?? 0;
      lines.push(
        `  scope ${record.scope} on ${route.name}: ${inScope} of ${route.limits.max_vms_per_scope} live VMs`,
      );
    }
  }
  const budgets = await guards.usage.states(deps, record.route, record.scope);
  if (budgets.length === 0) lines.push('  budgets: none configured');
  for (const budget of budgets) {
    const used = budget.unit === 'minutes' ? `${Math.floor(budget.used)} VM-minutes` : budget.used.toFixed(2);
    lines.push(
      `  budget ${budget.cap}: ${used} of ${budget.limit} used today${budget.used >= budget.limit ? ' — SPENT' : ''}`,
    );
  }

  const decisions = await deps.store.listDecisions({ dispatch_id: record.id, limit: 1000 });
  lines.push('decisions:');
  if (decisions.length === 0) lines.push('  none yet');
  for (const decision of decisions) lines.push(`  ${formatDecision(decision)}`);

  const assigned = decisions.find((d) => d.kind === 'assign');
  const cold = decisions.findLast((d) => d.kind === 'create');
  const reused = decisions.findLast((d) => d.kind === 'reuse');
  if (assigned) lines.push(`vm: from the warm pool — ${assigned.reason}`);
  else if (reused && !(cold && cold.seq > reused.seq)) lines.push(`vm: ${reused.reason}`);
  else if (cold) {
    const missed = decisions.find((d) => d.kind === 'fallback' && d.reason.startsWith('no idle warm vm'));
    lines.push(`vm: cold create${missed ? ' (the warm pool had no idle VM)' : ''} — ${cold.reason}`);
  }
  const note =
    record.state === 'booting' && record.provider !== null && record.instance_id !== null
      ? guards.notes?.get(record.provider, record.instance_id)
      : undefined;
  if (note !== undefined) lines.push(`vm ${record.instance_id} not started yet: ${note}`);

  const snapshot = guards.health.snapshot(now);
  const cooling = Object.entries(snapshot.choices).filter(([key]) =>
    route?.providers.some((p) => key.startsWith(`${p} `)),
  );
  const open = Object.entries(snapshot.circuits).filter(([name]) => route?.providers.includes(name));
  if (cooling.length + open.length > 0) {
    lines.push('provider health now:');
    for (const [key, entry] of cooling)
      lines.push(`  ${key} cooling down until ${at(entry.until)}: ${entry.reason}`);
    for (const [name, entry] of open)
      lines.push(`  ${name} circuit open until ${at(entry.until)}: ${entry.reason}`);
  }

  const foreign = fleetWide ? guards.foreign?.summary() : undefined;
  if (foreign !== undefined && foreign.vms + foreign.registrations > 0) {
    lines.push(
      `foreign: ${foreign.vms} VMs and ${foreign.registrations} runner registrations carry fleet id ${deps.config.fleet_id} but another store's id (${foreign.storeIds.join(', ')}): a second dispatcher shares this fleet_id; they are left alone (docs/troubleshooting.md)`,
    );
  }

  lines.push('timers:');
  for (const line of timers(record, route, now, at)) lines.push(`  ${line}`);
  lines.push(
    `next: ${record.state === 'failed' ? await explainRevive(deps, record, at) : nextStep(record, route, now, at)}`,
  );
  lines.push(
    `history: ${record.transitions.map((t) => `${t.state} ${new Date(t.at).toISOString()}${t.reason ? ` (${t.reason})` : ''}`).join(' → ')}`,
  );
  return { record, text: lines.join('\n') };
}

type Route = ServiceDeps['config']['routes'][number];

function timers(
  record: DispatchRecord,
  route: Route | undefined,
  now: number,
  at: (ms: number) => string,
): string[] {
  if (!route) return ['none (route not configured)'];
  const out: string[] = [];
  const booted = enteredAt(record, 'booting');
  const born = firstEnteredAt(record, 'booting');
  if (record.state === 'booting' && booted !== undefined && record.handle !== null) {
    out.push(
      `pickup deadline (boot ${minutes(route.timeouts.boot)} + pickup ${minutes(route.timeouts.pickup)}): ${at(booted + route.timeouts.boot + route.timeouts.pickup)}`,
    );
  }
  if (born !== undefined && (record.state === 'booting' || record.state === 'running')) {
    out.push(
      `max lifetime ${minutes(route.timeouts.max_lifetime)}: VM killed at ${at(born + route.timeouts.max_lifetime)}`,
    );
  }
  out.push(
    `job timeout inside the VM: ${minutes(route.timeouts.job)}; fresh VMs after pickup timeouts: ${record.retries} of ${route.timeouts.pickup_retries}`,
  );
  void now;
  return out;
}

function nextStep(
  record: DispatchRecord,
  route: Route | undefined,
  now: number,
  at: (ms: number) => string,
): string {
  switch (record.state) {
    case 'accepted':
      return 'registering the runner; if nothing happens within 30 s (a restart), the reconciler resumes it';
    case 'registering':
      return record.retries > 0
        ? `a fresh VM is made after the retry backoff (from ${at(record.updated_at + retryBackoff(record.retries))})`
        : 'registering an ephemeral runner in the scope, then creating the VM';
    case 'provisioning':
      return 'creating the VM, walking the providers and machine choices in order';
    case 'booting': {
      if (record.handle === null) return 'the VM boots and runs its runner; it ends when the VM powers off';
      const booted = enteredAt(record, 'booting') ?? now;
      const deadline = route ? booted + route.timeouts.boot + route.timeouts.pickup : undefined;
      return `waiting for the runner to pick up the job${deadline ? `; if it has not by ${at(deadline)}, the VM is killed and ${record.retries < (route?.timeouts.pickup_retries ?? 0) ? 'the job gets a fresh VM' : 'the dispatch fails'}` : ''}; if the job leaves the queue first (cancelled), the VM is deleted`;
    }
    case 'running':
      return 'the job runs; when it ends the VM powers off and the reconciler deletes it and the registration';
    case 'finished':
      return 'nothing: the job ran and its VM and registration are gone';
    case 'failed':
      return 'the dispatch failed (see the error and decisions above)';
    case 'cancelled':
      return 'nothing: the dispatch was cancelled and its VM and registration deleted';
  }
}

function formatDecision(decision: Decision): string {
  const where = [decision.provider, decision.choice].filter((x) => x !== null).join(' ');
  const parts = [
    new Date(decision.at).toISOString(),
    decision.kind,
    decision.attempt !== null ? `attempt ${decision.attempt}` : null,
    where === '' ? null : where,
    decision.error_class !== null ? `[${decision.error_class}]` : null,
    decision.cost !== null ? `~${decision.cost}/h` : null,
  ].filter((x) => x !== null);
  return `${parts.join(' ')}: ${decision.reason}`;
}

function minutes(ms: number): string {
  return ms >= 3_600_000 && ms % 3_600_000 === 0 ? `${ms / 3_600_000} h` : `${Math.round(ms / 60_000)} min`;
}

function relative(deltaMs: number): string {
  const abs = Math.abs(deltaMs);
  if (abs < 1000) return 'now';
  const text =
    abs < 60_000
      ? `${Math.round(abs / 1000)} s`
      : abs < 3_600_000
        ? `${Math.round(abs / 60_000)} min`
        : `${(abs / 3_600_000).toFixed(1)} h`;
  return deltaMs >= 0 ? `in ${text}` : `${text} ago`;
}
