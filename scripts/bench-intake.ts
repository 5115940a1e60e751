/**
 * @module
 * Bench part 1, callback intake in this process: what the callback route does to a delivery before
 * D1 (envelope XML, signature, decryption, receive id, message XML, typed event, dedupe key),
 * through the worker's own pure modules, against the official `@wecom/crypto` doing signature and
 * decryption on the same deliveries. Rounds alternate between the two so both meet the same noise.
 */
import { decrypt, getSignature } from '@wecom/crypto';
import { decryptMessage, verifyCallbackSignature } from '../worker/wecom/crypto.ts';
import { sealCallback } from '../worker/wecom/envelope.ts';
import { dedupeKey, eventLabel, toEvent } from '../worker/wecom/events.ts';
import { childText, parseXml } from '../worker/wecom/xml.ts';
import { demoIds } from '../test/fixtures/demo-corp.ts';
import { buildEventXml, demoKeys, EVENT_KINDS, type EventKind } from '../test/simulator/events.ts';

export interface IntakeResult {
  events: number;
  padLengths: number;
  rounds: number;
  ours: { eventsPerSecond: number; cpuMicrosPerEvent: number; wallMicrosPerEvent: number };
  reference: { eventsPerSecond: number; cpuMicrosPerEvent: number; wallMicrosPerEvent: number };
  /** Where our time goes: wall µs per event of each stage run alone. */
  stages: { xml: number; signature: number; decrypt: number };
  /** Reference time per event over ours: 1 or more means at least as fast. */
  wallRatio: number;
  cpuRatio: number;
}

interface Delivery {
  body: string;
  timestamp: string;
  nonce: string;
  signature: string;
  encrypt: string;
  message: string;
}

const utf8 = new TextEncoder();

/** Realistic events of every supported kind, with names and ids of varying length so every pad length 1..32 occurs. */
async function makeDeliveries(count: number): Promise<Delivery[]> {
  const kinds = Object.keys(EVENT_KINDS) as EventKind[];
  const contacts = Object.values(demoIds.externalUserIds);
  const names = ['王五', '李四 Lisa', '陈静-星河贸易', 'Zhou Min', '赵六（华南）', 'A'];
  const deliveries: Delivery[] = [];
  for (let i = 0; i < count; i++) {
    const kind = kinds[i % kinds.length] ?? 'contact-edited';
    const message = buildEventXml(kind, demoKeys.corpId, {
      user: i % 3 === 0 ? 'wangwu' : `member${'x'.repeat(i % 17)}`,
      contact: `${contacts[i % contacts.length] ?? 'wm'}${'_'.repeat(i % 11)}`,
      chat: `wr${'c'.repeat(8 + (i % 23))}`,
      id: String(100 + i),
      name: `${names[i % names.length] ?? ''}${'·'.repeat(i % 5)}`,
      createTime: 1_700_000_000 + i,
    });
    const timestamp = String(1_700_000_000 + i);
    const nonce = String(100_000_000 + ((i * 7919) % 900_000_000));
    const sealed = await sealCallback(demoKeys, message, timestamp, nonce);
    deliveries.push({ body: sealed.body, timestamp, nonce, signature: sealed.signature, encrypt: sealed.encrypt, message });
  }
  return deliveries;
}

function padOf(message: string): number {
  return 32 - ((20 + utf8.encode(message).length + utf8.encode(demoKeys.corpId).length) % 32);
}

/** The callback route's work per delivery, up to the D1 write. */
async function ours(delivery: Delivery): Promise<string> {
  const envelope = parseXml(delivery.body, { maxDepth: 3, maxElements: 16 });
  if (!envelope.ok) throw new Error(`envelope: ${envelope.reason}`);
  const encrypted = childText(envelope.root, 'Encrypt');
  if (envelope.root.name !== 'xml' || !encrypted) throw new Error('no Encrypt');
  const encrypt = encrypted.trim();
  if (!(await verifyCallbackSignature(demoKeys.callbackToken, delivery.timestamp, delivery.nonce, encrypt, delivery.signature))) throw new Error('signature');
  const opened = await decryptMessage(demoKeys.encodingAESKey, encrypt);
  if (!opened.ok) throw new Error(`decrypt: ${opened.reason}`);
  if (opened.receiveId !== demoKeys.corpId) throw new Error('receive id');
  const inner = parseXml(opened.message);
  if (!inner.ok) throw new Error(`message: ${inner.reason}`);
  const typed = toEvent(inner.root);
  if (!typed.ok) throw new Error(`event: ${typed.reason}`);
  if (typed.event.corpId !== demoKeys.corpId) throw new Error('ToUserName');
  eventLabel(typed.event);
  return dedupeKey(typed.event);
}

