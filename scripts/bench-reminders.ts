/**
 * @module
 * The reminder job's throughput against the simulator: follow-ups that fell due for the demo corp's
 * four members the app can see, 30 each (one minute's worth of WeCom's per-member limit), written
 * straight into the local D1 file; then the reminder cron fired through `wrangler dev
 * --test-scheduled` run after run until all are sent. Measured: reminders sent per second of run
 * time, runs needed (each sends at most SENDS_PER_RUN), WeCom calls per reminder, and the checks that
 * matter more than speed: every customer's reminder delivered exactly once, none dropped by WeCom's
 * per-member limit, and one more run sending nothing.
 * Standalone: `node scripts/bench-reminders.ts` starts its own local product.
 */
import { demoIds } from '../dev/fixtures/demo-corp.ts';
import { REMINDER_CRON } from '../worker/crons.ts';
import { openD1, type Sqlite } from './bench-jobs.ts';
import type { Target } from './bench-product.ts';

const MEMBERS = ['zhangsan', 'lisi', 'wangwu', 'zhaoliu'];
const PER_MEMBER = 30;

export interface ReminderBenchResult {
  reminders: number;
  members: number;
  runs: number;
  sent: number;
  runSeconds: number;
  perSecond: number;
  wecomCalls: { messageSend: number; gettoken: number };
  callsPerReminder: number;
  deliveredOnce: boolean;
  dropped: number;
  lastRunSent: number;
  met: boolean;
}

function seed(db: Sqlite, now: number): string[] {
  const customer = db.prepare(
    `INSERT INTO crm_customers (corp_id, id, name, company, stage, owner_userid, mobiles, created_at, updated_at) VALUES (?, ?, ?, '', 'lead', ?, '[]', ?, ?)`,
  );
  const followUp = db.prepare('INSERT INTO follow_ups (corp_id, customer_id, due_at, note, set_by, set_at) VALUES (?, ?, ?, ?, ?, ?)');
  const ids: string[] = [];
  db.exec('BEGIN');
  try {
    MEMBERS.forEach((owner, m) => {
      for (let i = 0; i < PER_MEMBER; i++) {
        const id = `cus_bench_reminder_${m}_${i}`;
        customer.run(demoIds.corpId, id, `提醒客户 ${m}-${i}`, owner, now, now);
        followUp.run(demoIds.corpId, id, now - 60_000 - i, `第 ${i + 1} 次回访`, owner, now - 120_000);
        ids.push(id);
      }
    });
    db.exec('COMMIT');
  } catch (error) {
    db.exec('ROLLBACK');
    throw error;
  }
  return ids;
}

const count = (db: Sqlite, sql: string): number => Number((db.prepare(sql).get() as { n: number }).n);

/** Fires the reminder trigger and waits until the run has settled (it goes on in waitUntil after the answer). */
async function runOnce(target: Target, db: Sqlite): Promise<{ ms: number; sent: number }> {
  const before = count(db, "SELECT COUNT(*) AS n FROM app_messages WHERE status = 'sent'");
  const started = performance.now();
  const fired = await fetch(`${target.url}/__scheduled?cron=${encodeURIComponent(REMINDER_CRON)}`);
  if (!fired.ok) throw new Error(`/__scheduled answered ${fired.status}`);
  let last = -1;
  let lastChange = performance.now();
  let settledAt = started;
  for (;;) {
    const sent = count(db, "SELECT COUNT(*) AS n FROM app_messages WHERE status = 'sent'");
    const busy = count(db, "SELECT COUNT(*) AS n FROM app_messages WHERE status = 'sending'") + count(db, 'SELECT COUNT(*) AS n FROM follow_ups');
    if (sent !== last) {
      last = sent;
      lastChange = performance.now();
      settledAt = lastChange;
    }
    if (busy === 0 && performance.now() - lastChange > 750) break;
    if (performance.now() - started > 60_000) throw new Error('a reminder run did not settle within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return { ms: settledAt - started, sent: last - before };
}

export async function benchReminders(target: Target): Promise<ReminderBenchResult> {
  const sim = async (path: string) => (await fetch(`${target.simulatorUrl}/__sim/${path}`)).json();
  const db = await openD1(target.persistTo, false);
  try {
    const ids = seed(db, Date.now());
    const callsBefore = (await sim('calls')) as Record<string, number>;
    const messagesBefore = ((await sim('messages')) as { messages: unknown[] }).messages.length;
    let runs = 0;
    let runMs = 0;
    let sent = 0;
    while (sent < ids.length && runs < 10) {
      const run = await runOnce(target, db);
      runs += 1;
      runMs += run.ms;
      sent += run.sent;
    }
    const extra = await runOnce(target, db);
    const callsAfter = (await sim('calls')) as Record<string, number>;
    const delta = (path: string) => (callsAfter[`/cgi-bin/${path}`] ?? 0) - (callsBefore[`/cgi-bin/${path}`] ?? 0);
    const messages = ((await sim('messages')) as { messages: Array<{ request: { textcard?: { url: string } }; delivered: string[]; dropped: string[] }> }).messages.slice(messagesBefore);
    const byCustomer = new Map<string, number>();
    for (const message of messages) {
      const id = new URL(message.request.textcard?.url ?? 'http://x/').searchParams.get('customer') ?? '';
      byCustomer.set(id, (byCustomer.get(id) ?? 0) + message.delivered.length);
    }
    const deliveredOnce = ids.every((id) => byCustomer.get(id) === 1) && byCustomer.size === ids.length;
    const dropped = messages.reduce((sum, message) => sum + message.dropped.length, 0);
    const wecomCalls = { messageSend: delta('message/send'), gettoken: delta('gettoken') };
    return {
      reminders: ids.length,
      members: MEMBERS.length,
      runs,
      sent,
      runSeconds: runMs / 1000,
      perSecond: sent / (runMs / 1000),
      wecomCalls,
      callsPerReminder: (wecomCalls.messageSend + wecomCalls.gettoken) / Math.max(1, sent),
      deliveredOnce,
      dropped,
      lastRunSent: extra.sent,
      met: deliveredOnce && dropped === 0 && extra.sent === 0 && sent === ids.length,
    };
  } finally {
    db.close();
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const { freePort, startLocal } = await import('./local.ts');
  const { CONFIG_NAMES } = await import('../worker/config-names.ts');
  for (const name of CONFIG_NAMES) delete process.env[name];
  const persistTo = mkdtempSync(join(tmpdir(), 'sidebar-bench-reminders-'));
  const local = await startLocal({ port: await freePort(), simulatorPort: 0, persistTo, log: () => undefined });
  try {
    console.log(JSON.stringify(await benchReminders({ url: local.url, simulatorUrl: local.simulatorUrl ?? '', persistTo }), null, 2));
  } finally {
    await local.stop();
    rmSync(persistTo, { recursive: true, force: true });
  }
}
