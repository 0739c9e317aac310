import { describe, expect, it } from 'vitest';
import { interruptSignal } from './interrupt.js';

describe('interruptSignal', () => {
  it('aborts on SIGINT and leaves no handler behind', () => {
    const before = process.listenerCount('SIGINT');
    const { signal, dispose } = interruptSignal();
    expect(process.listenerCount('SIGINT')).toBe(before + 1);

    process.emit('SIGINT');

    expect(signal.aborted).toBe(true);
    dispose();
    expect(process.listenerCount('SIGINT')).toBe(before);
  });

  it('dispose removes the handler when no SIGINT came', () => {
    const before = process.listenerCount('SIGINT');
    const { signal, dispose } = interruptSignal();

    dispose();

    expect(process.listenerCount('SIGINT')).toBe(before);
    expect(signal.aborted).toBe(false);
  });
});
