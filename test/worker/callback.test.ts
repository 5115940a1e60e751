import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { callbackSignature, encryptMessage } from '../../worker/wecom/crypto.ts';
import { sealVerification } from '../../worker/wecom/envelope.ts';
import { CALLBACK_WINDOW_SECONDS } from '../../worker/wecom/freshness.ts';
import {
  callbackPath,
  contactEventXml,
  demoKeys,
  eventsWithKeyContaining,
  nextNonce,
  postCallback,
  unixNow,
  waitFor,
} from './callback-helpers.ts';

const encoder = new TextEncoder();

/** The pad byte WeCom's 32-byte PKCS#7 gives a plaintext of random(16) ‖ len(4) ‖ msg ‖ receiveid. */
function padFor(message: string, receiveId: string): number {
  const length = 20 + encoder.encode(message).length + encoder.encode(receiveId).length;
  return 32 - (length % 32);
}

function get(query: string, path = callbackPath) {
  return exports.default.fetch(`http://sidebar.test${path}?${query}`);
}

async function eventCount(): Promise<number> {
  const row = await env.DB.prepare('SELECT COUNT(*) AS n FROM events').first<{ n: number }>();
  return row?.n ?? 0;
}

describe('GET /wecom/callback/:corpId/:agentId (URL verification)', () => {
  it('answers exactly the decrypted echo as text/plain', async () => {
    const query = await sealVerification(demoKeys, '1616140317555161061', unixNow(), '263014780');
    const response = await get(query);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/plain/);
    const bytes = new Uint8Array(await response.arrayBuffer());
    expect(new TextDecoder().decode(bytes)).toBe('1616140317555161061');
    expect(bytes[0]).not.toBe(0xef); // no BOM
  });

  it('accepts an echostr whose + a proxy turned into a space', async () => {
    let query = '';
    let echo = '';
    // Find an encryption whose base64 contains '+', then send it with the '+' unescaped.
    for (let i = 0; i < 50 && !query.includes('%2B'); i++) {
      echo = String(1000000 + i);
      query = await sealVerification(demoKeys, echo, unixNow(), '263014780');
    }
    expect(query).toContain('%2B');
    const response = await get(query.replaceAll('%2B', '+'));
    expect(response.status).toBe(200);
    expect(await response.text()).toBe(echo);
  });

  it('refuses a signature made with another token', async () => {
    const query = await sealVerification({ ...demoKeys, callbackToken: 'SomeoneElse' }, '42', unixNow(), '263014780');
    const response = await get(query);
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'bad_signature' });
  });

  it('refuses an unknown corp or agent with 404', async () => {
    const query = await sealVerification(demoKeys, '42', unixNow(), '263014780');
    expect((await get(query, `/wecom/callback/wwother00000001/${demoKeys.agentId}`)).status).toBe(404);
    expect((await get(query, `/wecom/callback/${demoKeys.corpId}/9999999`)).status).toBe(404);
  });

  it('refuses a request without the signed parameters', async () => {
    const response = await get('timestamp=1&nonce=2');
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad_request' });
  });

  it('refuses an echo encrypted for another corp', async () => {
    const echostr = await encryptMessage(demoKeys.encodingAESKey, '42', 'wwother00000001');
    const timestamp = unixNow();
    const signature = await callbackSignature(demoKeys.callbackToken, timestamp, '263014780', echostr);
    const response = await get(new URLSearchParams({ msg_signature: signature, timestamp, nonce: '263014780', echostr }).toString());
    expect(response.status).toBe(400);
  });

  it('refuses a genuine verification signed outside the window, in the past or the future', async () => {
    for (const offset of [-(CALLBACK_WINDOW_SECONDS + 60), CALLBACK_WINDOW_SECONDS + 60]) {
      const response = await get(await sealVerification(demoKeys, '42', unixNow(offset), '263014780'));
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'stale_timestamp' });
    }
  });

  it('answers a verification signed a few minutes off, either way', async () => {
    for (const offset of [-(CALLBACK_WINDOW_SECONDS - 60), CALLBACK_WINDOW_SECONDS - 60]) {
      const response = await get(await sealVerification(demoKeys, '42', unixNow(offset), '263014780'));
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('42');
    }
  });
});

