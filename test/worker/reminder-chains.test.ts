import { createMessageBatch, env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import worker from '../../worker/index.ts';
import { configOf, type WeComApp } from '../../worker/env.ts';
import { APP_MESSAGES_QUEUE, createChains, type Chain, type SendHop } from '../../worker/notify/chains.ts';
import { runHop } from '../../worker/notify/hops.ts';
import { PER_MEMBER_MINUTE } from '../../worker/notify/outbox.ts';
import { FOLLOW_UPS_PER_INVOCATION, SENDS_PER_INVOCATION } from '../../worker/notify/service.ts';
import { chainsSettled, customerIdOf, dueFollowUp, messageRows, resetNotify, runReminderCron, seedCustomer, simMessages } from './notify-helpers.ts';
import { sim } from './simulator-control.ts';

const MEMBERS = ['zhangsan', 'lisi', 'wangwu', 'zhaoliu'];
/** The stated budget of one invocation (worker/notify/service.ts). */
const D1_QUERIES_PER_INVOCATION = 250;

const config = configOf(env);
if (!config.ok) throw new Error('the test configuration is incomplete');
const app = config.config.apps[0]!;
const chain = async (of: WeComApp = app): Promise<Chain> => (await createChains(env.DB, of).get())!;

/** `perMember` due follow-ups for each visible member, oldest first. */
async function seedDue(perMember: number, members = MEMBERS): Promise<string[]> {
  const ids: string[] = [];
  for (const [m, owner] of members.entries()) {
    for (let i = 0; i < perMember; i++) {
      const id = await seedCustomer(`链客户${m}-${i}`, owner);
      await dueFollowUp(id, '', 120_000 - i);
      ids.push(id);
    }
  }
  return ids;
}

/** Each customer's card delivered exactly once, and every row sent once. */
async function expectEachSentOnce(ids: string[]): Promise<void> {
  const messages = await simMessages();
  const delivered = new Map<string, number>();
  for (const message of messages) delivered.set(customerIdOf(message)!, (delivered.get(customerIdOf(message)!) ?? 0) + message.delivered.length);
  expect([...delivered.keys()].sort()).toEqual([...ids].sort());
  expect([...delivered.values()].every((n) => n === 1)).toBe(true);
  expect(messages.flatMap((m) => m.dropped)).toEqual([]);
  const rows = await messageRows();
  expect(rows).toHaveLength(ids.length);
  expect(rows.every((row) => row.status === 'sent')).toBe(true);
}

describe('the sending chain', () => {
  beforeEach(resetNotify);

  it('sends more due reminders than one invocation may from one cron trigger, over several hops, each within the budget', async () => {
    const ids = await seedDue(25);
    expect(ids.length).toBeGreaterThan(3 * SENDS_PER_INVOCATION);
    await runReminderCron();
    await expectEachSentOnce(ids);
    const { hop, running, sent, maxHopSends, maxHopWecomCalls, maxHopD1Queries } = await chain();
    expect(running).toBe(false);
    expect(sent).toBe(ids.length);
    // Follow-ups are queued FOLLOW_UPS_PER_INVOCATION a hop, the slower of the two here.
    expect(hop).toBeGreaterThanOrEqual(Math.ceil(ids.length / FOLLOW_UPS_PER_INVOCATION) - 1);
    expect(maxHopSends).toBeLessThanOrEqual(SENDS_PER_INVOCATION);
    expect(maxHopWecomCalls).toBeLessThanOrEqual(SENDS_PER_INVOCATION);
    expect(maxHopD1Queries).toBeLessThanOrEqual(D1_QUERIES_PER_INVOCATION);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM follow_ups').first('n')).toBe(0);
  });

  it("stops when only members at WeCom's limit have messages left, and the next cron sends them", async () => {
    await seedDue(PER_MEMBER_MINUTE + 10, ['wangwu']);
    await runReminderCron();
    expect(await simMessages()).toHaveLength(PER_MEMBER_MINUTE);
    // Hop 0 sent SENDS_PER_INVOCATION; the hop after it filled the minute and handed on nothing.
    const first = await chain();
    expect(first).toMatchObject({ running: false, sent: PER_MEMBER_MINUTE });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect((await chain()).hop).toBe(first.hop);
    expect((await messageRows()).filter((row) => row.status === 'pending')).toHaveLength(10);

    await sim('clock', { advanceSeconds: 61 });
    await env.DB.prepare('UPDATE app_messages SET attempted_at = attempted_at - 61000').run();
    await runReminderCron();
    expect(await simMessages()).toHaveLength(PER_MEMBER_MINUTE + 10);
    expect((await simMessages()).flatMap((m) => m.dropped)).toEqual([]);
  });

  it('sends each message once when cron runs overlap and a hop is delivered twice at once', async () => {
    const ids = await seedDue(15);
    await Promise.all([runReminderCron(), runReminderCron(), runReminderCron()]);
    await expectEachSentOnce(ids);

    await resetNotify();
    const more = await seedDue(15);
    await createChains(env.DB, app).start('twice', Date.now());
    const hop: SendHop = { corpId: app.corpId, agentId: app.agentId, run: 'twice', hop: 1, followUps: true };
    const deliveries = ['a', 'b', 'c'].map((id) => createMessageBatch<SendHop>(APP_MESSAGES_QUEUE, [{ id, timestamp: new Date(), attempts: 1, body: hop }]));
    await Promise.all(deliveries.map((batch) => worker.queue(batch, env)));
    await chainsSettled();
    await expectEachSentOnce(more);
  });

  it('loses nothing when WeCom fails in the middle of a chain: the rest stays pending for the next cron', async () => {
    const ids = await seedDue(15);
    // Hop 0 as the cron runs it, with its hand-off held back.
    const handed: SendHop[] = [];
    const held = { ...env, APP_MESSAGES: { send: async (body: SendHop) => void handed.push(body) } as unknown as Queue<SendHop> };
    await runHop(held, config.config, app, { corpId: app.corpId, agentId: app.agentId, run: 'broken', hop: 0, followUps: true });
    expect(handed).toEqual([expect.objectContaining({ run: 'broken', hop: 1 })]);

    await sim('faults', { path: 'message/send', status: 502 });
    const batch = createMessageBatch<SendHop>(APP_MESSAGES_QUEUE, [{ id: 'hop1', timestamp: new Date(), attempts: 1, body: handed[0]! }]);
    await worker.queue(batch, env);
    expect(await chain()).toMatchObject({ run: 'broken', hop: 1, running: false });
    const rows = await messageRows();
    const left = Number(await env.DB.prepare('SELECT COUNT(*) AS n FROM follow_ups').first('n'));
    expect(rows.filter((row) => row.status === 'pending').length + left).toBeGreaterThan(0);
    expect(rows.filter((row) => row.status === 'sent').length + rows.filter((row) => row.status === 'pending').length + left).toBe(ids.length);

    // The 502 send is retried after its back-off; the next cron sends it and everything left.
    await env.DB.prepare("UPDATE app_messages SET next_at = 0 WHERE status = 'pending'").run();
    await runReminderCron();
    const messages = await simMessages();
    expect(new Set(messages.flatMap((m) => (m.delivered.length ? [customerIdOf(m)] : []))).size).toBe(ids.length);
    expect(messages.filter((m) => m.delivered.length > 0)).toHaveLength(ids.length);
    expect((await messageRows()).every((row) => row.status === 'sent')).toBe(true);
  });
});
