/**
 * @module
 * Bench part 1's intake work, shared by both places it is measured: `intake` runs in Node
 * (scripts/bench-intake.ts imports it) and, bundled by esbuild, inside workerd under Miniflare, which is
 * where the product runs it. The default export is that bench-only worker; it is never part of the
 * deployed worker (wrangler.toml's main is worker/index.ts, which does not import this file).
 *
 * The worker keeps the deliveries it was given (POST /load) and runs them on request
 * (POST /run?stage=…&repeat=…), so the timed requests carry no payload to parse: repeat=0 is the
 * empty batch whose cost the bench subtracts.
 */
import { decryptMessage, verifyCallbackSignature } from '../worker/wecom/crypto.ts';
import { dedupeKey, eventLabel, toEvent } from '../worker/wecom/events.ts';
import { childText, parseXml } from '../worker/wecom/xml.ts';

export interface IntakeKeys {
  corpId: string;
  callbackToken: string;
  encodingAESKey: string;
}

/** One delivery as the callback route sees it: the POST body and the signed query values. */
export interface IntakeDelivery {
  body: string;
  timestamp: string;
  nonce: string;
  signature: string;
}

export type IntakeStage = 'all' | 'signature' | 'decrypt' | 'xml';
export const INTAKE_STAGES: readonly IntakeStage[] = ['all', 'signature', 'decrypt', 'xml'];

/** The callback route's work per delivery, up to the D1 write; returns the dedupe key. */
export async function intake(keys: IntakeKeys, delivery: IntakeDelivery): Promise<string> {
  const envelope = parseXml(delivery.body, { maxDepth: 3, maxElements: 16 });
  if (!envelope.ok) throw new Error(`envelope: ${envelope.reason}`);
  const encrypted = childText(envelope.root, 'Encrypt');
  if (envelope.root.name !== 'xml' || !encrypted) throw new Error('no Encrypt');
  const encrypt = encrypted.trim();
  if (!(await verifyCallbackSignature(keys.callbackToken, delivery.timestamp, delivery.nonce, encrypt, delivery.signature))) throw new Error('signature');
  const opened = await decryptMessage(keys.encodingAESKey, encrypt);
  if (!opened.ok) throw new Error(`decrypt: ${opened.reason}`);
  if (opened.receiveId !== keys.corpId) throw new Error('receive id');
  const inner = parseXml(opened.message);
  if (!inner.ok) throw new Error(`message: ${inner.reason}`);
  const typed = toEvent(inner.root);
  if (!typed.ok) throw new Error(`event: ${typed.reason}`);
  if (typed.event.corpId !== keys.corpId) throw new Error('ToUserName');
  eventLabel(typed.event);
  return dedupeKey(typed.event);
}

/** What each stage alone needs, prepared once so a stage's run measures only that stage. */
export interface PreparedDelivery extends IntakeDelivery {
  encrypt: string;
  message: string;
}

export async function prepare(keys: IntakeKeys, delivery: IntakeDelivery): Promise<PreparedDelivery> {
  const envelope = parseXml(delivery.body, { maxDepth: 3, maxElements: 16 });
  const encrypt = envelope.ok ? childText(envelope.root, 'Encrypt')?.trim() : undefined;
  if (!encrypt) throw new Error('no Encrypt');
  const opened = await decryptMessage(keys.encodingAESKey, encrypt);
  if (!opened.ok) throw new Error(`decrypt: ${opened.reason}`);
  return { ...delivery, encrypt, message: opened.message };
}

/** One stage over every delivery; the stages add up to roughly 'all' (which also reads the envelope's text once). */
export async function runStage(stage: IntakeStage, keys: IntakeKeys, deliveries: readonly PreparedDelivery[]): Promise<void> {
  switch (stage) {
    case 'all':
      for (const d of deliveries) await intake(keys, d);
      return;
    case 'signature':
      for (const d of deliveries) {
        if (!(await verifyCallbackSignature(keys.callbackToken, d.timestamp, d.nonce, d.encrypt, d.signature))) throw new Error('signature');
      }
      return;
    case 'decrypt':
      for (const d of deliveries) {
        if (!(await decryptMessage(keys.encodingAESKey, d.encrypt)).ok) throw new Error('decrypt');
      }
      return;
    case 'xml':
      for (const d of deliveries) {
        const envelope = parseXml(d.body, { maxDepth: 3, maxElements: 16 });
        const inner = parseXml(d.message);
        if (!envelope.ok || !inner.ok) throw new Error('xml');
        const typed = toEvent(inner.root);
        if (!typed.ok) throw new Error('event');
        eventLabel(typed.event);
        dedupeKey(typed.event);
      }
      return;
  }
}

// One isolate serves every request under Miniflare, so what /load stored is there for /run.
let loaded: { keys: IntakeKeys; deliveries: PreparedDelivery[] } | undefined;

function isStage(value: string): value is IntakeStage {
  return (INTAKE_STAGES as readonly string[]).includes(value);
}

export default {
  async fetch(request: Request): Promise<Response> {
    const url = new URL(request.url);
    try {
      if (request.method === 'POST' && url.pathname === '/load') {
        const input = (await request.json()) as { keys: IntakeKeys; deliveries: IntakeDelivery[] };
        const deliveries: PreparedDelivery[] = [];
        const dedupeKeys: string[] = [];
        for (const delivery of input.deliveries) {
          deliveries.push(await prepare(input.keys, delivery));
          dedupeKeys.push(await intake(input.keys, delivery));
        }
        loaded = { keys: input.keys, deliveries };
        // Node compares these with its own, so both sides are shown to do the same work.
        return Response.json({ dedupeKeys });
      }
      if (request.method === 'POST' && url.pathname === '/run') {
        if (!loaded) return new Response('nothing loaded', { status: 409 });
        const stage = url.searchParams.get('stage') ?? 'all';
        const repeat = Number(url.searchParams.get('repeat') ?? '1');
        if (!isStage(stage) || !Number.isInteger(repeat) || repeat < 0) return new Response('bad stage or repeat', { status: 400 });
        for (let i = 0; i < repeat; i++) await runStage(stage, loaded.keys, loaded.deliveries);
        return Response.json({ events: repeat * loaded.deliveries.length });
      }
      return new Response('not found', { status: 404 });
    } catch (error) {
      return new Response(error instanceof Error ? error.message : String(error), { status: 500 });
    }
  },
};
