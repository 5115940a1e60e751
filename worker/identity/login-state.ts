/**
 * @module
 * The OAuth `state`, verifiable without storage, so an anonymous `GET /auth/login` writes nothing.
 *
 * state  = nonce (16 bytes) ‖ expiry (Unix seconds, 4 bytes) ‖ HMAC-SHA-256 over the nonce, the
 *          expiry and the login's context (return path, corp, agent), all hex: 104 characters,
 *          inside WeCom's limit of [a-zA-Z0-9] up to 128 bytes.
 * cookie = nonce "." base64url(JSON [returnTo, corpId, agentId]), HttpOnly on /auth.
 *
 * A state is good only in the browser holding its cookie (CSRF) and only until its expiry; changing
 * either the state or the cookie breaks the MAC. The key is derived from SESSION_SECRET under its own
 * label, so it signs nothing else. Single use is the caller's: it records the nonce once WeCom has
 * authenticated a member.
 */

/** Long enough to scan a QR code. */
export const LOGIN_STATE_SECONDS = 600;
const NONCE_HEX = 32;
const EXPIRY_HEX = 8;
const STATE_PATTERN = /^[0-9a-f]{104}$/;
const KEY_LABEL = 'oauth-state/v1';

export interface LoginContext {
  returnTo: string;
  corpId: string;
  agentId: string;
}

export type LoginStateRefusal = 'malformed' | 'no_cookie' | 'other_browser' | 'bad_signature' | 'expired';

export type LoginStateCheck = { ok: true; nonce: string; context: LoginContext } | { ok: false; reason: LoginStateRefusal };

const encoder = new TextEncoder();
const keys = new Map<string, Promise<CryptoKey>>();

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

function fromHex(text: string): Uint8Array {
  return Uint8Array.from(text.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function base64Url(text: string): string {
  return btoa(String.fromCharCode(...encoder.encode(text))).replaceAll('+', '-').replaceAll('/', '_').replace(/=+$/, '');
}

function fromBase64Url(text: string): string {
  const binary = atob(text.replaceAll('-', '+').replaceAll('_', '/'));
  return new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(Uint8Array.from(binary, (char) => char.charCodeAt(0)));
}

function stateKey(secret: string): Promise<CryptoKey> {
  let key = keys.get(secret);
  if (!key) {
    key = (async () => {
      const master = await crypto.subtle.importKey('raw', encoder.encode(secret), { name: 'HMAC', hash: 'SHA-256' }, false, ['sign']);
      const derived = await crypto.subtle.sign('HMAC', master, encoder.encode(KEY_LABEL));
      return crypto.subtle.importKey('raw', derived, { name: 'HMAC', hash: 'SHA-256' }, false, ['sign', 'verify']);
    })();
    keys.set(secret, key);
  }
  return key;
}

function signedBytes(nonce: string, expiresAt: number, context: LoginContext): Uint8Array {
  return encoder.encode(JSON.stringify([nonce, expiresAt, context.corpId, context.agentId, context.returnTo]));
}

function parseCookie(cookie: string): { nonce: string; context: LoginContext } | undefined {
  const dot = cookie.indexOf('.');
  if (dot !== NONCE_HEX) return undefined;
  try {
    const fields: unknown = JSON.parse(fromBase64Url(cookie.slice(dot + 1)));
    if (!Array.isArray(fields) || fields.length !== 3 || !fields.every((field) => typeof field === 'string')) return undefined;
    const [returnTo, corpId, agentId] = fields as [string, string, string];
    return { nonce: cookie.slice(0, dot), context: { returnTo, corpId, agentId } };
  } catch {
    return undefined;
  }
}

export async function issueLoginState(
  secret: string,
  context: LoginContext,
  nowMs: number,
  nonce: string = hex(crypto.getRandomValues(new Uint8Array(NONCE_HEX / 2))),
): Promise<{ state: string; cookie: string }> {
  const expiresAt = Math.floor(nowMs / 1000) + LOGIN_STATE_SECONDS;
  const mac = await crypto.subtle.sign('HMAC', await stateKey(secret), signedBytes(nonce, expiresAt, context));
  return {
    state: `${nonce}${expiresAt.toString(16).padStart(EXPIRY_HEX, '0')}${hex(new Uint8Array(mac))}`,
    cookie: `${nonce}.${base64Url(JSON.stringify([context.returnTo, context.corpId, context.agentId]))}`,
  };
}

export async function verifyLoginState(secret: string, state: string, cookie: string | undefined, nowMs: number): Promise<LoginStateCheck> {
  if (!STATE_PATTERN.test(state)) return { ok: false, reason: 'malformed' };
  if (!cookie) return { ok: false, reason: 'no_cookie' };
  const nonce = state.slice(0, NONCE_HEX);
  const expiresAt = parseInt(state.slice(NONCE_HEX, NONCE_HEX + EXPIRY_HEX), 16);
  const fromCookie = parseCookie(cookie);
  if (!fromCookie || fromCookie.nonce !== nonce) return { ok: false, reason: 'other_browser' };
  const mac = fromHex(state.slice(NONCE_HEX + EXPIRY_HEX));
  if (!(await crypto.subtle.verify('HMAC', await stateKey(secret), mac, signedBytes(nonce, expiresAt, fromCookie.context)))) {
    return { ok: false, reason: 'bad_signature' };
  }
  if (nowMs >= expiresAt * 1000) return { ok: false, reason: 'expired' };
  return { ok: true, nonce, context: fromCookie.context };
}
