/**
 * @module
 * `GET|POST /wecom/callback/:corpId/:agentId`: the door WeCom's events come through.
 * Nothing inside is believed until the signature, the timestamp (within ±5 min of now, wecom/freshness.ts),
 * the decryption and the receive id all check out;
 * an accepted event is recorded in D1 before the 200 (one statement, which also deduplicates WeCom's
 * retries) and handed to the queue after it (events/dispatch.ts: why that loses nothing).
 */
import { Hono, type Context } from 'hono';
import { findApp, type WeComApp } from '../env.ts';
import { handOff, needsHandOff } from '../events/dispatch.ts';
import { CALLBACK_VERIFIED_KEY } from '../events/verification.ts';
import { log } from '../log.ts';
import { edgeServices } from '../services.ts';
import { decryptMessage, verifyCallbackSignature } from '../wecom/crypto.ts';
import { dedupeKey, eventLabel, toEvent } from '../wecom/events.ts';
import { CALLBACK_WINDOW_SECONDS, checkCallbackTime } from '../wecom/freshness.ts';
import { childText, parseXml } from '../wecom/xml.ts';
import type { AppEnv } from '../types.ts';

/** WeCom's envelopes are a few KB; anything near this is not from WeCom. */
export const MAX_CALLBACK_BYTES = 1024 * 1024;
/**
 * A streamed (chunked) body over the limit is read to its end and discarded, up to this much,
 * before the 413. Answering after reading only part of it, cancelled or merely abandoned, takes
 * `wrangler dev` down: its local proxy answers the next request with 500 and exits. Past this cap
 * the stream is cancelled anyway; the edge limits request bodies itself.
 */
export const MAX_DRAIN_BYTES = 16 * 1024 * 1024;

const SIGNATURE = /^[0-9a-f]{40}$/i;
const TIMESTAMP = /^[0-9]{1,12}$/;
const NONCE = /^[0-9A-Za-z_-]{1,64}$/;

type Refusal = { status: 400 | 401 | 404 | 413; error: string; message: string };

function refuse(c: Context<AppEnv>, refusal: Refusal, reason: string) {
  log('warn', 'callback.refused', {
    corpId: c.req.param('corpId'),
    agentId: c.req.param('agentId'),
    method: c.req.method,
    status: refusal.status,
    error: refusal.error,
    reason,
  });
  return c.json({ error: refusal.error, message: refusal.message }, refusal.status);
}

const unknownApp: Refusal = { status: 404, error: 'unknown_app', message: 'No WeCom app is configured for this corp and agent' };
const badQuery: Refusal = { status: 400, error: 'bad_request', message: 'msg_signature, timestamp and nonce are required and must be well formed' };
const badSignature: Refusal = { status: 401, error: 'bad_signature', message: 'Signature check failed' };
const staleTimestamp: Refusal = { status: 401, error: 'stale_timestamp', message: `The timestamp is more than ${CALLBACK_WINDOW_SECONDS} s from now` };
const undecryptable: Refusal = { status: 400, error: 'bad_payload', message: 'The message could not be decrypted' };
const wrongReceiver: Refusal = { status: 400, error: 'bad_payload', message: 'The message was not addressed to this corp' };
const badXml: Refusal = { status: 400, error: 'bad_xml', message: 'The body is not an acceptable WeCom XML envelope' };
const tooLarge: Refusal = { status: 413, error: 'too_large', message: `The body exceeds ${MAX_CALLBACK_BYTES} bytes` };

interface SignedQuery {
  signature: string;
  timestamp: string;
  nonce: string;
}

function readSignedQuery(c: Context<AppEnv>): SignedQuery | undefined {
  const signature = c.req.query('msg_signature') ?? '';
  const timestamp = c.req.query('timestamp') ?? '';
  const nonce = c.req.query('nonce') ?? '';
  if (!SIGNATURE.test(signature) || !TIMESTAMP.test(timestamp) || !NONCE.test(nonce)) return undefined;
  return { signature, timestamp, nonce };
}

/** Keeps at most `limit` bytes; undefined when the body is larger (the rest is drained, not buffered). */
async function readBodyWithin(request: Request, limit: number): Promise<string | undefined> {
  const declared = Number(request.headers.get('content-length') ?? '0');
  // Refused unread: the runtime handles a declared length it was not asked to read.
  if (declared > limit) return undefined;
  if (!request.body) return '';
  const reader = request.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > MAX_DRAIN_BYTES) {
      await reader.cancel();
      return undefined;
    }
    if (size <= limit) chunks.push(value);
  }
  if (size > limit) return undefined;
  const bytes = new Uint8Array(size);
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return new TextDecoder().decode(bytes);
}

