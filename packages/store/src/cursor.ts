import { InvalidCursorError } from './errors.js';

/** The position after the last item of a page: the keyset `(created_at, id)` of that item. */
export interface CursorPosition {
  readonly created_at: number;
  readonly id: string;
}

// The leading version lets a later format be told apart from this one instead of misread.
const CURSOR_VERSION = 1;
const MAX_CURSOR_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]+$/;

export function encodeCursor(position: CursorPosition): string {
  return Buffer.from(JSON.stringify([CURSOR_VERSION, position.created_at, position.id])).toString(
    'base64url',
  );
}

export function decodeCursor(cursor: string): CursorPosition {
  if (cursor.length > MAX_CURSOR_LENGTH) throw new InvalidCursorError('too long');
  if (!BASE64URL.test(cursor)) throw new InvalidCursorError('not base64url');
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw new InvalidCursorError('not a cursor');
  }
  if (!Array.isArray(value) || value.length !== 3 || value[0] !== CURSOR_VERSION) {
    throw new InvalidCursorError('not a cursor');
  }
  const [, created_at, id] = value as unknown[];
  if (!Number.isSafeInteger(created_at) || typeof id !== 'string')
    throw new InvalidCursorError('not a cursor');
  const position = { created_at: created_at as number, id };
  // Node's base64url decoder skips stray characters; only the canonical spelling is accepted.
  if (encodeCursor(position) !== cursor) throw new InvalidCursorError('not canonical');
  return position;
}
