import { isoTime } from './state.js';
import type { FakeHook } from './types.js';

/** Hook types of the v15 swagger `CreateHookOption.type` enum. */
export const HOOK_TYPES = [
  'forgejo',
  'dingtalk',
  'discord',
  'gitea',
  'gogs',
  'msteams',
  'slack',
  'telegram',
  'feishu',
  'wechatwork',
  'packagist',
] as const;

/** Events whose flags only hook creation sets; v15 `editHook` leaves them untouched. */
const CREATE_ONLY_EVENTS = [
  'package',
  'action_run_failure',
  'action_run_recover',
  'action_run_success',
] as const;

/** Order in which `Webhook.EventsArray()` lists enabled events. */
const EVENT_ORDER = [
  'create',
  'delete',
  'fork',
  'push',
  'issues',
  'issue_assign',
  'issue_label',
  'issue_milestone',
  'issue_comment',
  'pull_request',
  'pull_request_assign',
  'pull_request_label',
  'pull_request_milestone',
  'pull_request_comment',
  'pull_request_review_approved',
  'pull_request_review_rejected',
  'pull_request_review_comment',
  'pull_request_sync',
  'wiki',
  'repository',
  'release',
  'package',
  'pull_request_review_request',
  'action_run_failure',
  'action_run_recover',
  'action_run_success',
] as const;

function has(events: readonly string[], name: string): boolean {
  const lower = name.toLowerCase();
  return events.some((e) => e.toLowerCase() === lower);
}

/**
 * The event flags `addHook` derives from the request's `events` (case-insensitive; `issues` and
 * `pull_request` switch on their sub-events), as API event names.
 */
export function eventFlags(events: readonly string[]): Set<string> {
  const flags = new Set<string>();
  for (const simple of [
    'create',
    'delete',
    'fork',
    'push',
    'wiki',
    'repository',
    'release',
    ...CREATE_ONLY_EVENTS,
  ]) {
    if (has(events, simple)) flags.add(simple);
  }
  const issues = (n: string) => has(events, n) || has(events, 'issues');
  if (issues('issues_only')) flags.add('issues');
  for (const n of ['issue_assign', 'issue_label', 'issue_milestone', 'issue_comment'])
    if (issues(n)) flags.add(n);
  const pulls = (n: string) => has(events, n) || has(events, 'pull_request');
  if (pulls('pull_request_only')) flags.add('pull_request');
  for (const n of [
    'pull_request_assign',
    'pull_request_label',
    'pull_request_milestone',
    'pull_request_comment',
    'pull_request_sync',
    'pull_request_review_request',
  ]) {
    if (pulls(n)) flags.add(n);
  }
  if (pulls('pull_request_review')) {
    flags.add('pull_request_review_approved');
    flags.add('pull_request_review_rejected');
    flags.add('pull_request_review_comment');
  }
  return flags;
}

export function orderedEvents(flags: Set<string>): string[] {
  return EVENT_ORDER.filter((e) => flags.has(e));
}

/**
 * v15 `editHook` semantics: every non-create-only flag is recomputed from `events` (empty -> `["push"]`),
 * while `package` and `action_run_*` keep the values set at creation. To change those, recreate the hook.
 */
export function editedEvents(current: readonly string[], requested: readonly string[]): string[] {
  const next = eventFlags(requested.length === 0 ? ['push'] : requested);
  for (const e of CREATE_ONLY_EVENTS) {
    if (current.includes(e)) next.add(e);
    else next.delete(e);
  }
  return orderedEvents(next);
}

/** `validation.IsValidURL`: an absolute http(s) URL. */
export function isValidHookUrl(url: string): boolean {
  try {
    const u = new URL(url);
    return (u.protocol === 'http:' || u.protocol === 'https:') && u.host !== '';
  } catch {
    return false;
  }
}

/** `Hook` JSON of the API (`webhook_service.ToHook`), key order as in Go. */
export function hookJson(hook: FakeHook): Record<string, unknown> {
  return {
    id: hook.id,
    type: hook.type,
    branch_filter: hook.branchFilter,
    url: hook.url,
    config: { url: hook.url, content_type: hook.contentType },
    events: [...hook.events],
    authorization_header: hook.authorizationHeader,
    content_type: hook.contentType,
    metadata: null,
    active: hook.active,
    updated_at: isoTime(hook.updatedAt),
    created_at: isoTime(hook.createdAt),
  };
}

/** Minimal branch glob (`*`, `?`, `{a,b}`) for push branch filters; empty or `*` matches everything. */
export function branchMatches(filter: string, branch: string): boolean {
  if (filter === '' || filter === '*') return true;
  const source = filter
    .split('')
    .map((ch) => {
      if (ch === '*') return '.*';
      if (ch === '?') return '.';
      if (ch === '{') return '(?:';
      if (ch === '}') return ')';
      if (ch === ',') return '|';
      return ch.replace(/[.+^$()|[\]\\]/g, '\\$&');
    })
    .join('');
  return new RegExp(`^${source}$`).test(branch);
}
