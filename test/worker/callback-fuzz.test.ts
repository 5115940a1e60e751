/**
 * @module
 * Property/fuzz suite for `/wecom/callback/:corpId/:agentId`: a seeded PRNG builds a few hundred
 * hostile requests (mutated envelopes, signatures, query values, key material, huge and nested XML,
 * DOCTYPEs) mixed with genuine events and WeCom-style retries of them. Each case predicts its exact
 * status and error code; afterwards the event log must hold every genuine event exactly once and
 * nothing else, and the queue must have applied each of them once. The seed is in the suite's name:
 * a failure names the case, and the same seed replays it.
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { callbackSignature, encryptMessage } from '../../worker/wecom/crypto.ts';
import { eventXml, type SealKeys } from '../../worker/wecom/envelope.ts';
import { CALLBACK_WINDOW_SECONDS } from '../../worker/wecom/freshness.ts';
import { callbackPath, demoKeys, waitFor } from './callback-helpers.ts';

/** Change it to explore other cases; every run with one seed sends the same requests. */
const SEED = 0x5eed2026;
const CASES = 320;
/** Requests in flight at once, so retries of one event also race each other. */
const CONCURRENCY = 6;

/** mulberry32: tiny, seedable, good enough to pick cases. */
function createRandom(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number) => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    pick<T>(items: readonly T[]): T {
      const item = items[int(0, items.length - 1)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    string(alphabet: string, length: number): string {
      let out = '';
      for (let i = 0; i < length; i++) out += alphabet.charAt(int(0, alphabet.length - 1));
      return out;
    },
  };
}
type Random = ReturnType<typeof createRandom>;

const HEX = '0123456789abcdef';
const DIGITS = '0123456789';
const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const MB = 1024 * 1024;

/** Every code the route may answer with; anything else (a 500, a stack) fails the suite. */
const REFUSAL_CODES = new Set(['unknown_app', 'bad_request', 'bad_signature', 'bad_payload', 'bad_xml', 'too_large', 'config_incomplete', 'stale_timestamp']);

// A tag unique to this run, inside every genuine event, so rows from other suites never count.
const RUN = `fz${SEED.toString(36)}${Date.now().toString(36)}`;
// Callbacks are accepted only within CALLBACK_WINDOW_SECONDS of now, so signed timestamps count from the run's start.
const RUN_SECONDS = Math.floor(Date.now() / 1000);

interface SignedParts {
  signature?: string | undefined;
  timestamp?: string | undefined;
  nonce?: string | undefined;
}

interface Delivery {
  method: 'GET' | 'POST';
  path: string;
  query: SignedParts & { echostr?: string };
  body?: string | (() => ReadableStream<Uint8Array>);
  /** Sent through `createApp().request` with this environment instead of the worker's own. */
  env?: Cloudflare.Env;
}

interface Expectation {
  status: number;
  /** Acceptable error codes for a refusal; a case whose corruption can surface at two checks lists both. */
  errors?: readonly string[];
}

interface FuzzCase {
  label: string;
  delivery: Delivery;
  expect: Expectation;
  /** The genuine event's marker, for accepted cases. */
  genuine?: string;
}

function queryString(query: Delivery['query']): string {
  const params = new URLSearchParams();
  if (query.signature !== undefined) params.set('msg_signature', query.signature);
  if (query.timestamp !== undefined) params.set('timestamp', query.timestamp);
  if (query.nonce !== undefined) params.set('nonce', query.nonce);
  if (query.echostr !== undefined) params.set('echostr', query.echostr);
  return params.toString();
}

async function send(delivery: Delivery): Promise<Response> {
  const url = `http://sidebar.test${delivery.path}?${queryString(delivery.query)}`;
  const body = typeof delivery.body === 'function' ? delivery.body() : delivery.body;
  const init: RequestInit = delivery.method === 'POST' ? { method: 'POST', headers: { 'content-type': 'text/xml' }, body: body ?? '' } : {};
  if (delivery.env) return createApp().request(url, init, delivery.env, createExecutionContext());
  return exports.default.fetch(url, init);
}

function cdata(value: string): string {
  return `<![CDATA[${value}]]>`;
}

function envelope(encrypt: string, keys: SealKeys = demoKeys): string {
  return `<xml><ToUserName>${cdata(keys.corpId)}</ToUserName><AgentID>${cdata(keys.agentId)}</AgentID><Encrypt>${cdata(encrypt)}</Encrypt></xml>`;
}

