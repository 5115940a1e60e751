/**
 * @module
 * JS-SDK signatures, pure: the signed string, the nonce, and which pages may be signed.
 *
 * `wx.config` and `wx.agentConfig` use the same formula with different tickets (corp ticket vs
 * app ticket): sha1 of `jsapi_ticket=…&noncestr=…&timestamp=…&url=…`, keys in that order, raw
 * values. The URL is the page's `location.href` without the fragment, neither encoded nor decoded:
 * the WeCom client compares it with the page it runs in, byte for byte.
 */
import { sha1Hex } from './crypto.ts';
import type { JsSdkSignature } from '../wire.ts';

export interface SignatureInput {
  ticket: string;
  nonceStr: string;
  /** Unix seconds. */
  timestamp: number;
  /** The page URL; a fragment is removed here. */
  url: string;
}

export type { JsSdkSignature };

/** `location.href.split('#')[0]`: everything from the first `#` is the fragment. */
export function stripFragment(url: string): string {
  const hash = url.indexOf('#');
  return hash === -1 ? url : url.slice(0, hash);
}

export function signatureString(input: SignatureInput): string {
  return `jsapi_ticket=${input.ticket}&noncestr=${input.nonceStr}&timestamp=${input.timestamp}&url=${stripFragment(input.url)}`;
}

export async function signJsSdk(input: SignatureInput): Promise<JsSdkSignature> {
  return { timestamp: input.timestamp, nonceStr: input.nonceStr, signature: await sha1Hex(signatureString(input)) };
}

const NONCE_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';

/** A random nonce of letters and digits (`random` is injectable for known-answer tests). */
export function createNonce(length = 16, random: (bytes: Uint8Array) => Uint8Array = (bytes) => crypto.getRandomValues(bytes)): string {
  // 62 does not divide 256: drop bytes ≥ 248 so every character is equally likely.
  const limit = 256 - (256 % NONCE_ALPHABET.length);
  let nonce = '';
  while (nonce.length < length) {
    for (const byte of random(new Uint8Array(length * 2))) {
      if (byte < limit && nonce.length < length) nonce += NONCE_ALPHABET[byte % NONCE_ALPHABET.length];
    }
  }
  return nonce;
}

export type SignableUrl =
  | { ok: true; url: string; origin: string }
  | { ok: false; reason: 'not_a_url' | 'not_http' | 'has_credentials' | 'foreign_origin'; origin?: string };

/**
 * Whether `raw` is a page this worker may sign: an absolute http(s) URL on one of `allowedOrigins`.
 * Anything else would make the worker a signing oracle for other sites. The origin is judged on
 * the parsed URL (as a browser would parse that `location.href`), the signature on the raw text.
 */
export function checkSignableUrl(raw: string, allowedOrigins: readonly string[]): SignableUrl {
  const url = stripFragment(raw);
  // The URL parser silently drops tabs, newlines and edge spaces, so such text could pass the origin
  // check while naming another page; a real `location.href` never contains them.
  if (/[\u0000-\u0020\u007f]/.test(url)) return { ok: false, reason: 'not_a_url' };
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, reason: 'not_a_url' };
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') return { ok: false, reason: 'not_http' };
  if (parsed.username !== '' || parsed.password !== '') return { ok: false, reason: 'has_credentials' };
  if (!allowedOrigins.includes(parsed.origin)) return { ok: false, reason: 'foreign_origin', origin: parsed.origin };
  return { ok: true, url, origin: parsed.origin };
}
