/**
 * @module
 * Bench rows at scale, against the product `bench.ts` already runs:
 * 1. customer search (`GET /api/customers?q=`) with 100,000 customers in the built-in CRM, against
 *    the same queries with 1,000 customers measured first in the same run: the ratio says whether
 *    the time grows with the customers. Customers are written straight into the local D1 file
 *    (node:sqlite), through the same triggers that keep the search indexes (migrations 0009 and 0015)
 *    in step.
 * 2. org sync and reconciliation of a big corp from the simulator (`POST /__sim/big-corp`), started
 *    through the admin API as an admin and polled to the end: wall time, WeCom calls per member,
 *    the most calls any one step made, and the D1 rows they wrote.
 * Standalone: `node scripts/bench-jobs.ts` starts its own local product.
 */
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { seededRandom } from '../dev/seeded.ts';
import { percentile, type Target } from './bench-product.ts';

const ADMIN = 'zhangsan';

export async function loginAs(target: Target, userid: string): Promise<string> {
  const start = await fetch(`${target.url}/auth/login?return=/`, { redirect: 'manual' });
  const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
  const stateCookie = start.headers.getSetCookie().find((c) => c.startsWith('oauth_state='))?.split(';')[0] ?? '';
  const codeResponse = await fetch(`${target.simulatorUrl}/__sim/oauth/code`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ userid, flow: 'sso' }),
  });
  const { code } = (await codeResponse.json()) as { code: string };
  const done = await fetch(`${target.url}/auth/callback?code=${code}&state=${state}`, { headers: { cookie: stateCookie }, redirect: 'manual' });
  const sid = done.headers.getSetCookie().find((c) => c.startsWith('sid='))?.split(';')[0];
  if (!sid) throw new Error(`login as ${userid} failed with ${done.status}`);
  return sid;
}

export type Sqlite = import('node:sqlite').DatabaseSync;

/** The local D1 file wrangler dev keeps under `persistTo`. */
export async function openD1(persistTo: string, readOnly: boolean): Promise<Sqlite> {
  const dir = join(persistTo, 'v3', 'd1');
  const files = (readdirSync(dir, { recursive: true }) as string[]).filter((name) => name.endsWith('.sqlite') && !name.includes('metadata'));
  if (files.length !== 1) throw new Error(`expected one D1 database under ${dir}, found ${files.length}`);
  const { DatabaseSync } = await import('node:sqlite');
  const db = new DatabaseSync(join(dir, files[0] as string), { readOnly });
  db.exec('PRAGMA busy_timeout = 10000');
  return db;
}

// ---- 1. customer search -------------------------------------------------------------------------

export interface SearchQuery {
  kind: string;
  q: string;
}

export interface SearchStep {
  customers: number;
  /** Median ms per query kind, and how many customers each found. */
  medianMs: Record<string, number>;
  found: Record<string, number>;
}

export interface SearchResult {
  queries: SearchQuery[];
  runs: number;
  small: SearchStep;
  large: SearchStep;
  /** large / small median, per kind. */
  ratio: Record<string, number>;
  seedSeconds: number;
}

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂';
const CITIES = ['北京', '上海', '深圳', '广州', '杭州', '成都', '南京', '武汉'];
const TRADES = ['科技', '贸易', '物流', '医疗', '教育', '餐饮', '建材', '咨询'];

/** A few customers the queries look for, written first so they are the oldest: newest-first scans reach them last. */
const NEEDLES = [
  { name: '欧阳晓华', company: '青岛海之蓝水产有限公司', mobile: '15900731234' },
  { name: 'Needle Harper', company: 'Zephyr Instruments', mobile: '13677125566' },
];

export const SEARCH_QUERIES: SearchQuery[] = [
  { kind: 'name, 3 CJK characters', q: '欧阳晓' },
  { kind: 'name, Latin, 6 letters', q: 'harper' },
  { kind: 'name, 2 CJK characters, common', q: '王伟' },
  { kind: 'name, 2 CJK characters, rare', q: '晓华' },
  { kind: 'name, 2 CJK characters, absent', q: '钱孙' },
  { kind: 'name, 1 CJK character, common surname', q: '陈' },
  { kind: 'name, 1 CJK character, rare', q: '欧' },
  { kind: 'mobile fragment, 7 digits', q: '9007 312' },
  { kind: 'company, 4 CJK characters', q: '海之蓝水' },
];