async function open(app: WeComApp, query: SignedQuery, encrypted: string, now: number): Promise<{ ok: true; message: string } | { ok: false; refusal: Refusal; reason: string }> {
  if (!(await verifyCallbackSignature(app.callbackToken, query.timestamp, query.nonce, encrypted, query.signature))) {
    return { ok: false, refusal: badSignature, reason: 'msg_signature does not match' };
  }
  // Checked after the signature, so the log tells a genuine but stale request (replay, skewed clock) from a forgery.
  const fresh = checkCallbackTime(query.timestamp, now);
  if (!fresh.ok) return { ok: false, refusal: staleTimestamp, reason: fresh.reason };
  const decrypted = await decryptMessage(app.encodingAESKey, encrypted);
  if (!decrypted.ok) return { ok: false, refusal: undecryptable, reason: `decrypt: ${decrypted.reason}` };
  if (decrypted.receiveId !== app.corpId) {
    return { ok: false, refusal: wrongReceiver, reason: `receive id ${decrypted.receiveId.slice(0, 64)} is not this corp` };
  }
  return { ok: true, message: decrypted.message };
}

export const callback = new Hono<AppEnv>()
  .get('/:corpId/:agentId', async (c) => {
    const app = findApp(c.var.config, c.req.param('corpId'), c.req.param('agentId'));
    if (!app) return refuse(c, unknownApp, 'no such app');
    const query = readSignedQuery(c);
    // A proxy that forwards a raw '+' turns it into a space; base64 never contains spaces.
    const echostr = (c.req.query('echostr') ?? '').replaceAll(' ', '+');
    if (!query || echostr === '' || echostr.length > 4096) return refuse(c, badQuery, 'missing or malformed query');
    const opened = await open(app, query, echostr, Date.now());
    if (!opened.ok) return refuse(c, opened.refusal, opened.reason);
    c.executionCtx.waitUntil(
      c.env.KV.put(CALLBACK_VERIFIED_KEY(app.corpId, app.agentId), String(Date.now())).catch((error: unknown) =>
        log('warn', 'callback.verified_not_recorded', { corpId: app.corpId, agentId: app.agentId, message: String(error) }),
      ),
    );
    log('info', 'callback.verified', { corpId: app.corpId, agentId: app.agentId });
    // Exactly the plaintext: no quotes, no newline, no BOM.
    return c.body(opened.message, 200, { 'content-type': 'text/plain; charset=utf-8' });
  })
  .post('/:corpId/:agentId', async (c) => {
    const app = findApp(c.var.config, c.req.param('corpId'), c.req.param('agentId'));
    if (!app) return refuse(c, unknownApp, 'no such app');
    const query = readSignedQuery(c);
    if (!query) return refuse(c, badQuery, 'missing or malformed query');
    const body = await readBodyWithin(c.req.raw, MAX_CALLBACK_BYTES);
    if (body === undefined) return refuse(c, tooLarge, 'body over limit');

    const envelope = parseXml(body, { maxDepth: 3, maxElements: 16 });
    if (!envelope.ok) return refuse(c, badXml, `envelope: ${envelope.reason}`);
    const encrypted = childText(envelope.root, 'Encrypt');
    if (envelope.root.name !== 'xml' || !encrypted) return refuse(c, badXml, 'envelope has no Encrypt');

    const opened = await open(app, query, encrypted.trim(), Date.now());
    if (!opened.ok) return refuse(c, opened.refusal, opened.reason);

    const inner = parseXml(opened.message);
    if (!inner.ok) return refuse(c, badXml, `message: ${inner.reason}`);
    const typed = toEvent(inner.root);
    if (!typed.ok) return refuse(c, badXml, `message: ${typed.reason}`);
    const event = typed.event;
    if (event.corpId !== app.corpId) return refuse(c, wrongReceiver, 'ToUserName is not this corp');

    const label = eventLabel(event);
    const store = edgeServices(c.env, c.var.config).events;
    const started = Date.now();
    const outcome = await store.record({
      corpId: app.corpId,
      agentId: app.agentId,
      dedupeKey: dedupeKey(event),
      kind: label.kind,
      changeType: label.changeType,
      event,
      now: started,
    });
    // The row is the durable record: from here the event is applied even if this isolate dies. The queue
    // send and the `enqueued_at` mark are two more round trips WeCom's 5 s deadline need not wait for;
    // a hand-off that never completes leaves the row unsent, and the sweep (events/dispatch.ts) sends it.
    if (needsHandOff(outcome, Date.now())) c.executionCtx.waitUntil(handOff(c.env.EVENTS, store, outcome.id, Date.now));
    log('info', outcome.isNew ? 'callback.accepted' : 'callback.duplicate', {
      corpId: app.corpId,
      agentId: app.agentId,
      eventId: outcome.id,
      kind: label.kind,
      changeType: label.changeType,
      ms: Date.now() - started,
    });
    return c.body(null, 200);
  });
