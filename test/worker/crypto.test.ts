/**
 * @module
 * The callback cipher inside workerd, against Node-computed vectors (global setup), the
 * official PHP-sample vectors, and hand-made corruptions.
 */
import { describe, expect, inject, it } from 'vitest';
import {
  callbackSignature,
  decryptMessage,
  encryptMessage,
  sha1Hex,
  timingSafeEqual,
  verifyCallbackSignature,
} from '../../worker/wecom/crypto.ts';

const { vectors, failures } = inject('cryptoVectors');
const utf8 = new TextEncoder();

// WeCom's official sample vectors (docs/wecom.md §5.4), from its PHP/Python callback libraries.
const official = {
  token: 'QDG6eK',
  encodingAESKey: 'jWmYm7qr5nMoAUwZRjGtBxmz3KA1tkAj3ykkR6q2B2C',
  corpId: 'wx5823bf96d3bd56c7',
  get: {
    timestamp: '1409659589',
    nonce: '263014780',
    echostr: 'P9nAzCzyDtyTWESHep1vC5X9xho/qYX3Zpb4yKa9SKld1DsH3Iyt3tP3zNdtp+4RPcs8TgAE7OaBO+FZXvnaqQ==',
    signature: '5c45ff5e21c57e6ad56bac8758b79b1d9ac89fd3',
  },
  post: {
    timestamp: '1409659813',
    nonce: '1372623149',
    signature: '477715d11cdb4164915debcba66cb864d751f3e6',
    encrypt:
      'RypEvHKD8QQKFhvQ6QleEB4J58tiPdvo+rtK1I9qca6aM/wvqnLSV5zEPeusUiX5L5X/0lWfrf0QADHHhGd3QczcdCUpj911L3vg3W/sYYvuJTs3TUUkSUXxaccAS0qhxchrRYt66wiSpGLYL42aM6A8dTT+6k4aSknmPj48kzJs8qLjvd4Xgpue06DOdnLxAUHzM6+kDZ+HMZfJYuR+LtwGc2hgf5gsijff0ekUNXZiqATP7PF5mZxZ3Izoun1s4zG4LUMnvw2r+KqCKIw+3IQH03v+BCA9nMELNqbSf6tiWSrXJB3LAVGUcallcrw8V2t9EL4EhzJWrQUax5wLVMNS0+rUPA3k22Ncx4XXZS9o0MBH27Bo6BpNelZpS+/uh9KsNlY6bHCmJU9p8g7m3fVKn28H3KDYA5Pl/T8Z1ptDAVe0lXdQ2YoyyH2uyPIGHBZZIs2pDBS8R07+qN+E7Q==',
  },
};

/** WeCom's pad byte for a plaintext, computed from what decryption returned. */
function padFor(message: string, receiveId: string): number {
  return 32 - ((20 + utf8.encode(message).length + utf8.encode(receiveId).length) % 32);
}

function fromBase64(text: string): Uint8Array {
  return Uint8Array.from(atob(text), (char) => char.charCodeAt(0));
}

