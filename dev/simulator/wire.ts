/**
 * @module
 * What crosses the wire to and from the WeCom APIs: the Hono environment (the caller's address,
 * the checked token), the `{errcode: 0, errmsg: 'ok'}` and error replies, JSON request bodies
 * read as WeCom reads them (unparseable 47001, wrong types 40058, numbers also as numeric
 * strings), and pagination cursors bound to the request they came from (50100).
 */
import type { Context } from 'hono';
import { errorBody, fail } from './errors.ts';
import type { AccessTokenRecord, JsonObject } from './state.ts';

export type SimBindings = { remoteAddress?: string };
export type SimEnv = { Bindings: SimBindings; Variables: { token: AccessTokenRecord } };
export type Ctx = Context<SimEnv>;

/** What 60020 names when the caller's address is unknown (app.request in tests): TEST-NET-3. */
const FALLBACK_CALLER_IP = '203.0.113.10';

export function callerIp(c: Ctx): string {
  const env: SimBindings | undefined = c.env;
  const address = env?.remoteAddress;
  if (!address) return FALLBACK_CALLER_IP;
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** WeCom's error body for this caller, stamped with the simulator's clock (`at`). */
export function wecomError(c: Ctx, at: number, errcode: number, detail?: string): { errcode: number; errmsg: string } {
  return errorBody(errcode, detail, at, callerIp(c));
}

export const ok = (c: Ctx, body: JsonObject = {}) => c.json({ errcode: 0, errmsg: 'ok', ...body });

// Request bodies: WeCom POST APIs take JSON; wrong types are 40058, unparseable bodies 47001.

export async function readJson(c: Ctx): Promise<JsonObject> {
  const text = await c.req.text();
  if (text.trim() === '') return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    fail(47001);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) fail(47001);
  return parsed as JsonObject;
}

export function optString(body: JsonObject, key: string): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') fail(40058, `${key} must be a string`);
  return value;
}

export function optStringList(body: JsonObject, key: string): string[] | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value) || !value.every((item) => typeof item === 'string')) fail(40058, `${key} must be an array of strings`);
  return value as string[];
}

/** WeCom accepts numbers given as JSON numbers or numeric strings (agentid, limit). */
export function optInteger(body: JsonObject, key: string): number | undefined {
  const value = body[key];
  if (value === undefined || value === null || value === '') return undefined;
  const number = typeof value === 'string' && /^-?\d+$/.test(value) ? Number(value) : value;
  if (typeof number !== 'number' || !Number.isInteger(number)) fail(40058, `${key} must be an integer`);
  return number;
}

// Pagination cursors: opaque to clients, refused (50100) when replayed against another request.

/** FNV-1a, only to bind a pagination cursor to the request it came from. */
function fingerprint(value: string): string {
  let hash = 0x811c9dc5;
  for (let i = 0; i < value.length; i++) {
    hash ^= value.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return (hash >>> 0).toString(36);
}

export function encodeCursor(offset: number, boundTo: string): string {
  return btoa(`${offset}:${fingerprint(boundTo)}`).replace(/=+$/, '');
}

export function decodeCursor(cursor: string | undefined, boundTo: string): number {
  if (!cursor) return 0;
  let text: string;
  try {
    text = atob(cursor);
  } catch {
    fail(50100);
  }
  const match = /^(\d+):([0-9a-z]+)$/.exec(text);
  if (!match || match[2] !== fingerprint(boundTo)) fail(50100);
  return Number(match[1]);
}