let createTimeCounter = 1_850_000_000;

/** A genuine event of a kind with no handler side effects, carrying `marker` in its dedupe key. */
function genuineMessage(random: Random, marker: string, corpId = demoKeys.corpId): string {
  createTimeCounter += 1;
  const common = { ToUserName: corpId, FromUserName: 'sys', CreateTime: createTimeCounter, MsgType: 'event' };
  switch (random.int(0, 2)) {
    case 0:
      return eventXml({ ...common, Event: 'change_external_tag', ChangeType: random.pick(['create', 'update', 'delete']), Id: marker, TagType: 'tag' });
    case 1:
      return eventXml({ ...common, Event: 'change_external_chat', ChangeType: 'update', ChatId: marker, UpdateDetail: 'add_member', JoinScene: 1, MemChangeCnt: 1 });
    default:
      return eventXml({ ...common, Event: 'some_future_event', Marker: marker });
  }
}

interface Sealed {
  encrypt: string;
  signature: string;
  timestamp: string;
  nonce: string;
}

// Timestamps, nonces and each encryption's random prefix come from their own seeded stream, so a
// seed replays the same bytes (only the run tag in the markers differs) without changing which cases are drawn.
const sealing = createRandom(SEED ^ 0x9e3779b9);
let sealCounter = 0;

async function seal(message: string, options: { keys?: SealKeys; timestamp?: string; nonce?: string; receiveId?: string } = {}): Promise<Sealed> {
  const keys = options.keys ?? demoKeys;
  sealCounter += 1;
  const timestamp = options.timestamp ?? String(RUN_SECONDS + (sealCounter % 60));
  const nonce = options.nonce ?? `n${sealing.string(DIGITS, 9)}`;
  const random16 = Uint8Array.from({ length: 16 }, () => sealing.int(0, 255));
  const encrypt = await encryptMessage(keys.encodingAESKey, message, options.receiveId ?? keys.corpId, random16);
  return { encrypt, signature: await callbackSignature(keys.callbackToken, timestamp, nonce, encrypt), timestamp, nonce };
}

async function resign(sealed: Sealed, encrypt: string, token = demoKeys.callbackToken): Promise<Sealed> {
  return { ...sealed, encrypt, signature: await callbackSignature(token, sealed.timestamp, sealed.nonce, encrypt) };
}

function post(sealed: Sealed, body: Delivery['body'] = envelope(sealed.encrypt), path = callbackPath): Delivery {
  return { method: 'POST', path, query: { signature: sealed.signature, timestamp: sealed.timestamp, nonce: sealed.nonce }, body };
}

function flipBit(base64: string, random: Random, block: 'first' | 'last' | 'any' = 'any'): string {
  const bytes = Uint8Array.from(atob(base64), (char) => char.charCodeAt(0));
  const index = block === 'first' ? random.int(0, 15) : block === 'last' ? random.int(bytes.length - 16, bytes.length - 1) : random.int(0, bytes.length - 1);
  bytes[index] = (bytes[index] ?? 0) ^ (1 << random.int(0, 7));
  let binary = '';
  for (const byte of bytes) binary += String.fromCharCode(byte);
  return btoa(binary);
}

function nested(depth: number, inner: string): string {
  return `${'<a>'.repeat(depth)}${inner}${'</a>'.repeat(depth)}`;
}

/** Bodies over the 1 MB limit, with a declared length or streamed without one. */
function hugeBody(streamed: boolean): Delivery['body'] {
  if (!streamed) return `<xml><Encrypt>${'A'.repeat(MB)}</Encrypt></xml>`;
  const chunk = new TextEncoder().encode('<a>'.repeat(Math.ceil((64 * 1024) / 3)).slice(0, 64 * 1024));
  return () =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (let sent = 0; sent <= MB; sent += chunk.length) controller.enqueue(chunk);
        controller.close();
      },
    });
}

const otherApp: SealKeys = { corpId: demoKeys.corpId, agentId: '1000099', callbackToken: 'OtherAppToken42', encodingAESKey: `OtherEncodingAESKey${'0'.repeat(22)}42` };

function appsEnv(apps: Array<SealKeys & { secret?: string }>): Cloudflare.Env {
  const list = apps.map((app) => ({ corpId: app.corpId, agentId: app.agentId, secret: app.secret ?? 'fuzz-app-secret-000000000001', callbackToken: app.callbackToken, encodingAESKey: app.encodingAESKey }));
  return { ...env, WECOM_APPS: JSON.stringify(list) };
}

