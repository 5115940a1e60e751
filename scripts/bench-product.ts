/**
 * @module
 * Bench parts 2 and 3, against the whole product running locally (scripts/local.ts: the simulator,
 * the SPA, `wrangler dev` with local D1, KV and queues) over loopback HTTP:
 * - a bounded burst of signed callbacks, distinct events plus WeCom-style retries of some of them:
 *   how many were acknowledged, how fast, and how many rows D1 holds once the queue has drained;
 * - JS-SDK signing at rising concurrency, with the upstream token and ticket calls the simulator counted.
 */
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { demoIds } from '../dev/fixtures/demo-corp.ts';
import { seededRandom } from '../dev/seeded.ts';
import { loginAs } from '../test/e2e/session.ts';
import { buildEventXml, sendCallback, demoKeys, type EventKind, type EventOptions } from '../dev/simulator/events.ts';
import { root } from './local.ts';

export interface Target {
  url: string;
  simulatorUrl: string;
  persistTo: string;
}

export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))] ?? NaN;
}

/** Runs `work` over `items` with at most `limit` in flight. */
async function pool<T, R>(items: readonly T[], limit: number, work: (item: T, index: number) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const lanes = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T, index);
    }
  });
  await Promise.all(lanes);
  return results;
}

export type UpstreamCalls = { gettoken: number; jsapiTicket: number; agentTicket: number };

export async function upstreamCalls(simulatorUrl: string): Promise<UpstreamCalls> {
  const calls = (await (await fetch(`${simulatorUrl}/__sim/calls`)).json()) as Record<string, number>;
  return { gettoken: calls['/cgi-bin/gettoken'] ?? 0, jsapiTicket: calls['/cgi-bin/get_jsapi_ticket'] ?? 0, agentTicket: calls['/cgi-bin/ticket/get'] ?? 0 };
}

// ---- part 3: token economy ---------------------------------------------------------------------------------

export interface TokenStep {
  concurrency: number;
  ok: number;
  failed: number;
  wallMs: number;
  p50Ms: number;
  p99Ms: number;
  /** How the failed ones failed: HTTP status and error code, or the client error. */
  failures: Record<string, number>;
  /** Upstream calls counted by the simulator since the product started, after this step. */
  upstreamSoFar: UpstreamCalls;
}

export interface TokenResult {
  steps: TokenStep[];
  upstream: UpstreamCalls;
  /** One gettoken, one get_jsapi_ticket and one ticket/get for the whole series. */
  met: boolean;
}

/** Signs `<origin>/` N times at once, for each N, on a product whose simulator counted nothing yet. */
export async function benchTokens(target: Target, steps: readonly number[] = [1, 50, 300]): Promise<TokenResult> {
  await fetch(`${target.simulatorUrl}/__sim/calls/reset`, { method: 'POST' });
  const results: TokenStep[] = [];
  for (const concurrency of steps) {
    const started = performance.now();
    const outcomes = await Promise.all(
      Array.from({ length: concurrency }, async (_, index) => {
        const sent = performance.now();
        try {
          const response = await fetch(`${target.url}/api/jssdk/signatures`, {
            method: 'POST',
            // As the sidebar's own page sends it: writes under /api come from the product's origin only.
            // Each request plays another client (signing is limited per client IP; wrangler dev passes
            // CF-Connecting-IP through, as Cloudflare's edge sets it): this measures the worker, not the limit.
            headers: { 'content-type': 'application/json', origin: target.url, 'cf-connecting-ip': `198.51.100.${index % 250}` },
            body: JSON.stringify({ url: `${target.url}/` }),
          });
          const text = await response.text();
          let body: { config?: { signature?: string }; error?: string } = {};
          try {
            body = JSON.parse(text) as typeof body;
          } catch {
            // reported below as the status alone
          }
          const ok = response.status === 200 && typeof body.config?.signature === 'string';
          return { ok, why: ok ? '' : `HTTP ${response.status} ${body.error ?? ''}`.trim(), ms: performance.now() - sent };
        } catch (error) {
          const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : '';
          return { ok: false, why: `${error instanceof Error ? error.message : String(error)}${cause}`, ms: performance.now() - sent };
        }
      }),
    );
    const times = outcomes.map((o) => o.ms);
    const failures: Record<string, number> = {};
    for (const outcome of outcomes) if (!outcome.ok) failures[outcome.why] = (failures[outcome.why] ?? 0) + 1;
    results.push({
      concurrency,
      ok: outcomes.filter((o) => o.ok).length,
      failed: outcomes.filter((o) => !o.ok).length,
      wallMs: performance.now() - started,
      p50Ms: percentile(times, 50),
      p99Ms: percentile(times, 99),
      failures,
      upstreamSoFar: await upstreamCalls(target.simulatorUrl),
    });
  }
  const upstream = results[results.length - 1]?.upstreamSoFar ?? { gettoken: 0, jsapiTicket: 0, agentTicket: 0 };
  const allOk = results.every((step) => step.failed === 0);
  return { steps: results, upstream, met: allOk && upstream.gettoken === 1 && upstream.jsapiTicket === 1 && upstream.agentTicket === 1 };
}

