/**
 * @module
 * Known-answer vectors for the callback cipher, computed in Node with `node:crypto` exactly the
 * way the official libraries do it (openssl AES-256-CBC with auto padding off, PKCS#7 to 32
 * bytes done by hand), independently of worker/wecom/crypto.ts. Deterministic, so a failure
 * reproduces. The global setup hands them to the workerd tests through `provide`.
 */
import { createCipheriv, createHash } from 'node:crypto';
import type { DecryptFailure } from '../../worker/wecom/crypto.ts';

export interface CryptoVector {
  name: string;
  encodingAESKey: string;
  token: string;
  timestamp: string;
  nonce: string;
  /** base64, as WeCom puts it in `Encrypt` or `echostr` */
  ciphertext: string;
  /** lowercase hex sha1 over the sorted token, timestamp, nonce and ciphertext */
  signature: string;
  message: string;
  receiveId: string;
  /** the 16 random leading bytes, hex, so encryptMessage can reproduce `ciphertext` exactly */
  random16: string;
  padByte: number;
}

export interface CryptoFailureVector {
  name: string;
  encodingAESKey: string;
  ciphertext: string;
  reason: DecryptFailure;
}

export interface CryptoVectors {
  vectors: CryptoVector[];
  failures: CryptoFailureVector[];
}

const BLOCK = 32;
const CORP_ID = 'wwvectorcorp000001';

function deterministicBytes(label: string, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let offset = 0, round = 0; offset < length; offset += 32, round++) {
    const digest = createHash('sha256').update(`${label}#${round}`).digest();
    out.set(digest.subarray(0, Math.min(32, length - offset)), offset);
  }
  return out;
}

/** 43 characters from [A-Za-z0-9], like the admin console generates; `last` chooses the final one. */
function makeEncodingAESKey(label: string, last: string): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  const chars = [...deterministicBytes(label, 42)].map((byte) => alphabet[byte % alphabet.length]);
  return chars.join('') + last;
}

// 'B' leaves unused low bits set in the final base64 digit, like the official sample key's 'C':
// a decoder that insists on canonical base64 would refuse real keys.
const KEY = makeEncodingAESKey('crypto-vectors key', 'B');
const CANONICAL_KEY = makeEncodingAESKey('crypto-vectors canonical key', 'A');

function hex(bytes: Uint8Array): string {
  return [...bytes].map((byte) => byte.toString(16).padStart(2, '0')).join('');
}

function aesKey(encodingAESKey: string): Buffer {
  const key = Buffer.from(`${encodingAESKey}=`, 'base64');
  if (key.length !== 32) throw new Error(`test key decodes to ${key.length} bytes`);
  return key;
}

function encryptRaw(encodingAESKey: string, plain: Buffer): string {
  if (plain.length % 16 !== 0) throw new Error('raw plaintext must be whole AES blocks');
  const key = aesKey(encodingAESKey);
  const cipher = createCipheriv('aes-256-cbc', key, key.subarray(0, 16));
  cipher.setAutoPadding(false);
  return Buffer.concat([cipher.update(plain), cipher.final()]).toString('base64');
}

function body(random16: Buffer, message: Buffer, receiveId: Buffer, declaredLength = message.length): Buffer {
  const length = Buffer.alloc(4);
  length.writeUInt32BE(declaredLength);
  return Buffer.concat([random16, length, message, receiveId]);
}

function pad32(data: Buffer): { padded: Buffer; padByte: number } {
  const padByte = BLOCK - (data.length % BLOCK);
  return { padded: Buffer.concat([data, Buffer.alloc(padByte, padByte)]), padByte };
}

function signature(token: string, timestamp: string, nonce: string, encrypt: string): string {
  return createHash('sha1').update([token, timestamp, nonce, encrypt].sort().join('')).digest('hex');
}

function vector(name: string, message: string, receiveId: string, options: { key?: string; random16?: Buffer } = {}): CryptoVector {
  const encodingAESKey = options.key ?? KEY;
  const random16 = options.random16 ?? deterministicBytes(`random ${name}`, 16);
  const { padded, padByte } = pad32(body(random16, Buffer.from(message, 'utf8'), Buffer.from(receiveId, 'utf8')));
  const ciphertext = encryptRaw(encodingAESKey, padded);
  const seed = deterministicBytes(`meta ${name}`, 8);
  const view = new DataView(seed.buffer, seed.byteOffset, seed.byteLength);
  const token = `tok${hex(seed).slice(0, 8)}`;
  const timestamp = String(1_718_000_000 + view.getUint16(0));
  const nonce = String(view.getUint32(2));
  return {
    name,
    encodingAESKey,
    token,
    timestamp,
    nonce,
    ciphertext,
    signature: signature(token, timestamp, nonce, ciphertext),
    message,
    receiveId,
    random16: hex(random16),
    padByte,
  };
}

