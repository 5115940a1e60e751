/**
 * @module
 * WeCom callback crypto: the msg_signature and the AES-256-CBC message envelope
 * (docs/wecom.md §5.4/§5.5). Pure WebCrypto, so it runs in workerd and in Node (the simulator).
 */

export type DecryptFailure = 'bad_key' | 'bad_base64' | 'bad_length' | 'bad_padding' | 'bad_message_length' | 'bad_utf8';

export type DecryptResult = { ok: true; message: string; receiveId: string } | { ok: false; reason: DecryptFailure };

const encoder = new TextEncoder();
// fatal: a message that is not UTF-8 was not produced by WeCom, so refuse it rather than
// hand U+FFFD-mangled XML downstream. ignoreBOM: the GET echo must be returned byte for byte.
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

// WeCom pads to 32-byte blocks although AES blocks are 16 bytes (the official libraries
// all use block_size = 32), so pad bytes run 1..32.
const WECOM_BLOCK = 32;
const AES_BLOCK = 16;
const HEADER = 20; // random(16) ‖ uint32 BE message length

// Two lowercase hex digits per byte value, built once: a digest is then 20 lookups instead of
// 20 toString + padStart calls.
const HEX_BYTES: readonly string[] = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));

export async function sha1Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', encoder.encode(text)));
  let hex = '';
  for (let i = 0; i < digest.length; i++) hex += HEX_BYTES[digest[i] ?? 0] ?? '';
  return hex;
}

/** Runs in time that depends only on the length; a length mismatch returns early, since signature lengths are public. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

// Not async itself: it hands back sha1Hex's promise, which saves every callback an extra
// promise and its microtask hops (sorting and joining four strings cannot throw).
export function callbackSignature(token: string, timestamp: string, nonce: string, encrypt: string): Promise<string> {
  // Default sort compares UTF-16 code units; that equals the official libraries' byte order
  // for the ASCII values WeCom sends (token, digits, base64).
  return sha1Hex([token, timestamp, nonce, encrypt].sort().join(''));
}

export async function verifyCallbackSignature(
  token: string,
  timestamp: string,
  nonce: string,
  encrypt: string,
  signature: string,
): Promise<boolean> {
  return timingSafeEqual(await callbackSignature(token, timestamp, nonce, encrypt), signature);
}

interface AesKey {
  key: CryptoKey;
  iv: Uint8Array<ArrayBuffer>;
  /** The two blocks decryptMessage appends to every ciphertext; they depend only on the key. */
  unpadTail: Uint8Array<ArrayBuffer>;
}

// Bounded because the key string comes from configuration that may rotate; a handful of
// apps per deployment is the expected size. Resolved keys are cached, not promises, so a
// pending import never crosses from one request's context into another's.
const KEY_CACHE_LIMIT = 16;
const keyCache = new Map<string, AesKey>();

/** A cached key, marked most recently used; synchronous so a hit costs decryptMessage no await. */
function cachedAesKey(encodingAESKey: string): AesKey | undefined {
  const cached = keyCache.get(encodingAESKey);
  if (cached) {
    keyCache.delete(encodingAESKey);
    keyCache.set(encodingAESKey, cached);
  }
  return cached;
}

// Sixteen 0x10 bytes: the one 16-byte PKCS#7 block WebCrypto strips whatever came before it.
const FULL_PAD_BLOCK = new Uint8Array(AES_BLOCK).fill(AES_BLOCK);

async function importAesKey(encodingAESKey: string): Promise<AesKey | undefined> {
  if (encodingAESKey.length !== 43) return undefined;
  const raw = decodeBase64(`${encodingAESKey}=`);
  if (!raw || raw.length !== 32) return undefined;
  const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-CBC' }, false, ['encrypt', 'decrypt']);
  // A zero block Z, then E = AES(key, FULL_PAD_BLOCK) (CBC with a zero IV: its first output block).
  const encryptedPad = await crypto.subtle.encrypt({ name: 'AES-CBC', iv: new Uint8Array(AES_BLOCK) }, key, FULL_PAD_BLOCK);
  const unpadTail = new Uint8Array(2 * AES_BLOCK);
  unpadTail.set(new Uint8Array(encryptedPad, 0, AES_BLOCK), AES_BLOCK);
  const entry: AesKey = { key, iv: raw.slice(0, AES_BLOCK), unpadTail };
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next();
    if (!oldest.done) keyCache.delete(oldest.value);
  }
  keyCache.set(encodingAESKey, entry);
  return entry;
}