const badRequest: Expectation = { status: 400, errors: ['bad_request'] };
const badSignature: Expectation = { status: 401, errors: ['bad_signature'] };
const staleTimestamp: Expectation = { status: 401, errors: ['stale_timestamp'] };
const badPayload: Expectation = { status: 400, errors: ['bad_payload'] };
const badXml: Expectation = { status: 400, errors: ['bad_xml'] };
const accepted: Expectation = { status: 200 };

type Generator = (random: Random, n: number) => Promise<FuzzCase>;

/** Each generator makes one case of its kind; the weights say how often it is drawn. */
const generators: Array<[number, string, Generator]> = [
  [14, 'genuine', async (random, n) => {
    const marker = `${RUN}g${n}x${'y'.repeat(n % 32)}`;
    return { label: 'genuine event', delivery: post(await seal(genuineMessage(random, marker))), expect: accepted, genuine: marker };
  }],
  [2, 'genuine-decorated', async (random, n) => {
    // An XML declaration, a BOM, whitespace around the ciphertext and a comment are all legal XML.
    const marker = `${RUN}d${n}`;
    const sealed = await seal(genuineMessage(random, marker));
    const body = `\uFEFF<?xml version="1.0" encoding="UTF-8"?>\n<!-- from WeCom -->\n<xml>\n  <Encrypt>${cdata(`  ${sealed.encrypt}\n`)}</Encrypt>\n  <AgentID>${cdata(demoKeys.agentId)}</AgentID>\n</xml>\n`;
    return { label: 'genuine event in a decorated envelope', delivery: post(sealed, body), expect: accepted, genuine: marker };
  }],
  [2, 'genuine-entities', async (_random, n) => {
    // Predefined entities and character references are decoded; the stored event must show the decoded text.
    const marker = `${RUN}e${n}`;
    const sealed = await seal(eventXml({ ToUserName: demoKeys.corpId, FromUserName: 'sys', CreateTime: ++createTimeCounter, MsgType: 'event', Event: 'some_future_event', Marker: marker }).replace('<Marker>', '<Note>a &amp; b &#x4E2D; &lt;c&gt;</Note><Marker>'));
    return { label: 'genuine event with entities and character references', delivery: post(sealed), expect: accepted, genuine: marker };
  }],
  [2, 'genuine-large', async (random, n) => {
    // As large as a 1 MB envelope allows, or as many fields as the parser allows: still an event to keep.
    const marker = `${RUN}L${n}`;
    const common = { ToUserName: demoKeys.corpId, FromUserName: 'sys', CreateTime: ++createTimeCounter, MsgType: 'event', Event: 'some_future_event', Marker: marker };
    const wide = random.next() < 0.5;
    const message = wide
      ? eventXml({ ...common, ...Object.fromEntries(Array.from({ length: 4_000 }, (_, i) => [`F${i}`, `v${i}`])) })
      : eventXml({ ...common, Big: random.string('abcdefghij中文', 250_000) });
    return { label: wide ? 'genuine event with 4000 fields' : 'genuine event of ~700 KB', delivery: post(await seal(message)), expect: accepted, genuine: marker };
  }],
  [2, 'genuine-timestamp', async (random, n) => {
    // The signature covers the timestamp: a genuine event signed outside the window is refused and not recorded.
    const marker = `${RUN}t${n}`;
    const kind = random.int(0, 2);
    if (kind === 0) {
      const sealed = await seal(genuineMessage(random, marker), { timestamp: String(RUN_SECONDS + random.int(-(CALLBACK_WINDOW_SECONDS - 60), CALLBACK_WINDOW_SECONDS - 60)) });
      return { label: 'genuine event signed a few minutes off', delivery: post(sealed), expect: accepted, genuine: marker };
    }
    const far = kind === 1 ? random.string(DIGITS, 12) : String(RUN_SECONDS + random.pick([-1, 1]) * random.int(CALLBACK_WINDOW_SECONDS + 60, 1e8));
    return { label: `genuine event signed at ${far}, outside the window`, delivery: post(await seal(genuineMessage(random, marker), { timestamp: far })), expect: staleTimestamp };
  }],
  [3, 'unknown-app', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}u`));
    const path = random.next() < 0.5 ? `/wecom/callback/wwnotours000001/${demoKeys.agentId}` : `/wecom/callback/${demoKeys.corpId}/${random.string(DIGITS, random.int(1, 9))}9`;
    return { label: 'unknown corp or agent', delivery: post(sealed, undefined, path), expect: { status: 404, errors: ['unknown_app'] } };
  }],
  [6, 'missing-query', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}m`));
    const delivery = post(sealed);
    const drop = random.pick(['signature', 'timestamp', 'nonce'] as const);
    delivery.query[drop] = random.next() < 0.5 ? undefined : '';
    return { label: `${drop} missing or empty`, delivery, expect: badRequest };
  }],
  [5, 'signature-truncated', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}s`));
    return { label: 'truncated signature', delivery: post({ ...sealed, signature: sealed.signature.slice(0, random.int(1, 39)) }), expect: badRequest };
  }],
  [4, 'signature-upper', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}s`));
    const upper = sealed.signature.toUpperCase();
    // WeCom signs in lower-case hex and every official library compares exactly.
    return { label: 'upper-case signature', delivery: post({ ...sealed, signature: upper }), expect: upper === sealed.signature ? accepted : badSignature };
  }],
  [5, 'signature-wrong', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}s`));
    const kind = random.int(0, 2);
    const signature =
      kind === 0 ? random.string(HEX, 40) : kind === 1 ? await callbackSignature('NotTheToken', sealed.timestamp, sealed.nonce, sealed.encrypt) : `${sealed.signature.slice(0, 39)}${sealed.signature.endsWith('0') ? '1' : '0'}`;
    return { label: 'wrong signature', delivery: post({ ...sealed, signature }), expect: badSignature };
  }],
  [3, 'signature-not-hex', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}s`));
    return { label: 'signature with non-hex characters', delivery: post({ ...sealed, signature: `${sealed.signature.slice(0, 39)}${random.pick(['g', 'z', '-', ' ', '中'])}` }), expect: badRequest };
  }],
  [5, 'timestamp-bad', async (random) => {
    const timestamp = random.pick([random.string(DIGITS, random.int(13, 40)), `${random.int(1, 9)}e9`, '-1700000000', '17000000.0', `${random.string(DIGITS, 6)}abc`, ' 1700000000', '0x65']);
    // Signed with the bad timestamp, so only the query check can refuse it.
    const sealed = await seal(genuineMessage(random, `${RUN}t`), { timestamp });
    return { label: `malformed timestamp ${JSON.stringify(timestamp.slice(0, 16))}`, delivery: post(sealed), expect: badRequest };
  }],
  [5, 'nonce-bad', async (random) => {
    const nonce = random.pick([random.string(BASE64, random.int(65, 300)), 'a b', 'nonce+1', 'n/1', '中文', 'n%00', 'n;drop']);
    const sealed = await seal(genuineMessage(random, `${RUN}n`), { nonce });
    return { label: `malformed nonce ${JSON.stringify(nonce.slice(0, 16))}`, delivery: post(sealed), expect: badRequest };
  }],
  [8, 'bitflip-unsigned', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}b`));
    return { label: 'bit flip in Encrypt, signature left as it was', delivery: post({ ...sealed, encrypt: flipBit(sealed.encrypt, random) }), expect: badSignature };
  }],
  [10, 'bitflip-resigned', async (random) => {
    // Someone holding the token but not the key: the cipher layer must refuse what the signature let in.
    const sealed = await seal(genuineMessage(random, `${RUN}b`));
    const block = random.pick(['first', 'last', 'any'] as const);
    return {
      label: `bit flip in Encrypt (${block} block), re-signed`,
      delivery: post(await resign(sealed, flipBit(sealed.encrypt, random, block))),
      expect: { status: 400, errors: ['bad_payload', 'bad_xml'] },
    };
  }],
  [5, 'base64-truncated', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}b`));
    // Whether the cut leaves a length of 4n (then the blocks are short) or not, the cipher layer refuses it.
    const cut = sealed.encrypt.replace(/=+$/, '').slice(0, -random.int(1, 3));
    return { label: 'truncated base64, re-signed', delivery: post(await resign(sealed, cut)), expect: badPayload };
  }],
  [5, 'base64-wrong-length', async (random) => {
    // Well-formed base64 whose bytes are not a whole number of WeCom's 32-byte blocks.
    const sealed = await seal(genuineMessage(random, `${RUN}b`));
    const bytes = random.pick([16, 31, 33, 48, random.int(1, 200)].filter((n) => n % 32 !== 0));
    const encrypt = btoa(String.fromCharCode(...Array.from({ length: bytes }, () => random.int(0, 255))));
    return { label: `${bytes}-byte ciphertext, re-signed`, delivery: post(await resign(sealed, encrypt)), expect: badPayload };
  }],
  [4, 'base64-foreign', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}b`));
    const at = random.int(0, sealed.encrypt.length - 4);
    const encrypt = `${sealed.encrypt.slice(0, at)}${random.pick(['-', '_', '!', '*', 'é', '中', '\t'])}${sealed.encrypt.slice(at + 1)}`;
    return { label: 'non-base64 character in Encrypt, re-signed', delivery: post(await resign(sealed, encrypt)), expect: badPayload };
  }],
  [3, 'random-ciphertext', async (random) => {
    // Whole blocks of noise under a valid signature.
    const sealed = await seal(genuineMessage(random, `${RUN}r`));
    const encrypt = btoa(String.fromCharCode(...Array.from({ length: 32 * random.int(1, 12) }, () => random.int(0, 255))));
    return { label: 'random ciphertext, re-signed', delivery: post(await resign(sealed, encrypt)), expect: badPayload };
  }],
  [3, 'wrong-key', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}k`), { keys: { ...demoKeys, encodingAESKey: otherApp.encodingAESKey } });
    return { label: "another app's EncodingAESKey, our token", delivery: post(sealed), expect: badPayload };
  }],
  [3, 'wrong-receiver', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}w`), { receiveId: random.pick(['wwother00000001', `${demoKeys.corpId} `, demoKeys.corpId.toUpperCase(), '']) });
    return { label: 'receive id of another corp', delivery: post(sealed), expect: badPayload };
  }],
  [3, 'inner-to-user', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}w`, 'wwother00000001'));
    return { label: 'ToUserName of another corp inside a message for ours', delivery: post(sealed), expect: badPayload };
  }],
  [4, 'inner-invalid-event', async (random) => {
    const base = { ToUserName: demoKeys.corpId, FromUserName: 'sys', MsgType: 'event', Event: 'change_external_contact', ChangeType: 'add_external_contact', UserID: 'lisi' };
    const message = random.pick([
      eventXml({ ...base, CreateTime: 1 }),
      eventXml({ ...base, CreateTime: 'soon', ExternalUserID: `${RUN}i` }),
      eventXml({ ...base, CreateTime: random.string(DIGITS, 17), ExternalUserID: `${RUN}i` }),
      eventXml({ ToUserName: demoKeys.corpId, CreateTime: 1, Event: 'x' }),
      `<root>${eventXml({ ...base, CreateTime: 1, ExternalUserID: `${RUN}i` })}</root>`,
      '<xml/>',
      `<xml><ToUserName>${demoKeys.corpId}</ToUserName>`,
      'not xml at all',
      '',
    ]);
    return { label: 'well-sealed message that is not a valid event', delivery: post(await seal(message)), expect: badXml };
  }],
  [3, 'inner-doctype', async (random) => {
    const message = random.pick([
      `<!DOCTYPE xml [<!ENTITY e SYSTEM "file:///etc/passwd">]><xml><ToUserName>&e;</ToUserName></xml>`,
      `<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;">]><xml><ToUserName>&b;</ToUserName></xml>`,
      `<xml><ToUserName>&custom;</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType></xml>`,
      `<?xml-stylesheet href="x"?><xml><ToUserName>${demoKeys.corpId}</ToUserName></xml>`,
    ]);
    return { label: 'DOCTYPE, entity or processing instruction inside the encryption', delivery: post(await seal(message)), expect: badXml };
  }],
  [3, 'inner-nested', async (random) => {
    const message = `<xml><ToUserName>${demoKeys.corpId}</ToUserName><CreateTime>1</CreateTime><MsgType>event</MsgType>${nested(random.int(8, 20_000), 'x')}</xml>`;
    return { label: 'deeply nested message inside the encryption', delivery: post(await seal(message)), expect: badXml };
  }],
  [4, 'envelope-hostile', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}h`));
    const body = random.pick([
      `<!DOCTYPE xml [<!ENTITY x "${'a'.repeat(100)}">]><xml><Encrypt>${cdata(sealed.encrypt)}</Encrypt><AgentID>&x;</AgentID></xml>`,
      `<xml><Encrypt>${cdata(sealed.encrypt)}</Encrypt><AgentID>&x;</AgentID></xml>`,
      `<root><Encrypt>${cdata(sealed.encrypt)}</Encrypt></root>`,
      `<xml><Encrypt></Encrypt></xml>`,
      `<xml><ToUserName>${demoKeys.corpId}</ToUserName></xml>`,
      `<xml>${'<AgentID>1</AgentID>'.repeat(16)}<Encrypt>${cdata(sealed.encrypt)}</Encrypt></xml>`,
      `<xml><Encrypt>${cdata(sealed.encrypt)}</Encrypt></xml><xml/>`,
      `<xml><Encrypt>${cdata(sealed.encrypt)}</Encrypt>`,
      JSON.stringify({ Encrypt: sealed.encrypt }),
      '',
      '\u0000\u0001\u0002',
    ]);
    return { label: 'hostile or malformed envelope', delivery: post(sealed, body), expect: badXml };
  }],
  [3, 'envelope-nested', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}h`));
    const body = `<xml>${nested(random.int(3, 100_000), `<Encrypt>${cdata(sealed.encrypt)}</Encrypt>`)}</xml>`;
    return { label: 'deeply nested envelope', delivery: post(sealed, body), expect: badXml };
  }],
  [2, 'envelope-huge', async (random) => {
    const sealed = await seal(genuineMessage(random, `${RUN}h`));
    const streamed = random.next() < 0.5;
    return { label: `body over 1 MB (${streamed ? 'streamed' : 'declared length'})`, delivery: post(sealed, hugeBody(streamed)), expect: { status: 413, errors: ['too_large'] } };
  }],
  [3, 'config-key-length', async (random) => {
    // A deployment whose WECOM_APPS has a key of the wrong length serves nothing until it is fixed.
    const length = random.pick([42, 44, 32, 0]);
    const broken = { ...demoKeys, encodingAESKey: random.string('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789', length) };
    const sealed = await seal(genuineMessage(random, `${RUN}c`));
    return { label: `WECOM_APPS with a ${length}-character EncodingAESKey`, delivery: { ...post(sealed), env: appsEnv([broken]) }, expect: { status: 503, errors: ['config_incomplete'] } };
  }],
  [3, 'config-other-app', async (random) => {
    // Two apps configured: one app's sealing never opens the other's door.
    const mix = random.int(0, 2);
    const keys = mix === 0 ? otherApp : mix === 1 ? { ...demoKeys, callbackToken: otherApp.callbackToken } : { ...demoKeys, encodingAESKey: otherApp.encodingAESKey };
    const sealed = await seal(genuineMessage(random, `${RUN}o`), { keys });
    return {
      label: ['sealed for the other configured app', "other app's token", "other app's key"][mix] ?? 'other app',
      delivery: { ...post(sealed), env: appsEnv([demoKeys, otherApp]) },
      expect: mix === 2 ? badPayload : badSignature,
    };
  }],
  [2, 'config-genuine', async (random, n) => {
    // The same genuine event through a two-app WECOM_APPS configuration is accepted for its own app.
    const marker = `${RUN}a${n}`;
    return { label: 'genuine event with WECOM_APPS', delivery: { ...post(await seal(genuineMessage(random, marker))), env: appsEnv([otherApp, demoKeys]) }, expect: accepted, genuine: marker };
  }],
  [4, 'verify-mutated', async (random) => {
    // The GET URL check: the echo must decrypt, and nothing is recorded either way.
    const timestamp = String(RUN_SECONDS + random.int(0, 60));
    const nonce = `v${random.int(1, 1e9)}`;
    const echo = random.string(DIGITS, 19);
    const echostr = await encryptMessage(demoKeys.encodingAESKey, echo, demoKeys.corpId, Uint8Array.from({ length: 16 }, () => random.int(0, 255)));
    const signature = await callbackSignature(demoKeys.callbackToken, timestamp, nonce, echostr);
    const kind = random.int(0, 4);
    const query = { signature, timestamp, nonce, echostr };
    if (kind === 0) return { label: 'verification with a flipped echostr', delivery: { method: 'GET', path: callbackPath, query: { ...query, echostr: flipBit(echostr, random) } }, expect: badSignature };
    if (kind === 1) {
      const flipped = flipBit(echostr, random, 'last');
      return { label: 'verification with a flipped, re-signed echostr', delivery: { method: 'GET', path: callbackPath, query: { ...query, echostr: flipped, signature: await callbackSignature(demoKeys.callbackToken, timestamp, nonce, flipped) } }, expect: badPayload };
    }
    if (kind === 2) return { label: 'verification without echostr', delivery: { method: 'GET', path: callbackPath, query: { signature, timestamp, nonce } }, expect: badRequest };
    if (kind === 3) return { label: 'verification with an echostr over 4096 characters', delivery: { method: 'GET', path: callbackPath, query: { ...query, echostr: random.string(BASE64, 4100) } }, expect: badRequest };
    return { label: 'genuine verification', delivery: { method: 'GET', path: callbackPath, query }, expect: accepted };
  }],
];

