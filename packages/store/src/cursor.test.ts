import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor } from './cursor.js';
import { InvalidArgumentError, InvalidCursorError } from './errors.js';

function b64(text: string): string {
  return Buffer.from(text).toString('base64url');
}

describe('cursor', () => {
  it('round-trips a position as opaque base64url', () => {
    const cursor = encodeCursor({ created_at: 1_700_000_000_000, id: 'd-01/é' });

    expect(cursor).toMatch(/^[A-Za-z0-9_-]+$/);
    expect(decodeCursor(cursor)).toEqual({ created_at: 1_700_000_000_000, id: 'd-01/é' });
  });

  it.each([
    ['empty', ''],
    ['not base64url', 'abc+/='],
    ['not JSON', b64('{nope')],
    ['an object', b64('{"created_at":1,"id":"a"}')],
    ['wrong version', b64('[2,1,"a"]')],
    ['wrong arity', b64('[1,1]')],
    ['float time', b64('[1,1.5,"a"]')],
    ['numeric id', b64('[1,1,2]')],
    ['non-canonical spelling', `${encodeCursor({ created_at: 1, id: 'a' })}A`],
    ['too long', 'A'.repeat(2000)],
  ])('rejects %s with InvalidCursorError naming the field', (_name, cursor) => {
    let error: unknown;
    try {
      decodeCursor(cursor);
    } catch (caught) {
      error = caught;
    }

    expect(error).toBeInstanceOf(InvalidCursorError);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidCursorError).field).toBe('cursor');
  });
});
