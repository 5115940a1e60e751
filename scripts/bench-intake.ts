/**
 * @module
 * Bench part 1, callback intake: what the callback route does to a delivery before D1 (envelope XML,
 * signature, decryption, receive id, message XML, typed event, dedupe key), through the worker's own
 * pure modules, against the official `@wecom/crypto` doing signature and decryption on the same
 * deliveries in Node.
 *
 * Ours is measured twice on the same deliveries: in this Node process, and inside workerd (a bench-only
 * worker, scripts/bench-intake-worker.ts, bundled with esbuild and run by Miniflare), which is where the
 * product runs it. The two differ a lot because in Node each WebCrypto call is an asynchronous job on
 * another thread, while workerd answers it on the spot. In Node, rounds alternate between ours and the
 * reference so both meet the same noise.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decrypt, getSignature } from '@wecom/crypto';
import { build } from 'esbuild';
import { Miniflare } from 'miniflare';
import { sealCallback } from '../worker/wecom/envelope.ts';
import { demoIds } from '../dev/fixtures/demo-corp.ts';
import { buildEventXml, demoKeys, EVENT_KINDS, type EventKind } from '../dev/simulator/events.ts';
import { intake, prepare, runStage, type IntakeDelivery, type IntakeKeys, type IntakeStage, type PreparedDelivery } from './bench-intake-worker.ts';
import { root } from './local.ts';

interface PerEvent {
  eventsPerSecond: number;
  cpuMicrosPerEvent: number;
  wallMicrosPerEvent: number;
}

/** Wall µs per event of each stage run alone. */
interface Stages {
  xml: number;
  signature: number;
  decrypt: number;
}

export type WorkerdIntake =
  | {
      measured: true;
      /** Events per timed request (the deliveries run `repeat` times), and timed requests per measure. */
      eventsPerRequest: number;
      rounds: number;
      /** The empty batch (repeat=0): round trip through Miniflare's entry worker, subtracted from every request. */
      emptyRequest: { wallMs: number; cpuMs: number | null };
      /** cpuMicrosPerEvent is NaN when workerd's process could not be found; cpuSource says so. */
      ours: PerEvent;
      cpuSource: string;
      stages: Stages;
      wallRatio: number;
      cpuRatio: number;
    }
  | { measured: false; reason: string };

export interface IntakeResult {
  events: number;
  padLengths: number;
  rounds: number;
  /** Ours in this Node process: not where the product runs it. */
  ours: PerEvent;
  reference: PerEvent;
  stages: Stages;
  /** Reference time per event over ours: 1 or more means at least as fast. */
  wallRatio: number;
  cpuRatio: number;
  /** Ours inside workerd, the product's runtime, against the same reference numbers. */
  workerd: WorkerdIntake;
}

interface Delivery extends IntakeDelivery {
  encrypt: string;
  message: string;
}

const utf8 = new TextEncoder();
const keys: IntakeKeys = { corpId: demoKeys.corpId, callbackToken: demoKeys.callbackToken, encodingAESKey: demoKeys.encodingAESKey };

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