const utf8 = new TextEncoder();

/** The pad byte WeCom's 32-byte PKCS#7 gives a plaintext of random(16) ‖ len(4) ‖ msg ‖ receiveid. */
function padFor(message: string, receiveId: string): number {
  return 32 - ((20 + utf8.encode(message).length + utf8.encode(receiveId).length) % 32);
}

/** Thirty-two genuine events whose plaintexts end in every pad length 1..32, one case of each kind, drawn ones up to `CASES`, shuffled. */
async function plan(random: Random): Promise<{ cases: FuzzCase[]; pads: Set<number> }> {
  const cases: FuzzCase[] = [];
  const pads = new Set<number>();
  for (let filler = 0; filler < 32; filler++) {
    const marker = `${RUN}p${'q'.repeat(filler)}`;
    const message = eventXml({ ToUserName: demoKeys.corpId, FromUserName: 'sys', CreateTime: 1_850_000_000, MsgType: 'event', Event: 'change_external_tag', ChangeType: 'update', Id: marker, TagType: 'tag' });
    pads.add(padFor(message, demoKeys.corpId));
    cases.push({ label: `genuine event, pad ${padFor(message, demoKeys.corpId)}`, delivery: post(await seal(message)), expect: accepted, genuine: marker });
  }
  // One of each kind first, so a rare kind is never left out by the draw.
  for (const [, , generate] of generators) cases.push(await generate(random, cases.length));
  const total = generators.reduce((sum, [weight]) => sum + weight, 0);
  for (let n = cases.length; n < CASES; n++) {
    const genuine = cases.filter((c) => c.genuine !== undefined && !c.label.startsWith('retry of'));
    // About one case in eight resends an earlier genuine delivery unchanged, as WeCom's retries do.
    if (random.next() < 0.125) {
      const original = random.pick(genuine);
      cases.push({ ...original, label: `retry of: ${original.label}` });
      continue;
    }
    let roll = random.next() * total;
    const entry = generators.find(([weight]) => (roll -= weight) < 0) ?? generators[0];
    if (!entry) throw new Error('no generators');
    cases.push(await entry[2](random, n));
  }
  for (let i = cases.length - 1; i > 0; i--) {
    const j = random.int(0, i);
    const a = cases[i];
    const b = cases[j];
    if (a && b) {
      cases[i] = b;
      cases[j] = a;
    }
  }
  return { cases, pads };
}

