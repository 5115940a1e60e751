/**
 * @module
 * WeCom callback crypto: the msg_signature and the AES-256-CBC message envelope
 * (reference §5.4/§5.5). Pure WebCrypto, so it runs in workerd and in Node (the simulator).
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

export async function sha1Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', encoder.encode(text)));
  let hex = '';
  for (const byte of digest) hex += byte.toString(16).padStart(2, '0');
  return hex;
}

/** Runs in time that depends only on the length; a length mismatch returns early, since signature lengths are public. */
export function timingSafeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

export async function callbackSignature(token: string, timestamp: string, nonce: string, encrypt: string): Promise<string> {
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
}

// Bounded because the key string comes from configuration that may rotate; a handful of
// apps per deployment is the expected size. Resolved keys are cached, not promises, so a
// pending import never crosses from one request's context into another's.
const KEY_CACHE_LIMIT = 16;
const keyCache = new Map<string, AesKey>();

async function aesKey(encodingAESKey: string): Promise<AesKey | undefined> {
  const cached = keyCache.get(encodingAESKey);
  if (cached) {
    keyCache.delete(encodingAESKey);
    keyCache.set(encodingAESKey, cached);
    return cached;
  }
  if (encodingAESKey.length !== 43) return undefined;
  const raw = decodeBase64(`${encodingAESKey}=`);
  if (!raw || raw.length !== 32) return undefined;
  const key = await crypto.subtle.importKey('raw', raw, { name: 'AES-CBC' }, false, ['encrypt', 'decrypt']);
  const entry: AesKey = { key, iv: raw.slice(0, AES_BLOCK) };
  if (keyCache.size >= KEY_CACHE_LIMIT) {
    const oldest = keyCache.keys().next();
    if (!oldest.done) keyCache.delete(oldest.value);
  }
  keyCache.set(encodingAESKey, entry);
  return entry;
}

export async function decryptMessage(encodingAESKey: string, ciphertextBase64: string): Promise<DecryptResult> {
  const aes = await aesKey(encodingAESKey);
  if (!aes) return { ok: false, reason: 'bad_key' };
  // A proxy that decodes a raw '+' in the query string leaves a space (reference §5.2 step 1).
  const ciphertext = decodeBase64(ciphertextBase64.replaceAll(' ', '+'));
  if (!ciphertext) return { ok: false, reason: 'bad_base64' };
  if (ciphertext.length === 0 || ciphertext.length % WECOM_BLOCK !== 0) return { ok: false, reason: 'bad_length' };

  // WebCrypto insists on stripping a valid 16-byte PKCS#7 block, which WeCom's pad 17..32
  // never is. Forge one more ciphertext block that decrypts to sixteen 0x10 bytes
  // (CBC-encrypt that block chained from the real last block), let WebCrypto strip it, and
  // keep WeCom's own padding for the checks below.
  const lastBlock = ciphertext.slice(ciphertext.length - AES_BLOCK);
  const fullPadBlock = new Uint8Array(AES_BLOCK).fill(AES_BLOCK);
  const forged = new Uint8Array(await crypto.subtle.encrypt({ name: 'AES-CBC', iv: lastBlock }, aes.key, fullPadBlock));
  const extended = new Uint8Array(ciphertext.length + AES_BLOCK);
  extended.set(ciphertext);
  extended.set(forged.subarray(0, AES_BLOCK), ciphertext.length);

  let plain: Uint8Array;
  try {
    plain = new Uint8Array(await crypto.subtle.decrypt({ name: 'AES-CBC', iv: aes.iv }, aes.key, extended));
  } catch {
    // Unreachable by construction (the forged block always unpads); kept so a runtime quirk
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
  const aes = await aesKey(encodingAESKey);
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
const BASE64_VALUES = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64_ALPHABET.length; i++) BASE64_VALUES[BASE64_ALPHABET.charCodeAt(i)] = i;

/**
 * Strict about the alphabet, the length and where '=' may stand (atob would skip whitespace
 * and accept missing padding). Lenient about unused trailing bits: WeCom's own
 * EncodingAESKeys (the official sample's ends in 'C') only decode that way.
 */
function decodeBase64(text: string): Uint8Array<ArrayBuffer> | undefined {
  if (text.length % 4 !== 0) return undefined;
  let padding = 0;
  if (text.endsWith('==')) padding = 2;
  else if (text.endsWith('=')) padding = 1;
  const out = new Uint8Array((text.length / 4) * 3 - padding);
  let bits = 0;
  let bitCount = 0;
  let written = 0;
  for (let i = 0; i < text.length - padding; i++) {
    const code = text.charCodeAt(i);
    const value = code < 128 ? (BASE64_VALUES[code] ?? -1) : -1;
    if (value < 0) return undefined;
    bits = ((bits << 6) | value) & 0xffffff;
    bitCount += 6;
    if (bitCount >= 8) {
      bitCount -= 8;
      out[written++] = (bits >> bitCount) & 0xff;
    }
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
