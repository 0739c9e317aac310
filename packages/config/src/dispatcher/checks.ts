import { formatScope, parseScope, type Scope, ScopeSyntaxError } from '@forgejo-fleet/forgejo';
import type { SecretRef } from '@forgejo-fleet/runtime/config';
import type { z } from 'zod';
import { runnerLabelName } from '../common.js';
import { type ConfigIssue, fromZodIssues } from '../issues.js';
import { findAmbiguousRoutes } from '../routing.js';
import { parseScopeKeys } from '../scope-keys.js';
import { scopeCredentialsSchema } from './provider-config.js';
import type { DispatcherConfigShape } from './schema.js';

type Parsed = z.infer<typeof DispatcherConfigShape>;

export interface ScopeEntry {
  /** The scope as written in canonical form, e.g. `org:acme`. */
  readonly key: string;
  readonly scope: Scope;
  /** The scope's own Forgejo token, or the default one. */
  readonly forgejo_token: SecretRef;
  /** Where `forgejo_token` is configured: the scope's own key, or `forgejo.token_*` (the default). */
  readonly forgejo_token_key: string;
  /** Credential overrides by provider name, parsed for that provider's kind. */
  readonly providers: Readonly<Record<string, unknown>>;
  readonly limits: {
    readonly vm_minutes_per_day?: number | undefined;
    readonly money_per_day?: number | undefined;
  };
}

export interface ClientEntry {
  readonly name: string;
  readonly token: SecretRef;
  /** Canonical scope keys, or every configured scope. */
  readonly scopes: '*' | readonly string[];
}

export interface CheckedDispatcherConfig extends Omit<Parsed, 'scopes' | 'clients'> {
  readonly scopes: readonly ScopeEntry[];
  readonly clients: readonly ClientEntry[];
}

/** Cross-field checks: names that must exist or be unique, routes that would tie, scopes that parse. */
export function checkDispatcherConfig(
  parsed: Parsed,
): { ok: true; config: CheckedDispatcherConfig } | { ok: false; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const providerNames = Object.keys(parsed.providers);
  checkRoutes(parsed, providerNames, issues);
  const scopes = checkScopes(parsed, providerNames, issues);
  const clients = checkClients(parsed, scopes, issues);
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: { ...parsed, scopes, clients } };
}

function checkRoutes(parsed: Parsed, providerNames: string[], issues: ConfigIssue[]): void {
  const seen = new Map<string, number>();
  parsed.routes.forEach((route, i) => {
    const first = seen.get(route.name);
    if (first !== undefined) {
      issues.push({
        path: ['routes', i, 'name'],
        message: `duplicate route name "${route.name}" (also routes[${first}])`,
      });
    } else seen.set(route.name, i);

    reportDuplicates(route.labels, ['routes', i, 'labels'], 'label', issues);
    reportDuplicates(route.providers, ['routes', i, 'providers'], 'provider', issues);
    route.providers.forEach((name, j) => {
      if (!providerNames.includes(name)) {
        issues.push({
          path: ['routes', i, 'providers', j],
          message: `unknown provider "${name}" (known: ${providerNames.join(', ')})`,
        });
      }
    });

    const declared = route.runner_labels.map(runnerLabelName);
    reportDuplicates(declared, ['routes', i, 'runner_labels'], 'runner label name', issues);
    for (const label of route.labels) {
      if (!declared.includes(label)) {
        issues.push({
          path: ['routes', i, 'runner_labels'],
          message: `no runner label for "${label}" (add ${label}:host or ${label}:docker://IMAGE); Forgejo only hands the job to a runner declaring every runs-on label`,
        });
      }
    }

    checkMetadataAccess(parsed, i, issues);

    const warm = route.warm;
    if (warm !== undefined) {
      if (parsed.agent === undefined && (warm.min_idle > 0 || warm.schedule.length > 0)) {
        issues.push({
          path: ['routes', i, 'warm'],
          message: 'a warm pool needs the agent endpoint: set agent.public_url (and agent.listen)',
        });
      }
      if (warm.provider !== undefined && !route.providers.includes(warm.provider)) {
        issues.push({
          path: ['routes', i, 'warm', 'provider'],
          message: `"${warm.provider}" is not one of this route's providers (${route.providers.join(', ')})`,
        });
      }
    }

    const { boot, job, max_lifetime } = route.timeouts;
    if (max_lifetime <= boot + job) {
      issues.push({
        path: ['routes', i, 'timeouts', 'max_lifetime'],
        message: 'must be longer than timeouts.boot + timeouts.job, or running jobs would be killed',
      });
    }
  });

  for (const { first, second, shared } of findAmbiguousRoutes(parsed.routes)) {
    issues.push({
      path: ['routes', second, 'labels'],
      message: `ambiguous with routes[${first}] ("${parsed.routes[first]?.name}"): a job with runs-on [${shared.join(', ')}] matches both with the same number of labels; make the label sets differ in size or add a route for exactly [${shared.join(', ')}]`,
    });
  }
}

/** `docker`, `host` or `lxc` of a runner label the schema has accepted (`name:scheme[:arg]`). */
function labelScheme(label: string): string {
  return label.split(':')[1] ?? '';
}

/** What a provider's VMs carry that the metadata service hands to any process able to ask. */
function vmCredentials(provider: Parsed['providers'][string]): string | undefined {
  if (provider.kind !== 'ec2') return undefined;
  if (provider.instance_profile !== undefined) return `ec2 instance_profile "${provider.instance_profile}"`;
  const template = provider.launch_template;
  if (template === undefined) return undefined;
  return `ec2 launch_template "${template.id ?? template.name}", which may carry an instance profile`;
}