function toBase64(bytes: Uint8Array): string {
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function fromHex(hex: string): Uint8Array {
  return Uint8Array.from(hex.match(/../g) ?? [], (pair) => parseInt(pair, 16));
}

function vectorNamed(name: string) {
  const found = vectors.find((vector) => vector.name === name);
  if (!found) throw new Error(`no vector named ${name}`);
  return found;
}

describe('decryptMessage', () => {
  it.each(vectors.map((vector) => [vector.name, vector] as const))('decrypts the Node vector: %s', async (_name, vector) => {
    const result = await decryptMessage(vector.encodingAESKey, vector.ciphertext);
    expect(result).toEqual({ ok: true, message: vector.message, receiveId: vector.receiveId });
  });

  it('covers every pad length from 1 to 32 with the Node vectors', async () => {
    const seen = new Set<number>();
    for (const vector of vectors) {
      const result = await decryptMessage(vector.encodingAESKey, vector.ciphertext);
      if (!result.ok) throw new Error(`${vector.name}: ${result.reason}`);
      const pad = padFor(result.message, result.receiveId);
      expect(pad, vector.name).toBe(vector.padByte);
      seen.add(pad);
    }
    expect([...seen].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
  });

  it('decrypts the official GET echostr to the number string and corp id (pad 7)', async () => {
    const result = await decryptMessage(official.encodingAESKey, official.get.echostr);
    expect(result).toEqual({ ok: true, message: '1616140317555161061', receiveId: official.corpId });
    expect(padFor('1616140317555161061', official.corpId)).toBe(7);
  });

  it('decrypts the official POST Encrypt whose pad byte 30 a plain WebCrypto decrypt rejects', async () => {
    const result = await decryptMessage(official.encodingAESKey, official.post.encrypt);
    if (!result.ok) throw new Error(result.reason);
    expect(result.receiveId).toBe(official.corpId);
    expect(result.message).toContain('<Content><![CDATA[hello]]></Content>');
    expect(result.message).toContain('<MsgId>4561255354251345929</MsgId>');
    expect(result.message).toContain('<AgentID>218</AgentID>');
    expect(padFor(result.message, result.receiveId)).toBe(30);
    expect(utf8.encode(result.message).length + 20 + 18 + 30).toBe(352);

    // The reason the workaround exists: WebCrypto's own 16-byte unpadding refuses this ciphertext.
    const raw = fromBase64(`${official.encodingAESKey}=`);
    const key = await crypto.subtle.importKey('raw', raw, 'AES-CBC', false, ['decrypt']);
    await expect(crypto.subtle.decrypt({ name: 'AES-CBC', iv: raw.slice(0, 16) }, key, fromBase64(official.post.encrypt))).rejects.toThrow();
  });

  it('accepts base64 whose + a proxy turned into spaces', async () => {
    expect(official.get.echostr).toContain('+');
    const result = await decryptMessage(official.encodingAESKey, official.get.echostr.replaceAll('+', ' '));
    expect(result).toEqual({ ok: true, message: '1616140317555161061', receiveId: official.corpId });
  });

  it.each(failures.map((failure) => [failure.name, failure] as const))('refuses the Node failure vector: %s', async (_name, failure) => {
    expect(await decryptMessage(failure.encodingAESKey, failure.ciphertext)).toEqual({ ok: false, reason: failure.reason });
  });

  it('refuses an EncodingAESKey of the wrong length or alphabet with bad_key', async () => {
    const ciphertext = official.get.echostr;
    for (const key of [official.encodingAESKey.slice(0, 42), `${official.encodingAESKey}A`, '', `${official.encodingAESKey.slice(0, 42)}!`]) {
      expect(await decryptMessage(key, ciphertext), JSON.stringify(key)).toEqual({ ok: false, reason: 'bad_key' });
    }
  });

  it('refuses base64 that is not strictly base64 with bad_base64', async () => {
    const { echostr } = official.get;
    for (const text of [echostr.slice(0, -1), `${echostr.slice(0, 10)}*${echostr.slice(11)}`, `${echostr}\n`, echostr.replace('==', '=A'), `=${echostr.slice(1)}`]) {
      expect(await decryptMessage(official.encodingAESKey, text), JSON.stringify(text)).toEqual({ ok: false, reason: 'bad_base64' });
    }
  });

  it('refuses ciphertext that is empty or not a multiple of 32 bytes with bad_length', async () => {
    const bytes = fromBase64(official.post.encrypt);
    for (const length of [0, 16, 48, bytes.length - 1, bytes.length - 3]) {
      const result = await decryptMessage(official.encodingAESKey, toBase64(bytes.slice(0, length)));
      expect(result, String(length)).toEqual({ ok: false, reason: 'bad_length' });
    }
  });

  it('refuses a ciphertext cut short by whole blocks', async () => {
    const bytes = fromBase64(official.post.encrypt);
    for (const length of [32, 64, bytes.length - 32]) {
      const result = await decryptMessage(official.encodingAESKey, toBase64(bytes.slice(0, length)));
      expect(result.ok, String(length)).toBe(false);
    }
  });

  it('refuses a tampered last block with bad_padding', async () => {
    const vector = vectorNamed('ascii, pad 20');
    const bytes = fromBase64(vector.ciphertext);
    bytes[bytes.length - 1] = (bytes[bytes.length - 1] ?? 0) ^ 0x01;
    expect(await decryptMessage(vector.encodingAESKey, toBase64(bytes))).toEqual({ ok: false, reason: 'bad_padding' });
  });

  it('refuses a pad byte flipped above 32 through the previous block (CBC malleability)', async () => {
    const vector = vectorNamed('ascii, pad 20');
    const bytes = fromBase64(vector.ciphertext);
    // Flipping ciphertext byte i of block n-1 flips plaintext byte i of block n: 20 becomes 64.
    bytes[bytes.length - 17] = (bytes[bytes.length - 17] ?? 0) ^ (20 ^ 64);
    expect(await decryptMessage(vector.encodingAESKey, toBase64(bytes))).toEqual({ ok: false, reason: 'bad_padding' });
  });

  it('refuses pad bytes that disagree even when the last one is in range', async () => {
    const vector = vectorNamed('ascii, pad 5');
    const bytes = fromBase64(vector.ciphertext);
    bytes[bytes.length - 16 - 3] = (bytes[bytes.length - 16 - 3] ?? 0) ^ 0x01;
    expect(await decryptMessage(vector.encodingAESKey, toBase64(bytes))).toEqual({ ok: false, reason: 'bad_padding' });
  });

  it('refuses the right ciphertext under another key', async () => {
    const vector = vectorNamed('ascii, pad 20');
    const result = await decryptMessage(official.encodingAESKey, vector.ciphertext);
    expect(result.ok).toBe(false);
  });
});

describe('encryptMessage', () => {
  it.each(vectors.map((vector) => [vector.name, vector] as const))(
    'reproduces the Node ciphertext byte for byte given the same random prefix: %s',
    async (_name, vector) => {
      const ciphertext = await encryptMessage(vector.encodingAESKey, vector.message, vector.receiveId, fromHex(vector.random16));
      expect(ciphertext).toBe(vector.ciphertext);
    },
  );

  it('round-trips ASCII, CJK, emoji and empty messages with lengths that are multiples of 32', async () => {
    const key = vectors[0]!.encodingAESKey;
    const messages = ['', 'a', '1616140317555161061', '你好，企业微信', '👋🏽🎉 mixed 客户 text', 'x'.repeat(11), 'y'.repeat(12), 'z'.repeat(44), '€'.repeat(1000)];
    for (const message of messages) {
      for (const receiveId of ['wwcorp000000000001', '', 'wwsuite7d1c0a9e3f2b']) {
        const ciphertext = await encryptMessage(key, message, receiveId);
        expect(fromBase64(ciphertext).length % 32, message).toBe(0);
        expect(await decryptMessage(key, ciphertext), message).toEqual({ ok: true, message, receiveId });
      }
    }
  });

  it('adds a whole 32-byte block of padding when the plaintext is already aligned', async () => {
    const key = vectors[0]!.encodingAESKey;
    // 20 + 12 = 32 bytes before padding.
    const ciphertext = await encryptMessage(key, 'x'.repeat(12), '', new Uint8Array(16));
    expect(fromBase64(ciphertext).length).toBe(64);
  });

  it('uses a fresh random prefix when none is given', async () => {
    const key = vectors[0]!.encodingAESKey;
    expect(await encryptMessage(key, 'same', 'wwcorp')).not.toBe(await encryptMessage(key, 'same', 'wwcorp'));
  });

  it('throws on a bad key or a random prefix that is not 16 bytes', async () => {
    const key = vectors[0]!.encodingAESKey;
    await expect(encryptMessage(key.slice(1), 'm', 'r')).rejects.toThrow(RangeError);
    await expect(encryptMessage(key, 'm', 'r', new Uint8Array(15))).rejects.toThrow(RangeError);
  });
});

describe('callbackSignature', () => {
  it('matches the official GET and POST signatures', async () => {
    expect(await callbackSignature(official.token, official.get.timestamp, official.get.nonce, official.get.echostr)).toBe(official.get.signature);
    expect(await callbackSignature(official.token, official.post.timestamp, official.post.nonce, official.post.encrypt)).toBe(official.post.signature);
  });

  it('matches the Node signature for every vector', async () => {
    for (const vector of vectors) {
      expect(await callbackSignature(vector.token, vector.timestamp, vector.nonce, vector.ciphertext), vector.name).toBe(vector.signature);
    }
  });

  it('does not depend on the order of the four values', async () => {
    const { token, get } = official;
    expect(await callbackSignature(get.echostr, get.nonce, token, get.timestamp)).toBe(get.signature);
  });
});

describe('verifyCallbackSignature', () => {
  it('accepts the official signatures', async () => {
    const { token, get, post } = official;
    expect(await verifyCallbackSignature(token, get.timestamp, get.nonce, get.echostr, get.signature)).toBe(true);
    expect(await verifyCallbackSignature(token, post.timestamp, post.nonce, post.encrypt, post.signature)).toBe(true);
  });

  it('refuses a signature when any input or the signature itself changes', async () => {
    const { token, get } = official;
    const flipped = `${get.signature.slice(0, -1)}${get.signature.endsWith('3') ? '4' : '3'}`;
    expect(await verifyCallbackSignature(`${token}x`, get.timestamp, get.nonce, get.echostr, get.signature)).toBe(false);
    expect(await verifyCallbackSignature(token, '1409659590', get.nonce, get.echostr, get.signature)).toBe(false);
    expect(await verifyCallbackSignature(token, get.timestamp, '263014781', get.echostr, get.signature)).toBe(false);
    expect(await verifyCallbackSignature(token, get.timestamp, get.nonce, `${get.echostr.slice(0, -3)}A==`, get.signature)).toBe(false);
    expect(await verifyCallbackSignature(token, get.timestamp, get.nonce, get.echostr, flipped)).toBe(false);
    expect(await verifyCallbackSignature(token, get.timestamp, get.nonce, get.echostr, get.signature.slice(1))).toBe(false);
    expect(await verifyCallbackSignature(token, get.timestamp, get.nonce, get.echostr, '')).toBe(false);
  });
});

describe('sha1Hex', () => {
  it('hashes UTF-8 to lowercase hex', async () => {
    expect(await sha1Hex('')).toBe('da39a3ee5e6b4b0d3255bfef95601890afd80709');
    expect(await sha1Hex('abc')).toBe('a9993e364706816aba3e25717850c26c9cd0d89d');
    // UTF-8, not UTF-16: sha1 of the bytes e4 bd a0 e5 a5 bd.
    expect(await sha1Hex('你好')).toBe('440ee0853ad1e99f962b63e459ef992d7c211722');
  });
});

describe('timingSafeEqual', () => {
  it('is true for equal strings, including empty ones', () => {
    expect(timingSafeEqual('abc', 'abc')).toBe(true);
    expect(timingSafeEqual('', '')).toBe(true);
  });

  it('is false for a difference at either end or in the middle', () => {
    expect(timingSafeEqual('abc', 'xbc')).toBe(false);
    expect(timingSafeEqual('abc', 'axc')).toBe(false);
    expect(timingSafeEqual('abc', 'abx')).toBe(false);
  });

  it('is false when lengths differ, even for a prefix', () => {
    expect(timingSafeEqual('abc', 'ab')).toBe(false);
    expect(timingSafeEqual('', 'a')).toBe(false);
  });
});
