import { describe, expect, it } from 'vitest';
import { CorruptRecordError } from './errors.js';
import { toRecord } from './row.js';

const ROW = {
  id: 'd1',
  handle: 'h1',
  scope: 'org:acme',
  labels: '["linux"]',
  route: 'default',
  client: 'autoscaler',
  job: '{"handle":"h1","id":1,"attempt":1,"repo_id":2,"owner_id":3,"name":"build"}',
  state: 'booting',
  runner: '{"id":5,"uuid":"u","name":"ff-1"}',
  provider: 'local',
  instance_id: 'i-1',
  error: null,
  machine: 'cpx22@fsn1',
  hourly_price: 0.0096,
  retries: 1,
  created_at: 1,
  updated_at: 2,
  transitions: '[{"state":"accepted","at":1,"reason":null},{"state":"booting","at":2,"reason":"up"}]',
};

describe('toRecord', () => {
  it('maps a well-formed row, dropping null reasons', () => {
    const record = toRecord(ROW);

    expect(record.transitions).toEqual([
      { state: 'accepted', at: 1 },
      { state: 'booting', at: 2, reason: 'up' },
    ]);
    expect(record.runner).toEqual({ id: 5, uuid: 'u', name: 'ff-1' });
    expect(record.job?.repo_id).toBe(2);
    expect(record).toMatchObject({ machine: 'cpx22@fsn1', hourly_price: 0.0096, retries: 1 });
  });

  it.each([
    ['labels', { labels: '["linux", 3]' }, 'labels'],
    ['labels', { labels: 'not json' }, 'labels'],
    ['job', { job: '[]' }, 'job'],
    ['job', { job: '{"handle":"h1","id":"1"}' }, 'job.id'],
    ['runner', { runner: '{"id":1.5,"uuid":"u","name":"n"}' }, 'runner.id'],
    ['runner', { runner: 7 }, 'runner'],
    ['state', { state: 'RUNNING' }, 'state'],
    ['scope', { scope: null }, 'scope'],
    ['created_at', { created_at: '1' }, 'created_at'],
    ['hourly_price', { hourly_price: 'cheap' }, 'hourly_price'],
    ['retries', { retries: null }, 'retries'],
    ['transitions', { transitions: '{}' }, 'transitions'],
    ['transitions', { transitions: '[{"state":"accepted","at":"x"}]' }, 'transitions.0.at'],
    ['transitions', { transitions: '[{"state":"accepted","at":1,"reason":4}]' }, 'transitions.0.reason'],
  ])('names the dispatch and field for a corrupt %s', (_name, change, field) => {
    let error: unknown;
    try {
      toRecord({ ...ROW, ...change });
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(CorruptRecordError);
    expect(error).toMatchObject({ dispatchId: 'd1', field });
  });

  it('names the id column when even the id is unreadable', () => {
    expect(() => toRecord({ ...ROW, id: 4 })).toThrow(CorruptRecordError);
    expect(() => toRecord(undefined)).toThrow(/row/);
  });
});