/**
 * A job must not get the VM's cloud credentials unless the operator says so: a route whose
 * providers' VMs carry some needs every job in a container (the metadata block), or host-mode
 * jobs under runner.host_user, or runner.allow_metadata. host_user on a route that also starts
 * containers is refused anywhere: the runner would need the root-equivalent docker group.
 */
function checkMetadataAccess(parsed: Parsed, i: number, issues: ConfigIssue[]): void {
  const route = parsed.routes[i];
  if (route === undefined) return;
  const hostUser = route.runner?.host_user ?? parsed.runner.host_user;
  const allowMetadata = route.runner?.allow_metadata ?? parsed.runner.allow_metadata;
  const host = route.runner_labels.filter((label) => labelScheme(label) === 'host');
  const other = route.runner_labels.filter((label) => labelScheme(label) !== 'host');
  if (hostUser !== undefined && host.length > 0 && other.length > 0) {
    issues.push({
      path: ['routes', i, 'runner_labels'],
      message: `runner.host_user "${hostUser}" runs host-mode jobs unprivileged, but this route also has ${other.join(', ')}: to start containers the runner would need root or the docker group, which is root-equivalent; split it into a route of host labels and one of docker:// labels`,
    });
    return;
  }
  const uncontained = route.runner_labels.filter((label) => labelScheme(label) !== 'docker');
  const unprivileged = hostUser !== undefined && other.length === 0;
  if (allowMetadata || uncontained.length === 0 || unprivileged) return;
  for (const name of route.providers) {
    const provider = parsed.providers[name];
    const credentials = provider === undefined ? undefined : vmCredentials(provider);
    if (credentials === undefined) continue;
    issues.push({
      path: ['routes', i, 'runner_labels'],
      message: `${uncontained.join(', ')}: jobs outside docker containers, as root, on VMs of provider "${name}" (${credentials}) could take its credentials from the metadata service; use only docker:// runner labels (containers are kept from it), or set runner.host_user (host-mode jobs run unprivileged and are kept from it), or set runner.allow_metadata: true to hand the credentials to every job`,
    });
  }
}

function checkScopes(parsed: Parsed, providerNames: string[], issues: ConfigIssue[]): ScopeEntry[] {
  const entries: ScopeEntry[] = [];
  const scopeKeys = parseScopeKeys(
    parsed.scopes,
    issues,
    'expected at least one scope (instance, org:NAME, user:NAME or repo:OWNER/NAME)',
  );
  for (const { key: canonical, written: key, scope, settings } of scopeKeys) {
    const token = settings.forgejo_token ?? parsed.forgejo.token;
    if (token === undefined) {
      issues.push({
        path: ['scopes', key, 'forgejo_token_file'],
        message:
          'no Forgejo token for this scope: set forgejo_token_file here or forgejo.token_file as the default',
      });
    }
    const overrides: Record<string, unknown> = {};
    for (const [name, raw] of Object.entries(settings.providers)) {
      const provider = parsed.providers[name];
      if (provider === undefined) {
        issues.push({
          path: ['scopes', key, 'providers', name],
          message: `unknown provider "${name}" (known: ${providerNames.join(', ')})`,
        });
        continue;
      }
      const schema = scopeCredentialsSchema(provider.kind);
      const result = schema.safeParse(raw);
      if (result.success) overrides[name] = result.data;
      else {
        for (const issue of fromZodIssues(result.error.issues, raw, schema)) {
          issues.push({ path: ['scopes', key, 'providers', name, ...issue.path], message: issue.message });
        }
      }
    }
    if (token !== undefined)
      entries.push({
        key: canonical,
        scope,
        forgejo_token: token,
        forgejo_token_key:
          settings.forgejo_token === undefined
            ? 'forgejo.token (the default)'
            : `scopes."${canonical}".forgejo_token`,
        providers: overrides,
        limits: settings.limits,
      });
  }
  return entries;
}

function checkClients(parsed: Parsed, scopes: ScopeEntry[], issues: ConfigIssue[]): ClientEntry[] {
  const configured = new Map(scopes.map((s) => [s.key.toLowerCase(), s.key]));
  const names = new Map<string, number>();
  return parsed.clients.map((client, i) => {
    const first = names.get(client.name);
    if (first !== undefined) {
      issues.push({
        path: ['clients', i, 'name'],
        message: `duplicate client name "${client.name}" (also clients[${first}])`,
      });
    } else names.set(client.name, i);

    if (client.scopes.includes('*')) {
      if (client.scopes.length > 1) {
        issues.push({
          path: ['clients', i, 'scopes'],
          message: '"*" already means every configured scope; list nothing else',
        });
      }
      return { name: client.name, token: client.token, scopes: '*' as const };
    }
    const keys: string[] = [];
    client.scopes.forEach((text, j) => {
      let canonical: string;
      try {
        canonical = formatScope(parseScope(text));
      } catch (error) {
        if (!(error instanceof ScopeSyntaxError)) throw error;
        issues.push({ path: ['clients', i, 'scopes', j], message: error.message });
        return;
      }
      const key = configured.get(canonical.toLowerCase());
      if (key === undefined) {
        issues.push({
          path: ['clients', i, 'scopes', j],
          message: `scope "${text}" is not configured under scopes (configured: ${[...configured.values()].join(', ') || 'none'})`,
        });
      } else keys.push(key);
    });
    return { name: client.name, token: client.token, scopes: keys };
  });
}

function reportDuplicates(
  values: readonly string[],
  path: ConfigIssue['path'],
  what: string,
  issues: ConfigIssue[],
): void {
  const seen = new Set<string>();
  for (const value of values) {
    if (seen.has(value)) issues.push({ path, message: `duplicate ${what} "${value}"` });
    seen.add(value);
  }
}
