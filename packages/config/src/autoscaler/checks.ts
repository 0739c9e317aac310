import type { Scope } from '@forgejo-fleet/forgejo';
import type { z } from 'zod';
import type { ConfigIssue } from '../issues.js';
import { parseScopeKeys } from '../scope-keys.js';
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
  for (const { key: canonical, written: key, scope, settings } of parseScopeKeys(
    parsed.scopes,
    issues,
    'expected at least one scope to poll',
  )) {
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