export async function decryptMessage(encodingAESKey: string, ciphertextBase64: string): Promise<DecryptResult> {
  const aes = cachedAesKey(encodingAESKey) ?? (await importAesKey(encodingAESKey));
  if (!aes) return { ok: false, reason: 'bad_key' };
  // A proxy that decodes a raw '+' in the query string leaves a space (docs/wecom.md §5.2 step 1).
  // Decoded with room after the ciphertext for the two blocks appended below.
  const extended = decodeBase64(ciphertextBase64.replaceAll(' ', '+'), aes.unpadTail.length);
  if (!extended) return { ok: false, reason: 'bad_base64' };
  const length = extended.length - aes.unpadTail.length;
  if (length === 0 || length % WECOM_BLOCK !== 0) return { ok: false, reason: 'bad_length' };

  // WebCrypto insists on stripping a valid 16-byte PKCS#7 block, which WeCom's pad 17..32
  // never is. So append the key's tail Z ‖ E: in CBC, E decrypts to AES⁻¹(E) XOR Z = sixteen
  // 0x10 bytes, which WebCrypto strips, and Z to 16 bytes of no meaning, dropped below. Each
  // real block decrypts as before (CBC reads only it and the block before it), so WeCom's own
  // padding stays for the checks below. One AES call per message: the tail needs no encryption
  // per message, unlike a block forged from the real last block (docs/wecom.md §5.5).
  extended.set(aes.unpadTail, length);

  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv: aes.iv }, aes.key, extended), 0, length);
  } catch {
    // Unreachable by construction (the appended tail always unpads); kept so a runtime quirk
    // surfaces as a refusal instead of an exception.
    return { ok: false, reason: 'bad_padding' };
  }

  const pad = plain[plain.length - 1] ?? 0;
  if (pad < 1 || pad > WECOM_BLOCK) return { ok: false, reason: 'bad_padding' };
  const end = plain.length - pad;
  for (let i = end; i < plain.length; i++) if (plain[i] !== pad) return { ok: false, reason: 'bad_padding' };

  if (end < HEADER) return { ok: false, reason: 'bad_message_length' };
  const messageLength = new DataView(plain.buffer, plain.byteOffset, plain.byteLength).getUint32(AES_BLOCK);
  if (messageLength > end - HEADER) return { ok: false, reason: 'bad_message_length' };

  try {
    const message = strictUtf8.decode(plain.subarray(HEADER, HEADER + messageLength));
    const receiveId = strictUtf8.decode(plain.subarray(HEADER + messageLength, end));
    return { ok: true, message, receiveId };
  } catch {
    return { ok: false, reason: 'bad_utf8' };
  }
}

/**
 * Encrypts like WeCom does, for passive replies and for the simulator.
 * Throws RangeError on a bad EncodingAESKey or a `random16` that is not 16 bytes:
 * both are programming or configuration errors, not input to refuse.
 */
export async function encryptMessage(
  encodingAESKey: string,
  message: string,
  receiveId: string,
  random16: Uint8Array = crypto.getRandomValues(new Uint8Array(AES_BLOCK)),
): Promise<string> {
  if (random16.length !== AES_BLOCK) throw new RangeError('random16 must be exactly 16 bytes');
  const aes = cachedAesKey(encodingAESKey) ?? (await importAesKey(encodingAESKey));
  if (!aes) throw new RangeError('EncodingAESKey must be 43 base64 characters that decode to 32 bytes');
  const messageBytes = encoder.encode(message);
  const receiveIdBytes = encoder.encode(receiveId);
  const bodyLength = HEADER + messageBytes.length + receiveIdBytes.length;
  const pad = WECOM_BLOCK - (bodyLength % WECOM_BLOCK);
  const plain = new Uint8Array(bodyLength + pad);
  plain.set(random16, 0);
  new DataView(plain.buffer).setUint32(AES_BLOCK, messageBytes.length);
  plain.set(messageBytes, HEADER);
  plain.set(receiveIdBytes, HEADER + messageBytes.length);
  plain.fill(pad, bodyLength);
  const encrypted = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv: aes.iv }, aes.key, plain));
  // WebCrypto appends its own full 16-byte pad block; the CBC prefix before it does not depend on it.
  return encodeBase64(encrypted.subarray(0, plain.length));
}