/** Writes customers `from`..`to`-1 of a deterministic series (needles first) into corp `corpId`. */
function seedCustomers(db: Sqlite, corpId: string, from: number, to: number): void {
  const next = seededRandom(from + 7);
  const pick = (chars: string) => chars[Math.floor(next() * chars.length)] as string;
  const customer = db.prepare(
    `INSERT INTO crm_customers (corp_id, id, name, company, stage, owner_userid, mobiles, created_at, updated_at)
     VALUES (?, ?, ?, ?, 'lead', ?, ?, ?, ?)`,
  );
  const mobile = db.prepare('INSERT OR IGNORE INTO crm_customer_mobiles (corp_id, mobile, customer_id) VALUES (?, ?, ?)');
  const base = 1_700_000_000_000;
  const seedChunk = (start: number, end: number): void => {
    db.exec('BEGIN');
    try {
      for (let i = start; i < end; i++) {
        const needle = NEEDLES[i];
        const name = needle?.name ?? `${pick(SURNAMES)}${pick(GIVEN)}${next() < 0.5 ? pick(GIVEN) : ''}`;
        const company = needle?.company ?? `${CITIES[i % CITIES.length]}${pick(GIVEN)}${pick(GIVEN)}${TRADES[(i >> 3) % TRADES.length]}有限公司`;
        // 13/15/18 and the index in nine digits: distinct, and no 7-digit window can be the needle's 9007312.
        const phone = needle?.mobile ?? `1${'358'[i % 3]}${String(i).padStart(9, '0')}`;
        const id = `cus_${i.toString(16).padStart(32, '0')}`;
        customer.run(corpId, id, name, company, ADMIN, JSON.stringify([phone]), base + i * 1000, base + i * 1000);
        mobile.run(corpId, phone, id);
      }
      db.exec('COMMIT');
    } catch (error) {
      db.exec('ROLLBACK');
      throw error;
    }
  };
  // Short transactions: workerd shares the file and answers SQLITE_BUSY rather than wait for a long one.
  for (let chunk = from; chunk < to; chunk += 2_000) seedChunk(chunk, Math.min(to, chunk + 2_000));
}

async function timeQueries(target: Target, cookie: string, customers: number, runs: number): Promise<SearchStep> {
  const medianMs: Record<string, number> = {};
  const found: Record<string, number> = {};
  let refused = 0;
  for (const { kind, q } of SEARCH_QUERIES) {
    const times: number[] = [];
    for (let i = 0; i < runs + 1; i++) {
      const started = performance.now();
      const response = await fetch(`${target.url}/api/customers?q=${encodeURIComponent(q)}`, { headers: { cookie } }).catch(() => undefined);
      const body = response?.ok ? ((await response.json()) as { customers?: unknown[] }) : undefined;
      if (!body) {
        // The local D1 file was just written from outside workerd, which answers SQLITE_BUSY rather
        // than wait: a refused read is retried, untimed, a few times.
        if (++refused > 5) throw new Error(`GET /api/customers?q=${q} answered ${response?.status ?? 'nothing'}`);
        await new Promise((resolve) => setTimeout(resolve, 500));
        i--;
        continue;
      }
      // The first is a warm-up (statement compile, page cache); the rest are timed.
      if (i > 0) times.push(performance.now() - started);
      found[kind] = body.customers?.length ?? 0;
    }
    medianMs[kind] = percentile(times, 50);
  }
  return { customers, medianMs, found };
}

export async function benchSearch(target: Target, options: { small?: number; large?: number; runs?: number } = {}): Promise<SearchResult> {
  const small = options.small ?? 1_000;
  const large = options.large ?? 100_000;
  const runs = options.runs ?? 15;
  const cookie = await loginAs(target, ADMIN);
  const db = await openD1(target.persistTo, false);
  try {
    const corp = db.prepare('SELECT corp_id FROM users WHERE wecom_userid = ?').get(ADMIN) as { corp_id: string } | undefined;
    if (!corp) throw new Error(`no user ${ADMIN} in D1 after login`);
    const before = Number((db.prepare('SELECT COUNT(*) AS n FROM crm_customers WHERE corp_id = ?').get(corp.corp_id) as { n: number }).n);
    const seedStarted = performance.now();
    seedCustomers(db, corp.corp_id, 0, small);
    let seedMs = performance.now() - seedStarted;
    const smallStep = await timeQueries(target, cookie, small + before, runs);
    const largeStarted = performance.now();
    seedCustomers(db, corp.corp_id, small, large);
    seedMs += performance.now() - largeStarted;
    const largeStep = await timeQueries(target, cookie, large + before, runs);
    const ratio = Object.fromEntries(SEARCH_QUERIES.map(({ kind }) => [kind, (largeStep.medianMs[kind] ?? NaN) / (smallStep.medianMs[kind] ?? NaN)]));
    return { queries: SEARCH_QUERIES, runs, small: smallStep, large: largeStep, ratio, seedSeconds: seedMs / 1000 };
  } finally {
    db.close();
  }
}

// ---- 2. org sync and reconciliation of a big corp ---------------------------------------------------

export interface BigCorpSize {
  members: number;
  departments: number;
  contacts: number;
}

