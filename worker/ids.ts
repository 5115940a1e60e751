/**
 * @module
 * The shape of every id a client may send, checked before the id is used anywhere: in SQL, in a
 * WeCom call or in a path of the company CRM. Each must start with a letter or digit, so `.` and
 * `..` (which a URL would resolve to a parent path) and empty values never pass. Pure.
 */
import { AppError } from './errors.ts';

const PATTERNS = {
  /** WeCom's external_userid (wm…/wo…), and userids of group members. */
  contact: /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/,
  /** The CRM's own ids: the builtin `cus_…`, or whatever the company CRM issues. */
  customer: /^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/,
  /** WeCom's customer-group chat_id (wr…). */
  chat: /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/,
  /** WeCom's corp tag and tag-group ids (et…). */
  tag: /^[A-Za-z0-9][A-Za-z0-9_-]{0,127}$/,
} as const;

export type IdKind = keyof typeof PATTERNS;

export function isId(kind: IdKind, value: unknown): value is string {
  return typeof value === 'string' && PATTERNS[kind].test(value);
}

/** The id unchanged, or a 400 `bad_request` naming which id is malformed. */
export function checkId(kind: IdKind, value: unknown): string {
  if (!isId(kind, value)) {
    throw new AppError(400, 'bad_request', `Malformed ${kind} id: 1-128 letters, digits${kind === 'customer' ? ', _ . : -' : ', _ or -'}, starting with a letter or digit`);
  }
  return value;
}
