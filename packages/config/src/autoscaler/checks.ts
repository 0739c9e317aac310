import { formatScope, parseScope, type Scope, ScopeSyntaxError } from '@forgejo-fleet/forgejo';
import type { z } from 'zod';
import type { ConfigIssue } from '../issues.js';
import type { AutoscalerConfigShape } from './schema.js';

type Parsed = z.infer<typeof AutoscalerConfigShape>;
type ParsedScope = Parsed['scopes'][string];

export interface AutoscalerScopeEntry extends ParsedScope {
  readonly key: string;
  readonly scope: Scope;
}

export interface CheckedAutoscalerConfig extends Omit<Parsed, 'scopes'> {
  readonly scopes: readonly AutoscalerScopeEntry[];
}

export function checkAutoscalerConfig(
  parsed: Parsed,
): { ok: true; config: CheckedAutoscalerConfig } | { ok: false; issues: ConfigIssue[] } {
  const issues: ConfigIssue[] = [];
  const scopes: AutoscalerScopeEntry[] = [];
  const seen = new Map<string, string>();
  if (Object.keys(parsed.scopes).length === 0) {
    issues.push({ path: ['scopes'], message: 'expected at least one scope to poll' });
  }
  for (const [key, settings] of Object.entries(parsed.scopes)) {
    let scope: Scope;
    try {
      scope = parseScope(key);
    } catch (error) {
      if (!(error instanceof ScopeSyntaxError)) throw error;
      issues.push({ path: ['scopes', key], message: error.message });
      continue;
    }
    const canonical = formatScope(scope);
    const twin = seen.get(canonical.toLowerCase());
    if (twin !== undefined) {
      issues.push({
        path: ['scopes', key],
        message: `duplicate scope (same as "${twin}"; Forgejo names are case-insensitive)`,
      });
      continue;
    }
    seen.set(canonical.toLowerCase(), key);
    if (settings.webhook.manage && parsed.webhook === undefined) {
      issues.push({
        path: ['scopes', key, 'webhook', 'manage'],
        message: 'needs the top-level webhook section (listen, public_url, secret_file)',
      });
    }
    scopes.push({ ...settings, key: canonical, scope });
  }
  const webhookPort = parsed.webhook?.listen.port;
  if (webhookPort !== undefined && webhookPort !== 0 && webhookPort === parsed.metrics?.listen.port) {
    issues.push({ path: ['metrics', 'listen', 'port'], message: 'must differ from webhook.listen.port' });
  }
  if (issues.length > 0) return { ok: false, issues };
  return { ok: true, config: { ...parsed, scopes } };
}