export interface JobMeasure {
  job: 'org-sync' | 'reconcile';
  status: string;
  wallSeconds: number;
  steps: number;
  wecomCalls: number;
  callsPerMember: number;
  maxStepWecomCalls: number;
  maxStepD1Queries: number;
  /** The Workflow instances the run went on in, one after another (JOB_STEPS_PER_INSTANCE). */
  instances: number;
  done: number;
  total: number;
  rowsWritten: Record<string, number>;
  error: string | null;
}

export interface BigCorpResult {
  size: BigCorpSize;
  members: number;
  jobs: JobMeasure[];
}

const COUNTED = ['users', 'contact_follows', 'touchpoints', 'contact_bindings', 'crm_customers'] as const;

function countRows(db: Sqlite): Record<string, number> {
  return Object.fromEntries(COUNTED.map((table) => [table, Number((db.prepare(`SELECT COUNT(*) AS n FROM ${table}`).get() as { n: number }).n)]));
}

type RunView = { id: number; status: string; done: number; total: number; steps?: number; wecomCalls?: number; maxStepWecomCalls?: number; maxStepD1Queries?: number; instances?: number; error: string | null };

async function runJob(target: Target, cookie: string, job: 'org-sync' | 'reconcile', members: number, limitMs: number): Promise<JobMeasure> {
  const db = await openD1(target.persistTo, true);
  try {
    const before = countRows(db);
    const headers = { cookie, origin: target.url, 'content-type': 'application/json' };
    const started = performance.now();
    const response = await fetch(`${target.url}/api/admin/${job}`, { method: 'POST', headers, body: '{}' });
    if (response.status !== 202 && response.status !== 409) throw new Error(`POST /api/admin/${job} answered ${response.status}: ${await response.text()}`);
    let { run } = (await response.json()) as { run: RunView };
    while (run.status === 'running') {
      if (performance.now() - started > limitMs) {
        await fetch(`${target.url}/api/admin/${job}/${run.id}/cancel`, { method: 'POST', headers, body: '{}' });
        run = { ...run, status: `cut off after ${Math.round(limitMs / 1000)} s (cancelled)` };
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 500));
      const polled = await fetch(`${target.url}/api/admin/${job}/${run.id}`, { headers: { cookie } });
      if (polled.ok) run = ((await polled.json()) as { run: RunView }).run;
    }
    const wallSeconds = (performance.now() - started) / 1000;
    const after = countRows(db);
    const wecomCalls = run.wecomCalls ?? NaN;
    return {
      job,
      status: run.status,
      wallSeconds,
      steps: run.steps ?? NaN,
      wecomCalls,
      callsPerMember: wecomCalls / members,
      maxStepWecomCalls: run.maxStepWecomCalls ?? NaN,
      maxStepD1Queries: run.maxStepD1Queries ?? NaN,
      instances: run.instances ?? NaN,
      done: run.done,
      total: run.total,
      rowsWritten: Object.fromEntries(COUNTED.map((table) => [table, (after[table] ?? 0) - (before[table] ?? 0)])),
      error: run.error,
    };
  } finally {
    db.close();
  }
}

export async function benchBigCorp(target: Target, size: BigCorpSize, limitMs = Number(process.env.BENCH_JOB_LIMIT_S ?? 240) * 1000): Promise<BigCorpResult> {
  const generated = await fetch(`${target.simulatorUrl}/__sim/big-corp`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ...size, seed: 1 }),
  });
  if (!generated.ok) throw new Error(`POST /__sim/big-corp answered ${generated.status}: ${await generated.text()}`);
  // The big corp holds the demo corp's members too: calls per member count them all.
  const { totals } = (await generated.json()) as { totals: { members: number } };
  const members = totals.members;
  const cookie = await loginAs(target, ADMIN);
  const jobs = [await runJob(target, cookie, 'org-sync', members, limitMs)];
  jobs.push(await runJob(target, cookie, 'reconcile', members, limitMs));
  return { size, members, jobs };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { freePort, startLocal } = await import('./local.ts');
  const { CONFIG_NAMES } = await import('../worker/config-names.ts');
  for (const name of CONFIG_NAMES) delete process.env[name];
  const persistTo = mkdtempSync(join(tmpdir(), 'sidebar-bench-jobs-'));
  const { appendFileSync } = await import('node:fs');
  const local = await startLocal({ port: await freePort(), simulatorPort: 0, persistTo, log: (line) => appendFileSync(join(persistTo, '..', 'bench-jobs-product.log'), line) });
  try {
    const target: Target = { url: local.url, simulatorUrl: local.simulatorUrl ?? '', persistTo };
    const which = process.argv[2] ?? 'all';
    if (which !== 'jobs') console.log(JSON.stringify(await benchSearch(target), null, 2));
    const [members = 5000, departments = 300, contacts = 100_000] = (process.env.BENCH_BIG_CORP ?? '').split(',').filter(Boolean).map(Number);
    if (which !== 'search') console.log(JSON.stringify(await benchBigCorp(target, { members, departments, contacts }), null, 2));
  } finally {
    await local.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}