/** The official library's verify + decrypt on the same delivery. */
function reference(delivery: Delivery): string {
  if (getSignature(demoKeys.callbackToken, delivery.timestamp, delivery.nonce, delivery.encrypt) !== delivery.signature) throw new Error('signature');
  const { message, id } = decrypt(demoKeys.encodingAESKey, delivery.encrypt);
  if (id !== demoKeys.corpId) throw new Error('receive id');
  return message;
}

interface Sample {
  wallMs: number;
  cpuMicros: number;
}

async function round(run: () => Promise<void> | void): Promise<Sample> {
  const cpu = process.cpuUsage();
  const started = performance.now();
  await run();
  const wallMs = performance.now() - started;
  const used = process.cpuUsage(cpu);
  return { wallMs, cpuMicros: used.user + used.system };
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[mid] ?? 0) : ((sorted[mid - 1] ?? 0) + (sorted[mid] ?? 0)) / 2;
}

export async function benchIntake(options: { events?: number; rounds?: number; warmup?: number } = {}): Promise<IntakeResult> {
  const deliveries = await makeDeliveries(options.events ?? 320);
  const pads = new Set(deliveries.map((d) => padOf(d.message)));
  if (pads.size !== 32) throw new Error(`the bench events cover ${pads.size} of the 32 pad lengths`);
  // Both sides must read the same messages, or the comparison is meaningless.
  for (const delivery of deliveries) {
    if (reference(delivery) !== delivery.message) throw new Error('@wecom/crypto decrypted a different message');
    await ours(delivery);
  }

  const runOurs = async () => {
    for (const delivery of deliveries) await ours(delivery);
  };
  const runReference = () => {
    for (const delivery of deliveries) reference(delivery);
  };
  for (let i = 0; i < (options.warmup ?? 3); i++) {
    await runOurs();
    runReference();
  }
  const rounds = options.rounds ?? 15;
  const oursSamples: Sample[] = [];
  const referenceSamples: Sample[] = [];
  for (let i = 0; i < rounds; i++) {
    oursSamples.push(await round(runOurs));
    referenceSamples.push(await round(runReference));
  }

  // The stages alone, to show where the time goes.
  const stageSamples = { xml: [] as number[], signature: [] as number[], decrypt: [] as number[] };
  const envelopes = deliveries.map((d) => ({ ...d, trimmed: d.encrypt.trim() }));
  for (let i = 0; i < rounds; i++) {
    stageSamples.xml.push(
      (
        await round(() => {
          for (const d of envelopes) {
            const envelope = parseXml(d.body, { maxDepth: 3, maxElements: 16 });
            const inner = parseXml(d.message);
            if (!envelope.ok || !inner.ok) throw new Error('xml');
            const typed = toEvent(inner.root);
            if (typed.ok) dedupeKey(typed.event);
          }
        })
      ).wallMs,
    );
    stageSamples.signature.push(
      (
        await round(async () => {
          for (const d of envelopes) await verifyCallbackSignature(demoKeys.callbackToken, d.timestamp, d.nonce, d.trimmed, d.signature);
        })
      ).wallMs,
    );
    stageSamples.decrypt.push(
      (
        await round(async () => {
          for (const d of envelopes) await decryptMessage(demoKeys.encodingAESKey, d.trimmed);
        })
      ).wallMs,
    );
  }
  const perEvent = (values: number[]) => (median(values) * 1000) / deliveries.length;

  const summarise = (samples: Sample[]) => {
    const wallMicrosPerEvent = (median(samples.map((s) => s.wallMs)) * 1000) / deliveries.length;
    return {
      eventsPerSecond: 1e6 / wallMicrosPerEvent,
      wallMicrosPerEvent,
      cpuMicrosPerEvent: median(samples.map((s) => s.cpuMicros)) / deliveries.length,
    };
  };
  const oursSummary = summarise(oursSamples);
  const referenceSummary = summarise(referenceSamples);
  return {
    events: deliveries.length,
    padLengths: pads.size,
    rounds,
    ours: oursSummary,
    reference: referenceSummary,
    stages: { xml: perEvent(stageSamples.xml), signature: perEvent(stageSamples.signature), decrypt: perEvent(stageSamples.decrypt) },
    wallRatio: referenceSummary.wallMicrosPerEvent / oursSummary.wallMicrosPerEvent,
    cpuRatio: referenceSummary.cpuMicrosPerEvent / oursSummary.cpuMicrosPerEvent,
  };
}
