/**
 * Reads that one condition narrows reach their rows through an index, however many other rows the
 * corp holds: a customer's timeline, the lost-customers page, and the app messages due to send. D1
 * keeps no table statistics, so SQLite picks a plan by the shape of the query alone; these count
 * the rows D1 says it read.
 */
import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createContactStore } from '../../worker/contacts/store.ts';
import { configOf, findApp } from '../../worker/env.ts';
import { createOutbox } from '../../worker/notify/outbox.ts';
import { appServices } from '../../worker/services.ts';
import { newCorpId } from './crm-contract.ts';
import { countingReads } from './d1-reads.ts';

const OTHERS = 3000;

async function seedTouchpoints(corpId: string, kind: string): Promise<void> {
  await env.DB.prepare(
    `WITH RECURSIVE i (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?3)
     INSERT INTO touchpoints (corp_id, external_userid, customer_id, kind, at, actor_userid, detail, source_key)
     SELECT ?1, 'wmOther' || n, 'cus_other' || n, ?2, n, 'wangwu', '{}', 'seed:' || n FROM i`,
  )
    .bind(corpId, kind, OTHERS)
    .run();
}

describe('reads narrowed by one condition', () => {
  it("a customer's timeline reads its own touchpoints and its contacts', not the corp's", async () => {
    const corpId = newCorpId();
    await seedTouchpoints(corpId, 'contact_added');
    await env.DB.batch([
      env.DB.prepare("INSERT INTO contact_bindings (corp_id, external_userid, customer_id, bound_by, bound_at) VALUES (?1, 'wmMine', 'cus_mine', 'wangwu', 1)").bind(corpId),
      env.DB.prepare("INSERT INTO touchpoints (corp_id, external_userid, customer_id, kind, at, actor_userid, detail, source_key) VALUES (?1, 'wmMine', NULL, 'contact_added', 5000, 'wangwu', '{}', 'mine:1')").bind(corpId),
      env.DB.prepare("INSERT INTO touchpoints (corp_id, external_userid, customer_id, kind, at, actor_userid, detail, source_key) VALUES (?1, 'wmMine', 'cus_mine', 'bound', 5001, 'wangwu', '{}', 'mine:2')").bind(corpId),
      env.DB.prepare("INSERT INTO touchpoints (corp_id, external_userid, customer_id, kind, at, actor_userid, detail, source_key) VALUES (?1, NULL, 'cus_mine', 'note', 5002, 'wangwu', '{}', 'mine:3')").bind(corpId),
    ]);
    const counter = countingReads(env.DB);
    const timeline = await createContactStore(counter.db).touchpointsOfCustomer(corpId, 'cus_mine');
    expect(timeline.map((t) => t.kind)).toEqual(['note', 'bound', 'contact_added']);
    expect(counter.read()).toBeLessThan(30);
  });

  it('the lost-customers page reads the touchpoints of that kind only', async () => {
    const config = configOf(env);
    if (!config.ok) throw new Error('the test config is incomplete');
    const app = config.config.apps[0]!;
    const corpId = app.corpId;
    await env.DB.prepare('DELETE FROM touchpoints WHERE corp_id = ?').bind(corpId).run();
    await seedTouchpoints(corpId, 'contact_added');
    await env.DB.prepare("INSERT INTO touchpoints (corp_id, external_userid, customer_id, kind, at, actor_userid, detail, source_key) VALUES (?1, 'wmGone', NULL, 'follow_user_deleted', 100, 'wangwu', '{}', 'lost:1')").bind(corpId).run();
    const counter = countingReads(env.DB);
    const services = appServices({ ...env, DB: counter.db }, config.config, findApp(config.config, corpId, app.agentId)!);
    const lost = await services.notify.lostCustomers({ from: 0, to: 10_000, limit: 500 });
    expect(lost.map((item) => item.externalUserId)).toEqual(['wmGone']);
    expect(counter.read()).toBeLessThan(30);
    await env.DB.prepare('DELETE FROM touchpoints WHERE corp_id = ?').bind(corpId).run();
  });

  it('the messages due to send are read without the thousands the app sent earlier', async () => {
    const app = { corpId: newCorpId(), agentId: '1000002' };
    const now = 10_000_000;
    await env.DB.prepare(
      `WITH RECURSIVE i (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?3)
       INSERT INTO app_messages (corp_id, agent_id, kind, source_key, touser, textcard, status, attempts, next_at, attempted_at, created_at, finished_at)
       SELECT ?1, ?2, 'reminder', 'sent:' || n, 'member' || (n % 40), '{}', 'sent', 1, n, n, n, n FROM i`,
    )
      .bind(app.corpId, app.agentId, OTHERS)
      .run();
    await env.DB.prepare(
      "INSERT INTO app_messages (corp_id, agent_id, kind, source_key, touser, textcard, status, next_at, created_at) VALUES (?1, ?2, 'reminder', 'due:1', 'wangwu', '{}', 'pending', ?3, ?3)",
    )
      .bind(app.corpId, app.agentId, now - 1)
      .run();
    const counter = countingReads(env.DB);
    const due = await createOutbox(counter.db, app).due(now, 25);
    expect(due.map((message) => message.touser)).toEqual(['wangwu']);
    expect(counter.read()).toBeLessThan(30);
  });
});
