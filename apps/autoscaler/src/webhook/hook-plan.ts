import { createHmac } from 'node:crypto';
import type { CreateHook, Hook, Scope } from '@forgejo-fleet/forgejo';

/** The events our hook subscribes to: what makes jobs appear, and what says a run finished. */
export const HOOK_EVENTS = [
  'push',
  'pull_request',
  'action_run_success',
  'action_run_failure',
  'action_run_recover',
] as const;

/** Forgejo 15 sets these flags only when a hook is created; an edit leaves them as they were. */
const CREATE_ONLY_EVENTS: readonly string[] = [
  'action_run_success',
  'action_run_failure',
  'action_run_recover',
];

/**
 * Query parameter that marks which secret our hook was created with. Forgejo never returns a hook's
 * secret and v15 does not change it on edit, so this is how a rotated secret is noticed (and the
 * hook recreated). It is a truncated HMAC of a constant: it does not reveal the secret.
 */
export const SECRET_ID_PARAM = 'fleet_secret_id';

export function secretId(secret: string): string {
  return createHmac('sha256', secret).update('forgejo-fleet webhook secret id').digest('hex').slice(0, 16);
}

/** The URL our hooks post to: `public_url` plus the secret id. */
export function hookUrl(publicUrl: string, secret: string): string {
  const url = new URL(publicUrl);
  url.searchParams.set(SECRET_ID_PARAM, secretId(secret));
  return url.href;
}

/** Ours = same URL as `public_url` once our secret id parameter is taken out. */
export function isOurHook(hook: Hook, publicUrl: string): boolean {
  const raw = hook.config.url;
  if (raw === undefined) return false;
  try {
    const url = new URL(raw);
    url.searchParams.delete(SECRET_ID_PARAM);
    return url.href === new URL(publicUrl).href;
  } catch {
    return false;
  }
}

export function desiredHook(scope: Scope, publicUrl: string, secret: string): CreateHook {
  return {
    type: 'forgejo',
    config: {
      url: hookUrl(publicUrl, secret),
      content_type: 'json',
      secret,
      // Admin hooks are only system hooks (firing for every repository) when marked so.
      ...(scope.kind === 'instance' ? { is_system_webhook: 'true' as const } : {}),
    },
    events: [...HOOK_EVENTS],
    active: true,
  };
}

export type HookAction =
  | { readonly action: 'create' }
  | { readonly action: 'delete'; readonly id: number; readonly why: string }
  | { readonly action: 'recreate'; readonly id: number; readonly why: string }
  | { readonly action: 'edit'; readonly id: number; readonly why: string };

/**
 * What to change so that exactly one hook of ours exists, as desired (or none when `manage` is
 * off). Other hooks are never in the plan. An empty plan means all is well.
 */
export function planHooks(opts: {
  readonly hooks: readonly Hook[];
  readonly manage: boolean;
  readonly publicUrl: string;
  readonly secret: string;
}): HookAction[] {
  const ours = opts.hooks.filter((hook) => isOurHook(hook, opts.publicUrl));
  if (!opts.manage) return ours.map((hook) => ({ action: 'delete', id: hook.id, why: 'management is off' }));
  const [keep, ...extra] = [...ours].sort((a, b) => rank(a, opts) - rank(b, opts) || a.id - b.id);
  const plan: HookAction[] = extra.map((hook) => ({ action: 'delete', id: hook.id, why: 'duplicate' }));
  if (keep === undefined) return [{ action: 'create' }];
  const why = recreateReason(keep, opts);
  if (why) return [...plan, { action: 'recreate', id: keep.id, why }];
  const editWhy = editReason(keep);
  if (editWhy) plan.push({ action: 'edit', id: keep.id, why: editWhy });
  return plan;
}

// Prefer keeping the hook that needs the least work.
function rank(hook: Hook, opts: { publicUrl: string; secret: string }): number {
  if (recreateReason(hook, opts)) return 2;
  return editReason(hook) ? 1 : 0;
}

function recreateReason(hook: Hook, opts: { publicUrl: string; secret: string }): string | undefined {
  if (hook.config.url !== hookUrl(opts.publicUrl, opts.secret)) return 'created with another secret';
  if (hook.type !== 'forgejo' && hook.type !== 'gitea') return `type ${hook.type} signs differently`;
  const missing = CREATE_ONLY_EVENTS.filter((e) => !hook.events.includes(e));
  if (missing.length > 0) return `missing ${missing.join(', ')} (Forgejo cannot add them by editing)`;
  return undefined;
}

function editReason(hook: Hook): string | undefined {
  if (!hook.active) return 'inactive';
  if ((hook.config.content_type ?? 'json') !== 'json') return `content type ${hook.config.content_type}`;
  const missing = HOOK_EVENTS.filter((e) => !hook.events.includes(e));
  if (missing.length > 0) return `missing ${missing.join(', ')}`;
  return undefined;
}