export async function benchIntake(options: { events?: number; rounds?: number; warmup?: number; workerd?: boolean } = {}): Promise<IntakeResult> {
  const deliveries = await makeDeliveries(options.events ?? 320);
  const pads = new Set(deliveries.map((d) => padOf(d.message)));
  if (pads.size !== 32) throw new Error(`the bench events cover ${pads.size} of the 32 pad lengths`);
  // Both sides must read the same messages, or the comparison is meaningless.
  const dedupeKeys: string[] = [];
  for (const delivery of deliveries) {
    if (reference(delivery) !== delivery.message) throw new Error('@wecom/crypto decrypted a different message');
    dedupeKeys.push(await intake(keys, delivery));
  }

  const runOurs = async () => {
    for (const delivery of deliveries) await intake(keys, delivery);
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

  // The stages alone, to show where the time goes; the same code the workerd run uses.
  const prepared: PreparedDelivery[] = [];
  for (const delivery of deliveries) prepared.push(await prepare(keys, delivery));
  const stageSamples: Record<keyof Stages, number[]> = { xml: [], signature: [], decrypt: [] };
  for (let i = 0; i < rounds; i++) {
    for (const stage of ['xml', 'signature', 'decrypt'] as const) stageSamples[stage].push((await round(() => runStage(stage, keys, prepared))).wallMs);
  }
  const perEvent = (values: number[]) => (median(values) * 1000) / deliveries.length;

  const summarise = (samples: Sample[]): PerEvent => {
    const wallMicrosPerEvent = (median(samples.map((s) => s.wallMs)) * 1000) / deliveries.length;
    return {
      eventsPerSecond: 1e6 / wallMicrosPerEvent,
      wallMicrosPerEvent,
      cpuMicrosPerEvent: median(samples.map((s) => s.cpuMicros)) / deliveries.length,
    };
  };
  const oursSummary = summarise(oursSamples);
  const referenceSummary = summarise(referenceSamples);

  let workerd: WorkerdIntake;
  if (options.workerd === false) workerd = { measured: false, reason: 'skipped' };
  else {
    try {
      workerd = await benchInWorkerd(deliveries, dedupeKeys, referenceSummary);
    } catch (error) {
      workerd = { measured: false, reason: error instanceof Error ? error.message : String(error) };
    }
  }

  return {
    events: deliveries.length,
    padLengths: pads.size,
    rounds,
    ours: oursSummary,
    reference: referenceSummary,
    stages: { xml: perEvent(stageSamples.xml), signature: perEvent(stageSamples.signature), decrypt: perEvent(stageSamples.decrypt) },
    wallRatio: referenceSummary.wallMicrosPerEvent / oursSummary.wallMicrosPerEvent,
    cpuRatio: referenceSummary.cpuMicrosPerEvent / oursSummary.cpuMicrosPerEvent,
    workerd,
  };
}

// ---------------------------------------------------------------------------------------------
// Inside workerd

/** The product's compatibility date and flags, so the bench worker runs on the same workerd behaviour. */
function productCompatibility(): { compatibilityDate: string; compatibilityFlags: string[] } {
  const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8');
  const date = /^compatibility_date\s*=\s*"([^"]+)"/m.exec(toml)?.[1];
  if (!date) throw new Error('no compatibility_date in wrangler.toml');
  const flags = /^compatibility_flags\s*=\s*\[([^\]]*)\]/m.exec(toml)?.[1] ?? '';
  return { compatibilityDate: date, compatibilityFlags: [...flags.matchAll(/"([^"]+)"/g)].map((m) => m[1] ?? '').filter(Boolean) };
}

const CLOCK_TICKS_PER_SECOND = 100; // USER_HZ, 100 on every Linux this runs on; /proc counts CPU time in it.

/** This process's children by pid and name, from /proc; empty off Linux. */
function childProcesses(): Map<number, string> {
  const found = new Map<number, string>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return found;
  }
  for (const entry of entries) {
    if (!/^[0-9]+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      // The name is in parentheses and may hold spaces; the fields after it are plain.
      const close = stat.lastIndexOf(')');
      const fields = stat.slice(close + 2).split(' ');
      if (Number(fields[1]) === process.pid) found.set(Number(entry), stat.slice(stat.indexOf('(') + 1, close));
    } catch {
      // exited meanwhile
    }
  }
  return found;
}

/** User + system CPU of a process, all threads, in ms (resolution 10 ms). */
function processCpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // utime and stime are fields 14 and 15 of stat(5); the slice starts at field 3.
  return ((Number(fields[11]) + Number(fields[12])) * 1000) / CLOCK_TICKS_PER_SECOND;
}

