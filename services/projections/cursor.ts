/** Opaque keyset cursors for Link rel="next": base64url of the last row's sort key. */
import { ServiceError } from '../shared/errors.js';
import type { PageCursor } from './readModel.js';

export function encodeCursor(cursor: PageCursor): string {
  return Buffer.from(JSON.stringify([cursor.usernameKey, cursor.userId]), 'utf8').toString('base64url');
}

export function decodeCursor(text: string): PageCursor {
  try {
    const value: unknown = JSON.parse(Buffer.from(text, 'base64url').toString('utf8'));
    if (Array.isArray(value) && value.length === 2 && typeof value[0] === 'string' && typeof value[1] === 'string') {
      return { usernameKey: value[0], userId: value[1] };
    }
  } catch {
    // falls through to the error below
  }
  throw new ServiceError('invalid-cursor', 'cursor is not a cursor this service issued');
}
