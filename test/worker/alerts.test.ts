import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import type { Env, EventMessage } from '../../worker/bindings.ts';
import { consumeEvents } from '../../worker/events/consumer.ts';
import { handlers } from '../../worker/events/handlers.ts';
import { createEventStore } from '../../worker/events/store.ts';
import { contactEventXml, postCallback, waitFor } from './callback-helpers.ts';
import { api, login } from './identity-helpers.ts';
import { corpId, customerIdOf, messageRows, resetNotify, seedCustomer, simMessages } from './notify-helpers.ts';

const { followedByTwo: CHEN_JING, withoutUnionid: LIU_YANG } = demoIds.externalUserIds;

let clock = 0;
/** A distinct CreateTime per event, near now (callbacks are accepted within 5 minutes). */
const createTime = () => Math.floor(Date.now() / 1000) - 100 + (clock++ % 90);

async function bind(externalUserId: string, customerId: string): Promise<void> {
  await env.DB.prepare("INSERT INTO contact_bindings (corp_id, external_userid, customer_id, bound_by, bound_at) VALUES (?1, ?2, ?3, 'test', 0)").bind(corpId, externalUserId, customerId).run();
}

async function applied(changeType: string, externalUserId: string): Promise<number> {
  return waitFor(async () => {
    const row = await env.DB.prepare("SELECT id FROM events WHERE change_type = ?1 AND dedupe_key LIKE ?2 AND status = 'applied' ORDER BY id DESC").bind(changeType, `%${externalUserId}%`).first<{ id: number }>();
    return row?.id;
  });
}

async function touchpoint(kind: string, externalUserId: string) {
  const row = await env.DB.prepare('SELECT detail FROM touchpoints WHERE corp_id = ?1 AND kind = ?2 AND external_userid = ?3').bind(corpId, kind, externalUserId).first<{ detail: string }>();
  return row ? (JSON.parse(row.detail) as { name?: string; members?: string[] }) : undefined;
}

/** Applies one event through the real handlers with another configuration. */
async function applyWith(overrides: Partial<Env>, changeType: string, userId: string, externalUserId: string): Promise<void> {
  const event = { kind: 'change_external_contact' as const, changeType, corpId, createTime: createTime(), userId, externalUserId };
  const store = createEventStore(env.DB);
  const { id } = await store.record({ corpId, agentId: env.WECOM_AGENT_ID!, dedupeKey: `alerts|${externalUserId}|${event.createTime}`, kind: event.kind, changeType, event, now: Date.now() });
  const batch = createMessageBatch<EventMessage>('wecom-events', [{ id: `m${id}`, timestamp: new Date(), attempts: 1, body: { eventId: id } }]);
  await consumeEvents(batch, { ...env, ...overrides }, handlers);
  await getQueueResult(batch, createExecutionContext());
}

