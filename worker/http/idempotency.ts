/**
 * @module
 * The `Idempotency-Key` a client sends with a write, so a retried request after a lost answer is
 * the same write (worker/crm/port.ts `WriteContext`) and never a second customer or note.
 */
import { AppError } from '../errors.ts';

const KEY = /^[A-Za-z0-9_-]{8,128}$/;

/**
 * The client's key, scoped by `scope` (the operation, the corp, the subject) so one key cannot
 * answer for another write; a fresh key when the client sent none (then a retry writes again).
 */
export function idempotencyKey(header: string | undefined, ...scope: string[]): string {
  if (header !== undefined && !KEY.test(header)) throw new AppError(400, 'bad_request', 'Idempotency-Key must be 8-128 letters, digits, - or _');
  return [...scope, header ?? crypto.randomUUID()].join(':');
}