async function benchInWorkerd(deliveries: Delivery[], expectedKeys: string[], referenceSummary: PerEvent): Promise<WorkerdIntake> {
  const bundle = await build({
    entryPoints: [join(root, 'scripts', 'bench-intake-worker.ts')],
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    write: false,
    logLevel: 'warning',
  });
  const code = bundle.outputFiles[0]?.text;
  if (!code) throw new Error('esbuild produced no bundle');

  const before = childProcesses();
  const mf = new Miniflare({
    workers: [
      {
        config: {
          name: 'intake-bench',
          type: 'worker',
          ...productCompatibility(),
          manifest: { mainModule: 'intake-bench.js', modules: { 'intake-bench.js': { type: 'esm', contents: code } } },
        },
      },
    ],
  });
  try {
    await mf.ready;
    const workerdPids = [...childProcesses()].filter(([pid, name]) => !before.has(pid) && name.includes('workerd')).map(([pid]) => pid);
    const pid = workerdPids.length === 1 ? workerdPids[0] : undefined;
    const cpuSource = pid !== undefined ? `workerd process CPU (/proc/${pid}/stat, all threads, minus the empty batch)` : `wall only: ${workerdPids.length === 0 ? 'workerd process not found' : 'more than one new workerd process'}`;

    const call = async (path: string, body?: string): Promise<string> => {
      const response = await mf.dispatchFetch(`http://intake-bench${path}`, { method: 'POST', ...(body === undefined ? {} : { body, headers: { 'content-type': 'application/json' } }) });
      const text = await response.text();
      if (!response.ok) throw new Error(`bench worker ${path}: ${response.status} ${text.slice(0, 200)}`);
      return text;
    };
    const loaded = JSON.parse(await call('/load', JSON.stringify({ keys, deliveries: deliveries.map(({ body, timestamp, nonce, signature }) => ({ body, timestamp, nonce, signature })) }))) as { dedupeKeys: string[] };
    if (JSON.stringify(loaded.dedupeKeys) !== JSON.stringify(expectedKeys)) throw new Error('workerd read the deliveries differently from Node');

    const timed = async (stage: IntakeStage, repeat: number) => {
      const cpuBefore = pid === undefined ? NaN : processCpuMs(pid);
      const started = performance.now();
      await call(`/run?stage=${stage}&repeat=${repeat}`);
      const wallMs = performance.now() - started;
      return { wallMs, cpuMs: pid === undefined ? NaN : processCpuMs(pid) - cpuBefore };
    };

    // The empty batch: what a request costs with no intake work in it.
    for (let i = 0; i < 10; i++) await timed('all', 0);
    const empties: Array<{ wallMs: number; cpuMs: number }> = [];
    for (let i = 0; i < 40; i++) empties.push(await timed('all', 0));
    const emptyWallMs = median(empties.map((e) => e.wallMs));
    // CPU averaged over all of them, because one empty request is far below the counter's 10 ms tick.
    const emptyCpuMs = empties.reduce((sum, e) => sum + e.cpuMs, 0) / empties.length;

    // Each timed request runs the deliveries often enough to take ~150 ms, well above the tick.
    // Wall is the median over the rounds; CPU is their total, so each round's rounding to a tick averages out.
    const measure = async (stage: IntakeStage, rounds: number) => {
      for (let i = 0; i < 3; i++) await timed(stage, 1); // warm-up, and JIT
      const once = median([(await timed(stage, 1)).wallMs, (await timed(stage, 1)).wallMs, (await timed(stage, 1)).wallMs]) - emptyWallMs;
      const repeat = Math.min(400, Math.max(1, Math.ceil(150 / Math.max(once, 0.1))));
      const walls: number[] = [];
      let cpuMs = 0;
      for (let i = 0; i < rounds; i++) {
        const sample = await timed(stage, repeat);
        walls.push(sample.wallMs - emptyWallMs);
        cpuMs += sample.cpuMs - emptyCpuMs;
      }
      const events = repeat * deliveries.length;
      return { repeat, wallMicrosPerEvent: (median(walls) * 1000) / events, cpuMicrosPerEvent: (cpuMs * 1000) / (rounds * events) };
    };

    const rounds = 9;
    const all = await measure('all', rounds);
    const stages: Stages = { signature: NaN, decrypt: NaN, xml: NaN };
    for (const stage of ['signature', 'decrypt', 'xml'] as const) stages[stage] = (await measure(stage, 5)).wallMicrosPerEvent;
    const ours: PerEvent = { eventsPerSecond: 1e6 / all.wallMicrosPerEvent, wallMicrosPerEvent: all.wallMicrosPerEvent, cpuMicrosPerEvent: all.cpuMicrosPerEvent };
    return {
      measured: true,
      eventsPerRequest: all.repeat * deliveries.length,
      rounds,
      emptyRequest: { wallMs: emptyWallMs, cpuMs: pid === undefined ? null : emptyCpuMs },
      ours,
      cpuSource,
      stages,
      wallRatio: referenceSummary.wallMicrosPerEvent / ours.wallMicrosPerEvent,
      cpuRatio: referenceSummary.cpuMicrosPerEvent / ours.cpuMicrosPerEvent,
    };
  } finally {
    await mf.dispose();
  }
}