// ---- part 2: callback burst ------------------------------------------------------------------------------------

export interface BurstResult {
  deliveries: number;
  distinct: number;
  retries: number;
  concurrency: number;
  accepted: number;
  refused: number;
  /** How the refused deliveries were answered: HTTP status, or the client error. */
  refusals: Record<string, number>;
  ackP50Ms: number;
  ackP99Ms: number;
  burstMs: number;
  /** Rows in D1 once the queue drained, and how they ended. */
  recorded: number;
  applied: number;
  failed: number;
  duplicates: number;
  drainMs: number;
  /** Where `recorded` was read: `d1` (wrangler d1 execute on the local database) or `admin-api`. */
  countedBy: 'd1' | 'admin-api';
  met: boolean;
}

/** Distinct events of several kinds, each with its own CreateTime, so each has its own dedupe key. */
export function burstEvents(count: number, firstCreateTime: number): string[] {
  const followed: Array<[string, string]> = [
    [demoIds.externalUserIds.followedByTwo, 'wangwu'],
    [demoIds.externalUserIds.withoutUnionid, 'wangwu'],
    [demoIds.externalUserIds.partlyHiddenFollowers, 'zhaoliu'],
    [demoIds.externalUserIds.weComUser, 'zhaoliu'],
  ];
  const plan: Array<[EventKind, (i: number) => EventOptions]> = [
    ['contact-edited', (i) => ({ contact: followed[i % followed.length]?.[0], user: followed[i % followed.length]?.[1] })],
    ['chat-updated', () => ({ chat: demoIds.chatId })],
    ['tag-updated', () => ({})],
    ['user-updated', (i) => ({ user: i % 2 === 0 ? 'wangwu' : 'lisi' })],
  ];
  return Array.from({ length: count }, (_, i) => {
    const [kind, options] = plan[i % plan.length] ?? ['tag-updated', () => ({})];
    return buildEventXml(kind, demoKeys.corpId, { ...options(i), createTime: firstCreateTime + i });
  });
}

function wrangler(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(root, 'node_modules', '.bin', 'wrangler'), args, {
      cwd: root,
      env: { ...process.env, WRANGLER_SEND_METRICS: 'false', CI: 'true', NO_COLOR: '1' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`wrangler ${args.slice(0, 3).join(' ')} exited ${code}: ${err.slice(-300)}`))));
  });
}

interface EventCounts {
  rows: number;
  applied: number;
  failed: number;
  received: number;
  duplicates: number;
}

/** Exact counts from the local D1 file, independent of the worker. */
async function countInD1(persistTo: string): Promise<EventCounts> {
  const sql =
    "SELECT COUNT(*) AS rows, COALESCE(SUM(status = 'applied'), 0) AS applied, COALESCE(SUM(status = 'failed'), 0) AS failed, COALESCE(SUM(status = 'received'), 0) AS received, COALESCE(SUM(duplicates), 0) AS duplicates FROM events";
  const out = await wrangler(['d1', 'execute', 'DB', '--local', '--persist-to', persistTo, '--command', sql, '--json']);
  const parsed = JSON.parse(out.slice(out.indexOf('['))) as Array<{ results: EventCounts[] }>;
  const row = parsed[0]?.results[0];
  if (!row) throw new Error('wrangler d1 execute returned no row');
  return row;
}

