import { podBootstrapFromUserData, renderUserData } from '@forgejo-fleet/cloud-init';
import { ConfigError, type DispatcherConfig, loadDispatcherConfig } from '@forgejo-fleet/config';
import { formatScope, parseScope, ScopeSyntaxError } from '@forgejo-fleet/forgejo';
import {
  type AnyProviderConfig,
  conformanceChecks,
  createProvider,
  type Provider,
  sharedProviderDeps,
} from '@forgejo-fleet/providers';
import { type ProgressStream, progress } from '@forgejo-fleet/runtime';
import { parseFlags } from '../flags.js';
import { type CliIo, configLoadOptions, EXIT, UsageError } from '../io.js';

export const providerCheckHelp = `Usage: forgejo-fleet provider-check --dispatcher FILE --provider NAME [--scope KEY] [--yes]

Runs the provider conformance checks against a configured provider and deletes what it made.

The instances carry the config's fleet tag (forgejo-fleet=<fleet_id>, so the documented IAM
policy lets it delete them) and a throwaway check id (forgejo-fleet-check=ff-conf-…) that the
checks select by, so no fleet's own instances are ever touched. --scope uses that scope's
credential overrides. It needs --yes where it makes real workloads: kind ec2 or hetzner
without a loopback endpoint (a few billed VMs) and kind kubernetes on any cluster, a loopback
API server included (a few pods or VMs); kind shell never needs it. If a delete is refused, it
prints the ids to delete by hand. Exit 0 when every check passed, 1 when one failed (or
something is left behind), 2 for a bad config, 64 for bad usage or a missing --yes.`;

/** The tag holding the throwaway check id; the fleet tag itself holds the config's fleet_id. */
export const CHECK_TAG = 'forgejo-fleet-check';

/** What provider-check builds the provider with (tests pass one that fails on purpose). */
export interface ProviderCheckDeps {
  readonly createProvider?: (name: string, config: AnyProviderConfig, scopeOverride: unknown) => Provider;
  /** Where the running check is shown (default: the CLI's stderr, a terminal when the process's is). */
  readonly progressStream?: ProgressStream;
}

/** Ids in each provider's format that never exist, for the "unknown id" check. */
const UNKNOWN_IDS: Readonly<Record<string, string>> = {
  ec2: 'i-0000000000000dead',
  hetzner: '9007199254740991',
  // Object names the provider makes end in 16 hex digits of a hash; this one never does.
  kubernetes: 'ff-provider-check-unknown',
};

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]', '::1']);

/** Whether the provider would create VMs in a real cloud account. */
export function isRealCloud(provider: AnyProviderConfig): boolean {
  if (provider.kind === 'shell') return false;
  // A cluster's pods and VMs are real workloads, whichever server the kubeconfig names.
  if (provider.kind === 'kubernetes') return true;
  if (provider.endpoint === undefined) return true;
  return !LOOPBACK.has(new URL(provider.endpoint).hostname);
}

function scopeOverride(config: DispatcherConfig, name: string, text: string | undefined): unknown {
  if (text === undefined) return undefined;
  let key: string;
  try {
    key = formatScope(parseScope(text));
  } catch (error) {
    if (error instanceof ScopeSyntaxError) throw new UsageError(error.message);
    throw error;
  }
  const scope = config.scopes.find((s) => s.key.toLowerCase() === key.toLowerCase());
  if (scope === undefined) {
    throw new UsageError(`no scope "${text}" (scopes: ${config.scopes.map((s) => s.key).join(', ')})`);
  }
  return scope.providers[name];
}

/** How to delete what provider-check could not, in the provider's own tool. */
export function deleteByHand(config: AnyProviderConfig, ids: readonly string[]): string {
  const list = ids.join(' ');
  switch (config.kind) {
    case 'ec2': {
      const endpoint = config.endpoint === undefined ? '' : ` --endpoint-url ${config.endpoint}`;
      return `aws ec2 terminate-instances --region ${config.region}${endpoint} --instance-ids ${list}`;
    }
    case 'hetzner':
      return `hcloud server delete ${list}`;
    case 'kubernetes':
      return `kubectl --namespace ${config.namespace} delete ${config.flavor === 'pod' ? 'pod' : 'vmi'} ${list}`;
    case 'shell':
      return `the instances ${list} of your shell provider's cloud`;
  }
}

/** The registry's provider, with the pod flavour's bootstrap from cloud-init (as the dispatcher wires it). */
function defaultProvider(name: string, config: AnyProviderConfig, scopeOverride: unknown): Provider {
  return createProvider(name, config, scopeOverride, {
    ...sharedProviderDeps(),
    kubernetes: { podBootstrap: podBootstrapFromUserData },
  });
}

/**
 * A runner bootstrap for the checks' pods: the pod flavour only makes pods of one. Its token is
 * made up and its Forgejo unreachable, so a pod that starts fails without taking a job.
 */