describe('lost-customer alerts', () => {
  beforeEach(resetNotify);

  it('tells the member the customer deleted and the owner, from a signed del_follow_user callback, once', async () => {
    const customerId = await seedCustomer('星河贸易 陈静', 'lisi');
    await bind(CHEN_JING, customerId);
    const xml = contactEventXml({ changeType: 'del_follow_user', userId: 'wangwu', externalUserId: CHEN_JING, createTime: createTime() });
    expect((await postCallback(xml)).status).toBe(200);
    await applied('del_follow_user', CHEN_JING);

    const messages = await simMessages();
    expect(messages.map((m) => m.request.touser).sort()).toEqual(['lisi', 'wangwu']);
    for (const message of messages) {
      expect(customerIdOf(message)).toBe(customerId);
      expect(message.request.textcard.title).toContain('星河贸易 陈静');
      expect(message.delivered).toEqual([message.request.touser]);
    }
    expect((await touchpoint('follow_user_deleted', CHEN_JING))?.members?.sort()).toEqual(['lisi', 'wangwu']);

    // WeCom's retry is deduplicated at the door; a queue redelivery meets the outbox's source keys.
    expect((await postCallback(xml)).status).toBe(200);
    await env.DB.prepare("UPDATE events SET status = 'received' WHERE change_type = 'del_follow_user'").run();
    const { results } = await env.DB.prepare("SELECT id FROM events WHERE change_type = 'del_follow_user'").all<{ id: number }>();
    const batch = createMessageBatch<EventMessage>('wecom-events', results.map((row) => ({ id: `again-${row.id}`, timestamp: new Date(), attempts: 2, body: { eventId: row.id } })));
    await consumeEvents(batch, env, handlers);
    await getQueueResult(batch, createExecutionContext());
    expect(await simMessages()).toHaveLength(2);
    expect((await touchpoint('follow_user_deleted', CHEN_JING))?.members).toHaveLength(2);
  });

  it('lists lost customers for admins by member and date range, with who was told', async () => {
    const customerId = await seedCustomer('星河贸易 陈静', 'wangwu');
    await bind(CHEN_JING, customerId);
    await postCallback(contactEventXml({ changeType: 'del_follow_user', userId: 'wangwu', externalUserId: CHEN_JING, createTime: createTime() }));
    await applied('del_follow_user', CHEN_JING);
    await postCallback(contactEventXml({ changeType: 'del_follow_user', userId: 'wangwu', externalUserId: LIU_YANG, createTime: createTime() }));
    await applied('del_follow_user', LIU_YANG);
    // The owner is the member the customer deleted: one message.
    expect((await simMessages()).filter((m) => customerIdOf(m) === customerId)).toHaveLength(1);

    const admin = await login('zhangsan');
    const today = new Date(Date.now() + 8 * 3_600_000).toISOString().slice(0, 10);
    const list = async (query: string) => {
      const response = await api(`/api/admin/lost-customers${query}`, admin);
      expect(response.status).toBe(200);
      return ((await response.json()) as { items: Array<{ member: { userid: string }; customerId: string | null; externalUserId: string; name: string | null; notified: Array<{ userid: string }> }> }).items;
    };
    const items = await list(`?member=wangwu&from=${today}&to=${today}`);
    expect(items.map((item) => item.externalUserId).sort()).toEqual([CHEN_JING, LIU_YANG].sort());
    const bound = items.find((item) => item.externalUserId === CHEN_JING);
    expect(bound).toMatchObject({ member: { userid: 'wangwu' }, customerId, name: '星河贸易 陈静', notified: [{ userid: 'wangwu' }] });
    // Without a customer the alert names the contact as WeCom knows them and links to the contact.
    expect(items.find((item) => item.externalUserId === LIU_YANG)).toMatchObject({ customerId: null, name: '刘洋' });
    expect((await simMessages()).find((m) => m.request.textcard.url.includes(`external=${LIU_YANG}`))).toBeDefined();

    expect(await list('?member=lisi')).toEqual([]);
    expect(await list('?from=2020-01-01&to=2020-01-31')).toEqual([]);
    expect((await api('/api/admin/lost-customers?from=yesterday', admin)).status).toBe(400);
    expect((await api('/api/admin/lost-customers', await login('wangwu'))).status).toBe(403);
  });

  it('sends nothing when the member deleted the customer; the timeline records it', async () => {
    const customerId = await seedCustomer('星河贸易 陈静', 'lisi');
    await bind(CHEN_JING, customerId);
    await postCallback(contactEventXml({ changeType: 'del_external_contact', userId: 'wangwu', externalUserId: CHEN_JING, createTime: createTime() }));
    await applied('del_external_contact', CHEN_JING);
    expect(await simMessages()).toEqual([]);
    expect(await messageRows()).toEqual([]);
    expect(await touchpoint('contact_deleted', CHEN_JING)).toBeDefined();
  });

  it('leaves out an owner who muted lost-customer alerts', async () => {
    const customerId = await seedCustomer('星河贸易 陈静', 'lisi');
    await bind(CHEN_JING, customerId);
    const cookie = await login('lisi');
    await api('/api/me/notifications', cookie, { method: 'PUT', body: JSON.stringify({ settings: { lost_customer: false } }) });
    await postCallback(contactEventXml({ changeType: 'del_follow_user', userId: 'wangwu', externalUserId: CHEN_JING, createTime: createTime() }));
    await applied('del_follow_user', CHEN_JING);
    expect((await simMessages()).map((m) => m.request.touser)).toEqual(['wangwu']);
    expect((await touchpoint('follow_user_deleted', CHEN_JING))?.members).toEqual(['wangwu']);
  });
});

describe('new-customer messages', () => {
  beforeEach(resetNotify);

  it('tells the member once when a contact they added became a new customer', async () => {
    const xml = contactEventXml({ changeType: 'add_external_contact', userId: 'wangwu', externalUserId: LIU_YANG, createTime: createTime() });
    await postCallback(xml);
    await applied('add_external_contact', LIU_YANG);
    const binding = await env.DB.prepare('SELECT customer_id FROM contact_bindings WHERE external_userid = ?1').bind(LIU_YANG).first<{ customer_id: string }>();
    const messages = await simMessages();
    expect(messages).toHaveLength(1);
    expect(messages[0]!.request.touser).toBe('wangwu');
    expect(customerIdOf(messages[0]!)).toBe(binding?.customer_id);
    expect(messages[0]!.request.textcard.title).toContain('新客户');

    // Deleted and added again: the customer is found, not created, and nothing more is sent.
    await applyWith({}, 'add_external_contact', 'wangwu', LIU_YANG);
    expect(await simMessages()).toHaveLength(1);
  });

  it('sends nothing with NOTIFY_NEW_CUSTOMERS=off, or to a member who muted it', async () => {
    await applyWith({ NOTIFY_NEW_CUSTOMERS: 'off' }, 'add_external_contact', 'wangwu', LIU_YANG);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM contact_bindings WHERE external_userid = ?1').bind(LIU_YANG).first('n')).toBe(1);
    expect(await simMessages()).toEqual([]);

    await resetNotify();
    const cookie = await login('wangwu');
    await api('/api/me/notifications', cookie, { method: 'PUT', body: JSON.stringify({ settings: { new_customer: false } }) });
    await applyWith({}, 'add_external_contact', 'wangwu', LIU_YANG);
    expect(await simMessages()).toEqual([]);
    expect(await messageRows()).toEqual([expect.objectContaining({ kind: 'new_customer', status: 'muted' })]);
  });
});
