/**
 * @module
 * `npm run bench`: numbers a user can check on their own machine, each printed against a reference
 * measured in the same run or a stated target, never against a time written down somewhere.
 * 1. callback intake against the official `@wecom/crypto` (in Node): ours inside workerd, where the
 *    product runs it, and in Node;
 * 2. a burst of signed callbacks against the local product, counted again in D1 after the queue drains;
 *    then events at volume: 5,000 distinct callbacks plus retries at stepped fixed rates, until it bends;
 * 3. JS-SDK signing at rising concurrency, with the upstream token and ticket calls it cost;
 * 4. the sidebar's first-load JavaScript and, in Chromium, the time to a filled contact card with
 *    the API requests and sequential round trips it took;
 * 5. customer search with 100,000 customers against the same queries with 1,000, and org sync and
 *    reconciliation of a big simulated corp (bench-jobs.ts);
 * 6. the reminder job: reminders sent per second against the simulator, WeCom calls per reminder, and
 *    each sent exactly once within WeCom's per-member limit (bench-reminders.ts).
 * Prints a table and writes bench-results.json. The product runs with the demo configuration and its
 * own simulator, in a temporary state directory, on free loopback ports; it stops by itself.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { benchIntake, type IntakeResult } from './bench-intake.ts';
import { benchBigCorp, benchSearch, type BigCorpResult, type BigCorpSize, type SearchResult } from './bench-jobs.ts';
import { benchReminders, type ReminderBenchResult } from './bench-reminders.ts';
import { benchBurst, benchTokens, type BurstResult, type Target, type TokenResult } from './bench-product.ts';
import { benchSidebar, firstLoadJs, type FirstLoadJs, type SidebarResult } from './bench-sidebar.ts';
import { benchVolume, type VolumeResult } from './bench-volume.ts';
import { CONFIG_NAMES } from '../worker/config-names.ts';
import { freePort, root, startLocal } from './local.ts';

type Part<T> = T | { error: string };

function failed<T extends object>(part: Part<T>): part is { error: string } {
  return 'error' in part;
}

async function attempt<T extends object>(name: string, run: () => Promise<T>): Promise<Part<T>> {
  const started = performance.now();
  process.stdout.write(`- ${name} … `);
  try {
    const result = await run();
    process.stdout.write(`${((performance.now() - started) / 1000).toFixed(1)} s\n`);
    return result;
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    process.stdout.write(`failed: ${message}\n`);
    return { error: message };
  }
}

function machine() {
  let cpu = 'unknown';
  try {
    cpu = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpu;
  } catch {
    // not Linux
  }
  // The load when the run started: numbers from a machine busy with other work are not comparable.
  return { nproc: availableParallelism(), cpu, memoryGiB: Math.round(totalmem() / 2 ** 30), node: process.version, platform: `${process.platform}-${process.arch}`, load1: Number(loadavg()[0]?.toFixed(2)) };
}

const fmt = (value: number, digits = 0) => (Number.isFinite(value) ? value.toLocaleString('en-US', { maximumFractionDigits: digits, minimumFractionDigits: digits }) : 'n/a');
const verdict = (met: boolean) => (met ? 'met' : '**not met**');

type Row = [string, string, string, string];

function intakeRows(part: Part<IntakeResult>): Row[] {
  if (failed(part)) return [['Callback intake', 'not measured', part.error, '']];
  const { ours, reference, workerd } = part;
  const referenceCell = `@wecom/crypto verify+decrypt in Node: ${fmt(reference.eventsPerSecond)} events/s, ${fmt(reference.cpuMicrosPerEvent, 1)} µs CPU/event`;
  // Without workerd's CPU (not Linux, or its process not found) the wall ratio alone decides.
  const judged = (wallRatio: number, cpuRatio: number) =>
    `ratio ${fmt(wallRatio, 2)} (CPU ${fmt(cpuRatio, 2)}), target ≥ 1.00: ${verdict(wallRatio >= 1 && (cpuRatio >= 1 || Number.isNaN(cpuRatio)))}`;
  const rows: Row[] = [];
  if (workerd.measured) {
    const cpu = Number.isFinite(workerd.ours.cpuMicrosPerEvent) ? `${fmt(workerd.ours.cpuMicrosPerEvent, 1)} µs CPU/event` : 'CPU not measured';
    rows.push(
      [
        `Callback intake in workerd, the product's runtime (${part.events} events, all ${part.padLengths} pad lengths, ${fmt(workerd.eventsPerRequest)} per request, median of ${workerd.rounds}; Miniflare)`,
        `${fmt(workerd.ours.eventsPerSecond)} events/s, ${fmt(workerd.ours.wallMicrosPerEvent, 1)} µs/event wall, ${cpu}`,
        referenceCell,
        `${judged(workerd.wallRatio, workerd.cpuRatio)}; the product's real path`,
      ],
      [
        '… in workerd, where the time goes (µs/event, each stage alone)',
        `signature ${fmt(workerd.stages.signature, 1)}, decrypt ${fmt(workerd.stages.decrypt, 1)}, both XML parses + typing ${fmt(workerd.stages.xml, 1)}`,
        `wall minus an empty request (${fmt(workerd.emptyRequest.wallMs, 2)} ms); ${workerd.cpuSource}`,
        '',
      ],
    );
  } else {
    rows.push(["Callback intake in workerd, the product's runtime", 'not measured', workerd.reason, '']);
  }
  rows.push(
    [
      `Callback intake in Node (same events, median of ${part.rounds}); not the product's runtime`,
      `${fmt(ours.eventsPerSecond)} events/s, ${fmt(ours.cpuMicrosPerEvent, 1)} µs CPU/event`,
      referenceCell,
      `${judged(part.wallRatio, part.cpuRatio)}; Node's WebCrypto is asynchronous, tens of µs per call`,
    ],
    [
      '… in Node, where the time goes (µs/event, each stage alone)',
      `signature ${fmt(part.stages.signature, 1)}, decrypt ${fmt(part.stages.decrypt, 1)}, both XML parses + typing ${fmt(part.stages.xml, 1)}`,
      '',
      '',
    ],
  );
  return rows;
}

function burstRows(part: Part<BurstResult>): Row[] {
  if (failed(part)) return [['Callback burst over HTTP', 'not measured', part.error, '']];
  return [
    [
      `Callback burst over HTTP (${part.distinct} distinct + ${part.retries} retries, ${part.concurrency} in flight)`,
      `${part.accepted}/${part.deliveries} acknowledged${part.refused > 0 ? ` (refused: ${Object.entries(part.refusals).map(([why, n]) => `${n} × ${why}`).join('; ')})` : ''}, ack p50 ${fmt(part.ackP50Ms, 1)} ms, p99 ${fmt(part.ackP99Ms, 1)} ms`,
      `${part.recorded} rows in D1 (${part.countedBy === 'd1' ? 'wrangler d1 execute' : 'admin API'}), ${part.duplicates} retries counted, ${part.applied} applied, ${part.failed} failed, drained in ${fmt(part.drainMs / 1000, 1)} s`,
      `rows = distinct events: ${verdict(part.met)}`,
    ],
  ];
}

function volumeRows(part: Part<VolumeResult>): Row[] {
  if (failed(part)) return [['Events at volume', 'not measured', part.error, '']];
  return [
    ...part.steps.map<Row>((step) => [
      `Events at volume, ${fmt(step.offeredPerSecond)}/s offered (${step.distinct} distinct + ${step.retries} retries)`,
      `${fmt(step.ackPerSecond)} acknowledged/s, ${step.acknowledged}/${step.deliveries}${step.acknowledged < step.deliveries ? ` (${Object.entries(step.refusals).map(([why, n]) => `${n} × ${why}`).join('; ')})` : ''}, ack p50 ${fmt(step.ackP50Ms)} ms, p99 ${fmt(step.ackP99Ms)} ms`,
      `from when each was due (at most 32 in flight; client late by up to ${fmt(step.sendLagMs)} ms)`,
      step.acknowledged === step.deliveries && step.ackP99Ms <= part.p99LimitMs ? `p99 ≤ ${part.p99LimitMs} ms: met` : `p99 ≤ ${part.p99LimitMs} ms: **bent**`,
    ]),
    [
      `Events at volume, after the queue (${part.distinct} distinct, ${part.retries} retries)`,
      `${fmt(part.appliedPerSecond)} applied/s; drained ${fmt(part.drainMs / 1000, 1)} s after the last ack`,
      `${part.rows} rows in D1 (read from the local file), ${part.duplicates} retries counted, ${part.applied} applied, ${part.received} waiting, ${part.failed} failed; bends at ${part.bentAt ? `${part.bentAt.offeredPerSecond}/s (${part.bentAt.why})` : 'no step'}`,
      `rows = distinct events, all applied: ${verdict(part.met)}`,
    ],
  ];
}

function tokenRows(part: Part<TokenResult>): Row[] {
  if (failed(part)) return [['Token economy', 'not measured', part.error, '']];
  return [
    ...part.steps.map<Row>((step) => [
      `JS-SDK signing, ${step.concurrency} at once`,
      `${step.ok}/${step.concurrency} signed${step.failed > 0 ? ` (failed: ${Object.entries(step.failures).map(([why, n]) => `${n} × ${why}`).join('; ')})` : ''}, p50 ${fmt(step.p50Ms, 1)} ms, p99 ${fmt(step.p99Ms, 1)} ms`,
      `upstream so far: gettoken ${step.upstreamSoFar.gettoken}, get_jsapi_ticket ${step.upstreamSoFar.jsapiTicket}, ticket/get ${step.upstreamSoFar.agentTicket}`,
      '',
    ]),
    [
      'Token economy over the series',
      `gettoken ${part.upstream.gettoken}, get_jsapi_ticket ${part.upstream.jsapiTicket}, ticket/get ${part.upstream.agentTicket}`,
      'one each per lifetime',
      verdict(part.met),
    ],
  ];
}

function sidebarRows(js: Part<FirstLoadJs>, sidebar: Part<SidebarResult>): Row[] {
  const rows: Row[] = [];
  if (failed(js)) rows.push(['Sidebar first-load JS', 'not measured', js.error, '']);
  else rows.push(['Sidebar first-load JS (production build, gzip -9)', `${fmt(js.gzipBytes / 1024, 1)} KiB gzipped (${fmt(js.bytes / 1024, 1)} KiB raw, ${js.files.length} file${js.files.length === 1 ? '' : 's'})`, '', '']);
  if (failed(sidebar)) rows.push(['Sidebar, navigation to filled contact card', 'not measured', sidebar.error, '']);
  else if (!sidebar.measured) rows.push(['Sidebar, navigation to filled contact card', 'not measured', sidebar.reason, '']);
  else {
    rows.push([
      `Sidebar, navigation to filled contact card (${sidebar.browser}, median of ${sidebar.runs}, cold cache)`,
      `${fmt(sidebar.medianCardMs)} ms (p90 ${fmt(sidebar.p90CardMs)} ms)`,
      `API requests per load: ${sidebar.apiRequests.join(', ')}; sequential round trips: ${sidebar.apiRoundTrips.join(', ')} (${sidebar.apiRounds.map((round) => round.join(' + ')).join(', then ')})`,
      `target 1 sequential round trip, the contact read after WeCom's answer (judged on round trips, not requests): ${verdict(sidebar.met)}`,
    ]);
  }
  return rows;
}

function searchRows(part: Part<SearchResult>): Row[] {
  if (failed(part)) return [['Customer search at scale', 'not measured', part.error, '']];
  return part.queries.map<Row>(({ kind, q }) => {
    const ratio = part.ratio[kind] ?? NaN;
    return [
      `Customer search \`GET /api/customers?q=${q}\` (${kind}), ${fmt(part.large.customers)} customers, median of ${part.runs}`,
      `${fmt(part.large.medianMs[kind] ?? NaN, 1)} ms (${part.large.found[kind]} found)`,
      `${fmt(part.small.medianMs[kind] ?? NaN, 1)} ms with ${fmt(part.small.customers)} customers (${part.small.found[kind]} found)`,
      `ratio ${fmt(ratio, 2)} for 100× the customers, target ≤ 3: ${verdict(ratio <= 3)}`,
    ];
  });
}

function bigCorpRows(part: Part<BigCorpResult>): Row[] {
  if (failed(part)) return [['Org sync and reconciliation of a big corp', 'not measured', part.error, '']];
  const { size } = part;
  return part.jobs.map<Row>((job) => [
    `${job.job === 'org-sync' ? 'Org sync' : 'Reconciliation'} of a big corp (${fmt(part.members)} members, ${fmt(size.departments)} generated departments, ${fmt(size.contacts)} contacts; local Workflows)`,
    `${job.status} in ${fmt(job.wallSeconds, 1)} s, ${fmt(job.steps)} steps, ${fmt(job.wecomCalls)} WeCom calls (${fmt(job.callsPerMember, 2)} per member), at most ${fmt(job.maxStepWecomCalls)} calls and ${fmt(job.maxStepD1Queries)} D1 queries in one step, ${fmt(job.instances)} Workflow instance${job.instances === 1 ? '' : 's'}`,
    `D1 rows written: ${Object.entries(job.rowsWritten).map(([table, n]) => `${table} ${fmt(n)}`).join(', ')}${job.error ? `; error: ${job.error}` : ''}`,
    `≤ 50 calls and ≤ 500 D1 queries per step: ${verdict(job.maxStepWecomCalls <= 50 && job.maxStepD1Queries <= 500)}`,
  ]);
}

function reminderRows(part: Part<ReminderBenchResult>): Row[] {
  if (failed(part)) return [['Reminder job', 'not measured', part.error, '']];
  return [part.small, part.large].map((run) => [
    `Reminder job against the simulator: ${run.reminders} follow-ups due for ${run.members} members (${run.reminders / run.members} each, within WeCom's per-member minute), the cron fired run after run (\`wrangler dev --test-scheduled\`), each run's chain carried on by the app-messages queue`,
    `${fmt(run.perSecond, 1)} reminders/s of run time (${run.sent} in ${run.runs} cron runs, ${run.invocations} invocations, ${fmt(run.runSeconds, 1)} s); at most ${run.maxHopSends} sends, ${run.maxHopWecomCalls} WeCom calls and ${run.maxHopD1Queries} D1 queries in one invocation; ${fmt(run.callsPerReminder, 2)} WeCom calls per reminder (message/send ${run.wecomCalls.messageSend}, gettoken ${run.wecomCalls.gettoken})`,
    `before the chain (40 sends per cron run, every 5 minutes): ${run.before.runs} cron runs, ${run.before.minutes} minutes. Each card delivered once: ${run.deliveredOnce ? 'yes' : 'no'}; dropped: ${run.dropped}; one more run sent ${run.lastRunSent}`,
    `exactly once, nothing dropped: ${verdict(run.met)}`,
  ]);
}

function table(rows: Row[]): string {
  const escape = (cell: string) => cell.replaceAll('|', '\\|');
  return ['| measure | result | reference | target |', '|---|---|---|---|', ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`)].join('\n');
}

const started = performance.now();
const host = machine();
console.log(`npm run bench on ${host.nproc} × ${host.cpu}, ${host.memoryGiB} GiB, Node ${host.node}, load average ${host.load1}\n`);

const intake = await attempt('callback intake, in workerd and in Node', () => benchIntake());
const js = await attempt('production build for the first-load JS', () => firstLoadJs());

// The product runs with the demo configuration against its own simulator, whatever this shell exports.
for (const name of CONFIG_NAMES) delete process.env[name];
const persistTo = mkdtempSync(join(tmpdir(), 'sidebar-bench-'));
let productLog = '';
let tokens: Part<TokenResult> = { error: 'the local product did not start' };
let burst: Part<BurstResult> = { error: 'the local product did not start' };
let volume: Part<VolumeResult> = { error: 'the local product did not start' };
let sidebar: Part<SidebarResult> = { error: 'the local product did not start' };
let search: Part<SearchResult> = { error: 'the local product did not start' };
let bigCorp: Part<BigCorpResult> = { error: 'the local product did not start' };
let reminders: Part<ReminderBenchResult> = { error: 'the local product did not start' };
// Scaled down from the simulator's default (5,000 / 300 / 100,000): locally reconciliation pages about one
// step a second, so that corp takes about 20 minutes (`BENCH_BIG_CORP=5000,300,100000 node scripts/bench-jobs.ts jobs`).
const bigCorpSize: BigCorpSize = { members: 500, departments: 30, contacts: 5_000 };
const local = await attempt('starting the local product (simulator, SPA build, wrangler dev)', async () =>
  startLocal({ port: await freePort(), simulatorPort: 0, persistTo, log: (line) => (productLog += line) }),
);
if (!failed(local)) {
  try {
    const target: Target = { url: local.url, simulatorUrl: local.simulatorUrl ?? '', persistTo };
    // Signing first: the token and ticket counts then cover the product's whole lifetime.
    tokens = await attempt('JS-SDK signing at 1, 50, 300 at once', () => benchTokens(target));
    burst = await attempt('callback burst and queue drain', () => benchBurst(target));
    sidebar = await attempt('sidebar in Chromium', () => benchSidebar(target));
    search = await attempt('customer search with 1,000 then 100,000 customers', () => benchSearch(target));
    // Before the big corp: it needs the demo corp's members, whom the app can see.
    reminders = await attempt('the reminder job', () => benchReminders(target));
    // Replaces the simulator's demo corp with a bigger one (it keeps the demo corp's people and contacts).
    bigCorp = await attempt(`org sync and reconciliation of a ${bigCorpSize.members}-member corp`, () => benchBigCorp(target, bigCorpSize));
    // Last: it pushes the local stack to where it bends, which could take it down for what follows.
    volume = await attempt('events at volume: 5,000 callbacks + retries at rising rates, then the queue', () => benchVolume(target));
  } finally {
    await local.stop();
  }
} else if (productLog) {
  console.error(productLog.slice(-4000));
}
rmSync(persistTo, { recursive: true, force: true });

const rows = [...intakeRows(intake), ...burstRows(burst), ...volumeRows(volume), ...tokenRows(tokens), ...sidebarRows(js, sidebar), ...searchRows(search), ...bigCorpRows(bigCorp), ...reminderRows(reminders)];
const output = table(rows);
console.log(`\n${output}\n`);
const results = { at: new Date().toISOString(), machine: host, seconds: Math.round((performance.now() - started) / 1000), intake, burst, volume, tokens, firstLoadJs: js, sidebar, search, bigCorp, reminders, table: output };
writeFileSync(join(root, 'bench-results.json'), `${JSON.stringify(results, null, 2)}\n`);
console.log(`Wrote bench-results.json (${results.seconds} s in all).`);
