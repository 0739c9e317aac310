import { MockAgent } from 'undici';
import { createForgejoClient, type ForgejoClientOptions } from '../client.js';
import type { RequestEvent } from '../transport.js';

export const ORIGIN = 'http://forgejo.test';
export const TOKEN = 'pat_0123456789abcdef0123456789abcdef';

/** A client on a MockAgent that records calls, backoff sleeps and request events; no real sleeps. */
export function mockForgejo(overrides: Partial<ForgejoClientOptions> = {}) {
  const agent = new MockAgent({ enableCallHistory: true });
  agent.disableNetConnect();
  const pool = agent.get(ORIGIN);
  const sleeps: number[] = [];
  const events: RequestEvent[] = [];
  const client = createForgejoClient({
    apiUrl: ORIGIN,
    token: TOKEN,
    dispatcher: agent,
    retry: { baseMs: 100, maxMs: 1_000 },
    sleep: async (ms) => {
      sleeps.push(ms);
    },
    random: () => 0.5,
    onRequest: (e) => events.push(e),
    ...overrides,
  });
  function calls() {
    return agent.getCallHistory()?.calls() ?? [];
  }
  return { agent, pool, client, sleeps, events, calls };
}

export const JSON_HEADERS = { 'content-type': 'application/json;charset=utf-8' };

export function job(overrides: Record<string, unknown> = {}) {
  return {
    id: 11,
    handle: 'b6c2a9e4-6f0e-4a43-9a55-1d2f0e7f3c01',
    attempt: 1,
    repo_id: 3,
    owner_id: 2,
    name: 'build',
    needs: null,
    runs_on: ['docker'],
    task_id: 0,
    status: 'waiting',
    ...overrides,
  };
}

export function runner(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    uuid: `00000000-0000-4000-8000-${String(id).padStart(12, '0')}`,
    owner_id: 2,
    repo_id: 0,
    name: `ff-${id}`,
    status: 'offline',
    version: '',
    labels: null,
    description: '',
    ephemeral: true,
    ...overrides,
  };
}

export function hook(id: number, overrides: Record<string, unknown> = {}) {
  return {
    id,
    type: 'forgejo',
    branch_filter: '',
    config: { url: 'https://fleet.example/webhook', content_type: 'json' },
    events: ['action_run_success', 'action_run_failure'],
    authorization_header: '',
    active: true,
    updated_at: '2026-01-01T00:00:00Z',
    created_at: '2026-01-01T00:00:00Z',
    ...overrides,
  };
}