/** The same counts through the admin API (at most the newest 200 events). */
async function countByApi(target: Target, cookie: string): Promise<EventCounts> {
  const response = await fetch(`${target.url}/api/admin/events?limit=200`, { headers: { cookie } });
  if (response.status !== 200) throw new Error(`/api/admin/events answered ${response.status}`);
  const { events } = (await response.json()) as { events: Array<{ status: string; duplicates: number }> };
  return {
    rows: events.length,
    applied: events.filter((e) => e.status === 'applied').length,
    failed: events.filter((e) => e.status === 'failed').length,
    received: events.filter((e) => e.status === 'received').length,
    duplicates: events.reduce((sum, e) => sum + e.duplicates, 0),
  };
}

/**
 * `distinct` events, and `retries` more deliveries of randomly chosen ones (new nonce and timestamp,
 * same event: what WeCom sends after a timeout), `concurrency` at a time; then waits for the queue.
 * With at most 200 distinct events the admin API sees them all, so the drain is watched there.
 */
export async function benchBurst(target: Target, options: { distinct?: number; retries?: number; concurrency?: number } = {}): Promise<BurstResult> {
  const distinct = Math.min(options.distinct ?? 200, 200);
  const retries = options.retries ?? 100;
  const concurrency = options.concurrency ?? 16;
  const events = burstEvents(distinct, Math.floor(Date.now() / 1000) - 3600);
  const random = seededRandom(2026);
  const order: string[] = [...events];
  for (let i = 0; i < retries; i++) {
    const original = Math.floor(random() * distinct);
    // A retry comes some deliveries after the original, sometimes while it is still in flight.
    const at = Math.min(order.length, order.indexOf(events[original] ?? '') + 1 + Math.floor(random() * 40));
    order.splice(at, 0, events[original] ?? '');
  }

  const started = performance.now();
  const deliveries = await pool(order, concurrency, (message) => sendCallback(message, { target: target.url, retries: 0, timeoutMs: 10_000 }));
  const burstMs = performance.now() - started;
  const accepted = deliveries.filter((d) => d.accepted).length;
  const refusals: Record<string, number> = {};
  for (const delivery of deliveries) {
    const last = delivery.attempts[delivery.attempts.length - 1];
    if (delivery.accepted || !last) continue;
    const why = last.status === null ? (last.error ?? 'no answer') : `HTTP ${last.status}`;
    refusals[why] = (refusals[why] ?? 0) + 1;
  }
  const ackTimes = deliveries.flatMap((d) => d.attempts.filter((a) => a.status === 200).map((a) => a.ms));

  const cookie = await loginAs(target.url, target.simulatorUrl, demoIds.admin);
  const drainStarted = performance.now();
  let counts = await countByApi(target, cookie);
  while (counts.received > 0 || counts.rows < distinct) {
    if (performance.now() - drainStarted > 120_000) break;
    await new Promise((resolve) => setTimeout(resolve, 500));
    counts = await countByApi(target, cookie);
  }
  const drainMs = performance.now() - drainStarted;
  let countedBy: BurstResult['countedBy'] = 'admin-api';
  try {
    counts = await countInD1(target.persistTo);
    countedBy = 'd1';
  } catch (error) {
    console.warn(`  (exact count through wrangler d1 execute failed, using the admin API: ${error instanceof Error ? error.message : String(error)})`);
  }
  return {
    deliveries: order.length,
    distinct,
    retries,
    concurrency,
    accepted,
    refused: order.length - accepted,
    refusals,
    ackP50Ms: percentile(ackTimes, 50),
    ackP99Ms: percentile(ackTimes, 99),
    burstMs,
    recorded: counts.rows,
    applied: counts.applied,
    failed: counts.failed,
    duplicates: counts.duplicates,
    drainMs,
    countedBy,
    met: accepted === order.length && counts.rows === distinct && counts.duplicates === retries && counts.received === 0,
  };
}