const BASE64_ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
// Indexed by a character code's low byte; -1 outside the alphabet. Codes above 0xff are refused
// separately, so the table needs no bounds check.
const BASE64_VALUES = new Int8Array(256).fill(-1);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_VALUES[BASE64_ALPHABET.charCodeAt(i)] = i;

/**
 * Strict about the alphabet, the length and where '=' may stand (atob would skip whitespace
 * and accept missing padding). Lenient about unused trailing bits: WeCom's own
 * EncodingAESKeys (the official sample's ends in 'C') only decode that way.
 * The result has `spare` zero bytes after the decoded ones, for a caller that appends.
 */
function decodeBase64(text: string, spare = 0): Uint8Array<ArrayBuffer> | undefined {
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const dataEnd = text.length - padding;
  const out = new Uint8Array((text.length / 4) * 3 - padding + spare);
  // Four characters make three bytes; the last group, shortened by padding, is done below.
  const wholeEnd = dataEnd - (dataEnd % 4);
  let written = 0;
  let i = 0;
  for (; i < wholeEnd; i += 4) {
    const c0 = text.charCodeAt(i);
    const c1 = text.charCodeAt(i + 1);
    const c2 = text.charCodeAt(i + 2);
    const c3 = text.charCodeAt(i + 3);
    const v0 = BASE64_VALUES[c0 & 0xff] ?? -1;
    const v1 = BASE64_VALUES[c1 & 0xff] ?? -1;
    const v2 = BASE64_VALUES[c2 & 0xff] ?? -1;
    const v3 = BASE64_VALUES[c3 & 0xff] ?? -1;
    if ((v0 | v1 | v2 | v3) < 0 || (c0 | c1 | c2 | c3) > 0xff) return undefined;
    const group = (v0 << 18) | (v1 << 12) | (v2 << 6) | v3;
    out[written++] = group >> 16;
    out[written++] = (group >> 8) & 0xff;
    out[written++] = group & 0xff;
  }
  if (i < dataEnd) {
    // Two characters (one '=' short of three) or three: one or two bytes, unused low bits dropped.
    let group = 0;
    for (let shift = 18; i < dataEnd; i++, shift -= 6) {
      const code = text.charCodeAt(i);
      const value = code > 0xff ? -1 : (BASE64_VALUES[code] ?? -1);
      if (value < 0) return undefined;
      group |= value << shift;
    }
    out[written++] = group >> 16;
    if (padding === 1) out[written++] = (group >> 8) & 0xff;
  }
  return out;
}

function encodeBase64(bytes: Uint8Array): string {
  const digit = (n: number, shift: number) => BASE64_ALPHABET.charAt((n >> shift) & 63);
  let out = '';
  let i = 0;
  for (; i + 2 < bytes.length; i += 3) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8) | (bytes[i + 2] ?? 0);
    out += digit(n, 18) + digit(n, 12) + digit(n, 6) + digit(n, 0);
  }
  const rest = bytes.length - i;
  if (rest === 1) out += `${digit((bytes[i] ?? 0) << 16, 18)}${digit((bytes[i] ?? 0) << 16, 12)}==`;
  if (rest === 2) {
    const n = ((bytes[i] ?? 0) << 16) | ((bytes[i + 1] ?? 0) << 8);
    out += `${digit(n, 18)}${digit(n, 12)}${digit(n, 6)}=`;
  }
  return out;
}