function checkRunnerUserData(): string {
  return renderUserData({
    instanceUrl: 'https://forgejo.invalid/',
    runner: {
      uuid: '00000000-0000-4000-8000-000000000000',
      token: '0'.repeat(40),
      name: 'ff-provider-check',
    },
    labels: ['provider-check:host'],
    install: { mode: 'baked', binaryPath: '/usr/local/bin/forgejo-runner' },
    jobTimeoutSeconds: 600,
  });
}

function describeError(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
}

export async function providerCheck(
  argv: readonly string[],
  io: CliIo,
  deps: ProviderCheckDeps = {},
): Promise<number> {
  const flags = parseFlags(argv, {
    dispatcher: 'string',
    provider: 'string',
    scope: 'string',
    yes: 'boolean',
  });
  if (flags.dispatcher === undefined || flags.provider === undefined) {
    throw new UsageError('provider-check needs --dispatcher FILE and --provider NAME');
  }
  let config: DispatcherConfig;
  try {
    config = loadDispatcherConfig(flags.dispatcher, configLoadOptions(io));
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    io.stderr(`${error.message}\n`);
    return EXIT.invalidConfig;
  }
  const name = flags.provider;
  const providerConfig = config.providers[name];
  if (providerConfig === undefined) {
    throw new UsageError(`no provider "${name}" (providers: ${Object.keys(config.providers).join(', ')})`);
  }
  const override = scopeOverride(config, name, flags.scope);
  if (isRealCloud(providerConfig) && flags.yes !== true) {
    io.stderr(
      `forgejo-fleet provider-check: provider "${name}" (${providerConfig.kind}) is a real cloud account; ` +
        'the checks create a few VMs there (billed, then deleted). Run again with --yes to go ahead.\n',
    );
    return EXIT.usage;
  }

  const provider = (deps.createProvider ?? defaultProvider)(name, providerConfig, override);
  const unknownId = UNKNOWN_IDS[providerConfig.kind];
  const run = conformanceChecks(
    { provider, cleanup: async () => undefined },
    {
      // The fleet tag the IAM policy's TerminateInstances condition names (docs/providers.md).
      baseTags: { 'forgejo-fleet': config.fleet_id },
      fleetTag: CHECK_TAG,
      ...(unknownId === undefined ? {} : { unknownId }),
      ...(providerConfig.kind === 'kubernetes' && providerConfig.flavor === 'pod'
        ? { userData: checkRunnerUserData() }
        : {}),
    },
  );
  io.stdout(
    `provider-check ${name} (kind ${providerConfig.kind}${flags.scope === undefined ? '' : `, scope ${flags.scope}`}), ` +
      `test fleets ${run.fleets.join(', ')}\n`,
  );
  let failed = 0;
  // Checks against a real cloud take minutes: a terminal shows which one runs.
  const shown = progress(`provider-check ${name}`, run.checks.length, {
    stream: deps.progressStream ?? { write: io.stderr, isTTY: process.stderr.isTTY === true },
    env: io.env,
    // stdout already has a first and a last line; logs need nothing more.
    announce: false,
  });
  try {
    for (const [index, check] of run.checks.entries()) {
      shown.update(index, check.name);
      try {
        const outcome = await check.run();
        shown.clear();
        io.stdout(
          outcome.status === 'passed' ? `ok    ${check.name}\n` : `skip  ${check.name} (${outcome.reason})\n`,
        );
      } catch (error) {
        failed++;
        shown.clear();
        io.stdout(`FAIL  ${check.name}: ${describeError(error)}\n`);
      }
    }
  } finally {
    shown.done(failed === 0 ? 'cleaning up' : `${failed} failed, cleaning up`);
    const cleanup = await run.cleanup();
    io.stdout(`cleanup: deleted ${cleanup.deleted} instance${cleanup.deleted === 1 ? '' : 's'}\n`);
    for (const problem of cleanup.failed) io.stderr(`cleanup failed: ${problem}\n`);
    if (cleanup.failed.length > 0) failed++;
    if (cleanup.leftover.length > 0) {
      io.stderr(
        `${cleanup.leftover.length} instance${cleanup.leftover.length === 1 ? '' : 's'} left behind (billed until deleted); ` +
          `delete these by hand: ${deleteByHand(providerConfig, cleanup.leftover)}\n`,
      );
    }
    if (cleanup.leftover.length === 0 && cleanup.failed.length > 0) {
      io.stderr(
        `look for instances tagged ${CHECK_TAG}=${run.fleets.join(`, ${CHECK_TAG}=`)} and delete them by hand\n`,
      );
    }
  }
  io.stdout(failed === 0 ? 'all checks passed\n' : `${failed} check${failed === 1 ? '' : 's'} failed\n`);
  return failed === 0 ? EXIT.ok : EXIT.failure;
}