/** An ASCII XML message whose plaintext pads with exactly `padByte` bytes for a corp receive id. */
function messageForPad(padByte: number): string {
  const prefix = '<xml><Content><![CDATA[';
  const suffix = ']]></Content></xml>';
  const fixed = 20 + prefix.length + suffix.length + Buffer.byteLength(CORP_ID);
  // total ≡ −padByte (mod 32); at least one filler character, and a second block size now and then.
  let filler = (((-padByte - fixed) % BLOCK) + BLOCK) % BLOCK;
  if (filler === 0 || padByte % 3 === 0) filler += BLOCK;
  return prefix + 'x'.repeat(filler) + suffix;
}

function failure(name: string, plain: Buffer, reason: DecryptFailure): CryptoFailureVector {
  return { name, encodingAESKey: KEY, ciphertext: encryptRaw(KEY, plain), reason };
}

function failures(): CryptoFailureVector[] {
  const random16 = deterministicBytes('failures', 16);
  const corp = Buffer.from(CORP_ID);
  const hello = Buffer.from('<xml>hello</xml>');
  const withPad = (data: Buffer, last: number[]) => {
    const filler = Buffer.alloc((BLOCK - ((data.length + last.length) % BLOCK)) % BLOCK, 0x41);
    return Buffer.concat([data, filler, Buffer.from(last)]);
  };
  const aligned = body(random16, hello, corp); // 58 bytes, padded below by hand
  return [
    failure('pad byte 0', withPad(aligned, [0]), 'bad_padding'),
    // 33 bytes of 33: consistent, so only the 1..32 range check can refuse it.
    failure('pad byte 33', withPad(aligned, Array.from({ length: 33 }, () => 33)), 'bad_padding'),
    failure('pad bytes that disagree', withPad(aligned, [4, 4, 3, 4]), 'bad_padding'),
    failure('a whole block of padding and nothing else', Buffer.alloc(32, 32), 'bad_message_length'),
    failure('padding that eats into the length field', Buffer.concat([random16, Buffer.alloc(16, 16)]), 'bad_message_length'),
    failure('declared length one past the end', pad32(body(random16, hello, corp, hello.length + corp.length + 1)).padded, 'bad_message_length'),
    failure('declared length 2^32 - 1', pad32(body(random16, hello, corp, 0xffffffff)).padded, 'bad_message_length'),
    failure('message that is not UTF-8', pad32(body(random16, Buffer.from([0x3c, 0xff, 0x3e]), corp)).padded, 'bad_utf8'),
    failure('overlong UTF-8 in the message', pad32(body(random16, Buffer.from([0xc0, 0xaf]), corp)).padded, 'bad_utf8'),
    failure('receive id cut inside a character', pad32(body(random16, hello, Buffer.from([0x77, 0x77, 0xe4, 0xbc]))).padded, 'bad_utf8'),
  ];
}

export function makeCryptoVectors(): CryptoVectors {
  const vectors: CryptoVector[] = [];
  for (let padByte = 1; padByte <= BLOCK; padByte++) vectors.push(vector(`ascii, pad ${padByte}`, messageForPad(padByte), CORP_ID));
  vectors.push(
    vector('echostr-like digits', '4835617204589361872', CORP_ID),
    vector('empty message', '', CORP_ID),
    vector('CJK message', '<xml><Content><![CDATA[你好，企业微信客户联系]]></Content></xml>', CORP_ID),
    vector('emoji message', '<xml><Content><![CDATA[👋🏽 客户 🎉 Ünïcödé]]></Content></xml>', CORP_ID),
    vector('suite id as receive id', '<xml><InfoType><![CDATA[suite_ticket]]></InfoType></xml>', 'wwsuite7d1c0a9e3f2b'),
    vector('empty receive id (personal third-party app)', '<xml><Content>x</Content></xml>', ''),
    vector('non-ASCII receive id', '<xml/>', '企业微信'),
    vector('large message', `<xml><Content><![CDATA[${'汉字 and ASCII 😀 '.repeat(4000)}]]></Content></xml>`, CORP_ID),
    vector('all-zero random prefix', '<xml>zero</xml>', CORP_ID, { random16: Buffer.alloc(16) }),
    vector('canonical key', '<xml>canonical</xml>', CORP_ID, { key: CANONICAL_KEY }),
  );
  return { vectors, failures: failures() };
}