/** Whether a dedupe key names `marker` as one of its fields (keys are `|`-joined, unknown events as `Name=value`). */
function keyNames(key: string, marker: string): boolean {
  return key.split('|').some((part) => part === marker || part === `Marker=${marker}`);
}

async function eventRows(): Promise<Array<{ dedupe_key: string; status: string; duplicates: number; attempts: number; enqueued_at: number | null; payload: string; agent_id: string }>> {
  const { results } = await env.DB.prepare('SELECT dedupe_key, status, duplicates, attempts, enqueued_at, payload, agent_id FROM events WHERE dedupe_key LIKE ?1')
    .bind(`%${RUN}%`)
    .all<{ dedupe_key: string; status: string; duplicates: number; attempts: number; enqueued_at: number | null; payload: string; agent_id: string }>();
  return results;
}

async function totalRows(): Promise<number> {
  return (await env.DB.prepare('SELECT COUNT(*) AS n FROM events').first<{ n: number }>())?.n ?? 0;
}

interface Outcome {
  status: number;
  error: string | undefined;
  bodyLength: number;
  contentType: string;
}

async function deliver(c: FuzzCase): Promise<Outcome> {
  const response = await send(c.delivery);
  const text = await response.text();
  let error: string | undefined;
  if (response.status !== 200) {
    try {
      error = (JSON.parse(text) as { error?: string }).error;
    } catch {
      error = `unparseable: ${text.slice(0, 80)}`;
    }
  }
  return { status: response.status, error, bodyLength: text.length, contentType: response.headers.get('content-type') ?? '' };
}