describe('POST /wecom/callback/:corpId/:agentId', () => {
  it('accepts genuine events of every pad length 1..32 and records each once', async () => {
    const pads = new Set<number>();
    const base = 1_800_000_000;
    for (let filler = 0; filler < 32; filler++) {
      const externalUserId = `wmPad${'x'.repeat(filler)}`;
      const xml = contactEventXml({ changeType: 'add_external_contact', userId: 'lisi', externalUserId, createTime: base + filler });
      pads.add(padFor(xml, demoKeys.corpId));
      const response = await postCallback(xml);
      expect(response.status).toBe(200);
      expect(await response.text()).toBe('');
    }
    expect([...pads].sort((a, b) => a - b)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    const rows = await eventsWithKeyContaining('wmPad');
    expect(rows).toHaveLength(32);
    expect(new Set(rows.map((row) => row.dedupe_key)).size).toBe(32);
    expect(rows.every((row) => row.kind === 'change_external_contact' && row.change_type === 'add_external_contact')).toBe(true);
  });

  it('acknowledges a retry of the same event but records it once', async () => {
    const xml = contactEventXml({ changeType: 'del_follow_user', userId: 'wangwu', externalUserId: 'wmRetryOnce', createTime: 1_800_000_100 });
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await postCallback(xml);
      expect(response.status).toBe(200);
    }
    const rows = await eventsWithKeyContaining('wmRetryOnce');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.duplicates).toBe(2);
  });

  it('hands a new event to the queue, whose consumer marks it applied', async () => {
    const xml = contactEventXml({ changeType: 'edit_external_contact', userId: 'lisi', externalUserId: 'wmQueued', createTime: 1_800_000_200 });
    expect((await postCallback(xml)).status).toBe(200);
    const row = await waitFor(async () => {
      const [found] = await eventsWithKeyContaining('wmQueued');
      return found?.status === 'applied' ? found : undefined;
    });
    expect(row.attempts).toBe(1);
  });

  it('keeps unknown kinds as typed-unknown events instead of dropping them', async () => {
    const xml = `<xml><ToUserName><![CDATA[${demoKeys.corpId}]]></ToUserName><FromUserName><![CDATA[sys]]></FromUserName><CreateTime>1800000300</CreateTime><MsgType><![CDATA[event]]></MsgType><Event><![CDATA[some_future_event]]></Event><Marker><![CDATA[wmFutureKind]]></Marker></xml>`;
    expect((await postCallback(xml)).status).toBe(200);
    const { results } = await env.DB.prepare("SELECT kind, payload FROM events WHERE payload LIKE '%wmFutureKind%'").all<{ kind: string; payload: string }>();
    expect(results).toHaveLength(1);
    expect(results[0]?.kind).toBe('unknown:some_future_event');
  });

  it('refuses a bad signature and records nothing', async () => {
    const before = await eventCount();
    const xml = contactEventXml({ changeType: 'add_external_contact', userId: 'lisi', externalUserId: 'wmForged', createTime: 1_800_000_400 });
    const response = await postCallback(xml, { ...demoKeys, callbackToken: 'NotTheToken' });
    expect(response.status).toBe(401);
    expect(await eventCount()).toBe(before);
  });

  it('refuses a genuine event signed in 2001 and records nothing', async () => {
    const before = await eventCount();
    const xml = contactEventXml({ changeType: 'add_external_contact', userId: 'lisi', externalUserId: 'wmSigned2001', createTime: 1_000_000_000 });
    const response = await postCallback(xml, demoKeys, '1000000000');
    expect(response.status).toBe(401);
    expect(await response.json()).toMatchObject({ error: 'stale_timestamp' });
    expect(await eventCount()).toBe(before);
  });

  it('refuses a genuine event signed just outside the window and accepts one just inside', async () => {
    const xml = (id: string) => contactEventXml({ changeType: 'edit_external_contact', userId: 'lisi', externalUserId: id, createTime: 1_800_000_700 });
    for (const offset of [-(CALLBACK_WINDOW_SECONDS + 30), CALLBACK_WINDOW_SECONDS + 30]) {
      const response = await postCallback(xml('wmOutsideWindow'), demoKeys, unixNow(offset));
      expect(response.status).toBe(401);
      expect(await response.json()).toMatchObject({ error: 'stale_timestamp' });
    }
    expect(await eventsWithKeyContaining('wmOutsideWindow')).toHaveLength(0);
    for (const offset of [-(CALLBACK_WINDOW_SECONDS - 30), CALLBACK_WINDOW_SECONDS - 30]) {
      expect((await postCallback(xml('wmInsideWindow'), demoKeys, unixNow(offset))).status).toBe(200);
    }
    expect(await eventsWithKeyContaining('wmInsideWindow')).toHaveLength(1);
  });

  it('refuses a message whose receive id is another corp', async () => {
    const before = await eventCount();
    const xml = contactEventXml({ changeType: 'add_external_contact', userId: 'lisi', externalUserId: 'wmOtherCorp', createTime: 1_800_000_500 });
    const response = await postCallback(xml, { ...demoKeys, corpId: 'wwother00000001' });
    expect(response.status).toBe(400);
    expect(await eventCount()).toBe(before);
  });

  it('refuses DOCTYPE and entity payloads, outside and inside the encryption', async () => {
    const before = await eventCount();
    const timestamp = unixNow();
    const nonce = nextNonce();
    const encrypt = await encryptMessage(demoKeys.encodingAESKey, contactEventXml({ changeType: 'add_external_contact', userId: 'a', externalUserId: 'b', createTime: 1 }), demoKeys.corpId);
    const signature = await callbackSignature(demoKeys.callbackToken, timestamp, nonce, encrypt);
    const hostileEnvelope = `<?xml version="1.0"?><!DOCTYPE xml [<!ENTITY x "${'a'.repeat(100)}">]><xml><Encrypt><![CDATA[${encrypt}]]></Encrypt><AgentID>&x;</AgentID></xml>`;
    const outside = await exports.default.fetch(`http://sidebar.test${callbackPath}?msg_signature=${signature}&timestamp=${timestamp}&nonce=${nonce}`, {
      method: 'POST',
      body: hostileEnvelope,
    });
    expect(outside.status).toBe(400);

    const inside = await postCallback(`<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><ToUserName>&e;</ToUserName></xml>`);
    expect(inside.status).toBe(400);
    expect(await eventCount()).toBe(before);
  });

  it('refuses a body that is not XML', async () => {
    const response = await exports.default.fetch(`http://sidebar.test${callbackPath}?msg_signature=${'0'.repeat(40)}&timestamp=1&nonce=2`, {
      method: 'POST',
      body: '{"Encrypt":"not xml"}',
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'bad_xml' });
  });

  it('refuses a body over 1 MB with 413, declared or streamed', async () => {
    const big = `<xml><Encrypt>${'A'.repeat(1024 * 1024)}</Encrypt></xml>`;
    const url = `http://sidebar.test${callbackPath}?msg_signature=${'0'.repeat(40)}&timestamp=1&nonce=2`;
    expect((await exports.default.fetch(url, { method: 'POST', body: big })).status).toBe(413);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < 20; i++) controller.enqueue(new Uint8Array(64 * 1024).fill(65));
        controller.close();
      },
    });
    expect((await exports.default.fetch(url, { method: 'POST', body: stream })).status).toBe(413);
  });
});