describe(`callback fuzz (seed ${SEED}, ${CASES} cases)`, () => {
  let cases: FuzzCase[] = [];
  let pads = new Set<number>();
  const outcomes: Outcome[] = [];
  let before = 0;

  beforeAll(async () => {
    ({ cases, pads } = await plan(createRandom(SEED)));
    before = await totalRows();
    for (let start = 0; start < cases.length; start += CONCURRENCY) {
      outcomes.push(...(await Promise.all(cases.slice(start, start + CONCURRENCY).map(deliver))));
    }
  }, 120_000);

  /** Every POST delivery of a genuine event, retries included. */
  const genuineDeliveries = () => cases.filter((c) => c.genuine !== undefined && c.delivery.method === 'POST');

  it('sends genuine events of every pad length 1..32 among the cases', () => {
    expect([...pads].sort((x, y) => x - y)).toEqual(Array.from({ length: 32 }, (_, i) => i + 1));
    expect(outcomes).toHaveLength(cases.length);
  });

  it('answers every case with its predicted status, and refusals with a short known code', () => {
    const mismatches: string[] = [];
    outcomes.forEach((outcome, index) => {
      const c = cases[index];
      if (!c) return;
      const expected = c.expect;
      const codeOk = expected.status === 200 ? outcome.error === undefined : expected.errors?.includes(outcome.error ?? '') === true;
      if (outcome.status !== expected.status || !codeOk) {
        mismatches.push(`#${index} ${c.label}: got ${outcome.status} ${outcome.error ?? ''}, expected ${expected.status} ${expected.errors?.join('|') ?? ''}`);
      }
      // Refusals say little on the wire: a short JSON code and message, never an echo of the input.
      if (outcome.status !== 200 && (!REFUSAL_CODES.has(outcome.error ?? '') || outcome.bodyLength > 400 || !outcome.contentType.startsWith('application/json'))) {
        mismatches.push(`#${index} ${c.label}: refusal is not a short known code (${outcome.error}, ${outcome.bodyLength} bytes, ${outcome.contentType})`);
      }
    });
    expect(mismatches).toEqual([]);
  });

  it('records each genuine event exactly once, counts its retries on that row, and records nothing else', async () => {
    const deliveries = genuineDeliveries();
    const markers = new Set(deliveries.map((c) => c.genuine ?? ''));
    // Each row is handed to the queue after its 200 (worker/events/dispatch.ts): wait for the marks, not for the 200.
    const rows = await waitFor(async () => {
      const found = await eventRows();
      return found.length >= markers.size && found.every((row) => row.enqueued_at !== null) ? found : undefined;
    }).catch(() => eventRows());
    expect(await totalRows()).toBe(before + markers.size);
    expect(rows).toHaveLength(markers.size);
    for (const marker of markers) {
      const matching = rows.filter((row) => keyNames(row.dedupe_key, marker));
      expect(matching, `rows for ${marker}`).toHaveLength(1);
      expect(matching[0]?.duplicates, `retries of ${marker}`).toBe(deliveries.filter((c) => c.genuine === marker).length - 1);
      expect(matching[0]?.enqueued_at, `${marker} handed to the queue`).not.toBeNull();
      expect(matching[0]?.agent_id).toBe(demoKeys.agentId);
    }
    const entityRows = rows.filter((row) => row.payload.includes('"Note"'));
    expect(entityRows).toHaveLength(new Set(deliveries.filter((c) => c.label.includes('entities')).map((c) => c.genuine)).size);
    for (const row of entityRows) expect((JSON.parse(row.payload) as { fields: Record<string, string> }).fields.Note).toBe('a & b 中 <c>');
  });

  it('applies each recorded event once through the queue, and the log stays the same size', async () => {
    const markers = new Set(genuineDeliveries().map((c) => c.genuine));
    const applied = await waitFor(async () => {
      const current = await eventRows();
      return current.length > 0 && current.every((row) => row.status === 'applied') ? current : undefined;
    }, 30_000);
    expect(applied).toHaveLength(markers.size);
    expect(applied.filter((row) => row.attempts !== 1)).toEqual([]);
    expect(await totalRows()).toBe(before + markers.size);
  }, 40_000);
});
