import { env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { DUPLICATE_CHECK_SECONDS, MAX_ATTEMPTS } from '../../worker/notify/deliver.ts';
import { PER_MEMBER_MINUTE } from '../../worker/notify/outbox.ts';
import { api, login, setRole } from './identity-helpers.ts';
import { corpId, customerIdOf, dueFollowUp, messageRows, resetNotify, runReminderCron, seedCustomer, simMessages } from './notify-helpers.ts';
import { sim } from './simulator-control.ts';

const bytes = (text: string) => new TextEncoder().encode(text).length;
const HOUR = 3_600_000;

describe('PUT/GET/DELETE /api/customers/:id/follow-up', () => {
  beforeEach(resetNotify);

  it('lets the owner set, read and clear a follow-up time', async () => {
    const id = await seedCustomer('星河贸易', 'wangwu');
    const cookie = await login('wangwu');
    const dueAt = Date.now() + 2 * HOUR;
    const set = await api(`/api/customers/${id}/follow-up`, cookie, { method: 'PUT', body: JSON.stringify({ dueAt, note: '确认交付周期' }) });
    expect(set.status).toBe(200);
    expect(await set.json()).toEqual({ followUp: { dueAt, note: '确认交付周期', setBy: { userid: 'wangwu', name: '王五' }, setAt: expect.any(Number) } });
    const read = (await (await api(`/api/customers/${id}/follow-up`, cookie)).json()) as { followUp: { dueAt: number } };
    expect(read.followUp.dueAt).toBe(dueAt);
    expect((await api(`/api/customers/${id}/follow-up`, cookie, { method: 'DELETE' })).status).toBe(200);
    expect(await (await api(`/api/customers/${id}/follow-up`, cookie)).json()).toEqual({ followUp: null });
  });

  it('refuses a customer that is not yours like other customer writes, and a viewer', async () => {
    const id = await seedCustomer('华南客户', 'zhaoliu');
    const cookie = await login('wangwu');
    const body = JSON.stringify({ dueAt: Date.now() + HOUR });
    const refused = await api(`/api/customers/${id}/follow-up`, cookie, { method: 'PUT', body });
    expect(refused.status).toBe(403);
    expect(((await refused.json()) as { error: string }).error).toBe('not_your_customer');
    const unknown = await api('/api/customers/cus_nobody/follow-up', cookie, { method: 'PUT', body });
    expect(unknown.status).toBe(404);
    expect(((await unknown.json()) as { error: string }).error).toBe('customer_not_found');

    const own = await seedCustomer('自己的客户', 'wangwu');
    await setRole('wangwu', 'viewer');
    const viewer = await api(`/api/customers/${own}/follow-up`, cookie, { method: 'PUT', body });
    expect(viewer.status).toBe(403);
    expect(((await viewer.json()) as { error: string }).error).toBe('forbidden');
    expect((await api(`/api/customers/${own}/follow-up`, cookie)).status).toBe(200);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM follow_ups').first('n')).toBe(0);
  });

  it('refuses a time that is not a time', async () => {
    const id = await seedCustomer('星河贸易', 'wangwu');
    const cookie = await login('wangwu');
    for (const dueAt of ['tomorrow', Date.now() - 2 * HOUR, 1.5]) {
      const response = await api(`/api/customers/${id}/follow-up`, cookie, { method: 'PUT', body: JSON.stringify({ dueAt }) });
      expect(response.status).toBe(400);
    }
  });
});

describe('the reminder job', () => {
  beforeEach(resetNotify);

  it("sends the owner one textcard within WeCom's limits, linking to the customer, and the timeline shows it", async () => {
    const id = await seedCustomer('星河贸易（上海）有限公司'.repeat(10), 'wangwu');
    await dueFollowUp(id, '确认交付周期，'.repeat(60));
    await runReminderCron();
    const [message, ...others] = await simMessages();
    expect(others).toEqual([]);
    expect(message).toMatchObject({ delivered: ['wangwu'], dropped: [], truncated: [] });
    expect(message!.request.msgtype).toBe('textcard');
    expect(message!.request.enable_duplicate_check).toBe(1);
    const card = message!.request.textcard;
    expect(card.url).toBe(`${env.PUBLIC_ORIGIN}/?customer=${id}`);
    expect(bytes(card.title)).toBeLessThanOrEqual(128);
    expect(bytes(card.description)).toBeLessThanOrEqual(512);
    expect(card.title.startsWith('跟进提醒：星河贸易')).toBe(true);

    const [row] = await messageRows();
    expect(row).toMatchObject({ kind: 'reminder', touser: 'wangwu', status: 'sent', attempts: 1, msgid: message!.msgid });
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM follow_ups').first('n')).toBe(0);

    const cookie = await login('wangwu');
    const { items } = (await (await api(`/api/customers/${id}/timeline`, cookie)).json()) as { items: Array<{ kind: string; detail: { text?: string; members?: Array<{ userid: string }> } }> };
    const reminder = items.find((item) => item.kind === 'reminder_sent');
    expect(reminder?.detail.members?.map((m) => m.userid)).toEqual(['wangwu']);
    expect(reminder?.detail.text).toContain('确认交付周期');
  });

  it('sends each reminder exactly once when runs overlap and repeat', async () => {
    const ids: string[] = [];
    for (const [index, owner] of ['wangwu', 'zhaoliu', 'lisi', 'wangwu', 'zhaoliu', 'lisi', 'wangwu', 'zhangsan'].entries()) {
      const id = await seedCustomer(`客户${index}`, owner);
      await dueFollowUp(id, `第${index}次`);
      ids.push(id);
    }
    await Promise.all([runReminderCron(), runReminderCron(), runReminderCron()]);
    await runReminderCron();
    const messages = await simMessages();
    expect(messages.map(customerIdOf).sort()).toEqual([...ids].sort());
    expect(messages.every((m) => m.duplicateOf === undefined && m.delivered.length === 1)).toBe(true);
    const rows = await messageRows();
    expect(rows).toHaveLength(ids.length);
    expect(rows.every((row) => row.status === 'sent' && row.attempts === 1)).toBe(true);
  });

  it("defers what would pass a member's 30 a minute to a later run, so WeCom drops nothing", async () => {
    for (let index = 0; index < PER_MEMBER_MINUTE + 5; index++) await dueFollowUp(await seedCustomer(`批量客户${index}`, 'wangwu'), '', 60_000 + index);
    await runReminderCron();
    expect((await simMessages()).length).toBe(PER_MEMBER_MINUTE);
    await runReminderCron();
    expect((await simMessages()).length).toBe(PER_MEMBER_MINUTE);
    expect((await messageRows()).filter((row) => row.status === 'pending')).toHaveLength(5);

    // A minute later, for WeCom and for our own accounting.
    await sim('clock', { advanceSeconds: 61 });
    await env.DB.prepare('UPDATE app_messages SET attempted_at = attempted_at - 61000').run();
    await runReminderCron();
    const messages = await simMessages();
    expect(messages).toHaveLength(PER_MEMBER_MINUTE + 5);
    expect(messages.flatMap((m) => m.dropped)).toEqual([]);
    expect((await messageRows()).every((row) => row.status === 'sent')).toBe(true);
  });

  it("still reaches a member queued behind another member's backlog", async () => {
    for (let index = 0; index < PER_MEMBER_MINUTE + 60; index++) await dueFollowUp(await seedCustomer(`王五的客户${index}`, 'wangwu'), '', 120_000 - index);
    for (let index = 0; index < 2; index++) await dueFollowUp(await seedCustomer(`李四的客户${index}`, 'lisi'), '', 30_000 - index);
    await runReminderCron();
    const received = (await simMessages()).map((m) => m.request.touser);
    expect(received.filter((userid) => userid === 'wangwu')).toHaveLength(PER_MEMBER_MINUTE);
    expect(received.filter((userid) => userid === 'lisi')).toHaveLength(2);
  });

  it('prunes finished messages after 30 days, never pending ones', async () => {
    await dueFollowUp(await seedCustomer('旧消息', 'wangwu'));
    await runReminderCron();
    await env.DB.prepare("INSERT INTO app_messages (corp_id, agent_id, kind, source_key, touser, textcard, status, next_at, created_at) VALUES (?1, ?2, 'reminder', 'old-pending', 'wangwu', '{}', 'pending', ?3, 0)")
      .bind(corpId, env.WECOM_AGENT_ID, Date.now() + HOUR)
      .run();
    await env.DB.prepare("UPDATE app_messages SET finished_at = ?1, created_at = 0 WHERE status = 'sent'").bind(Date.now() - 31 * 24 * HOUR).run();
    const { PRUNE_CRON } = await import('../../worker/crons.ts');
    const { default: worker } = await import('../../worker/index.ts');
    const { createExecutionContext, createScheduledController, waitOnExecutionContext } = await import('cloudflare:test');
    const ctx = createExecutionContext();
    await worker.scheduled(createScheduledController({ cron: PRUNE_CRON, scheduledTime: Date.now() }), env, ctx);
    await waitOnExecutionContext(ctx);
    expect((await messageRows()).map((row) => row.status)).toEqual(['pending']);
  });

  it('records a member outside the visible range (81013) as failed, never retries it, and shows it to admins', async () => {
    const id = await seedCustomer('财务部的客户', 'zhouba');
    await dueFollowUp(id);
    await runReminderCron();
    await runReminderCron();
    expect(await simMessages()).toEqual([]);
    const [row] = await messageRows();
    expect(row).toMatchObject({ status: 'failed', attempts: 1, errcode: 81013, reason: 'wecom_81013' });

    const admin = await login('zhangsan');
    const { failures } = (await (await api('/api/admin/app-messages/failures', admin)).json()) as { failures: Array<{ touser: string; errcode: number; reason: string; kind: string }> };
    expect(failures).toEqual([expect.objectContaining({ kind: 'reminder', touser: 'zhouba', errcode: 81013, reason: 'wecom_81013' })]);
    const sales = await login('wangwu');
    expect((await api('/api/admin/app-messages/failures', sales)).status).toBe(403);
  });

  it('fails at once when the app may not send (48002), and gives up on a busy WeCom after a bounded number of attempts', async () => {
    await dueFollowUp(await seedCustomer('无权限', 'wangwu'));
    await sim('faults', { path: 'message/send', errcode: 48002 });
    await runReminderCron();
    expect(await messageRows()).toEqual([expect.objectContaining({ status: 'failed', attempts: 1, errcode: 48002 })]);

    await resetNotify();
    await dueFollowUp(await seedCustomer('繁忙', 'wangwu'));
    await sim('faults', { path: 'message/send', errcode: 45009, times: 100 });
    for (let run = 0; run < MAX_ATTEMPTS + 2; run++) {
      await runReminderCron();
      await env.DB.prepare("UPDATE app_messages SET next_at = 0 WHERE status = 'pending'").run();
    }
    expect(await messageRows()).toEqual([expect.objectContaining({ status: 'failed', attempts: MAX_ATTEMPTS, errcode: 45009, reason: 'wecom_45009' })]);
  });

  it('resends a send whose answer was lost only under the duplicate check, and gives up once the window has passed', async () => {
    await dueFollowUp(await seedCustomer('超时', 'wangwu'));
    await runReminderCron();
    // As if the sender died after WeCom delivered it and before it saw the answer.
    await env.DB.prepare("UPDATE app_messages SET status = 'sending', lease_until = 0, msgid = NULL").run();
    await runReminderCron();
    const messages = await simMessages();
    expect(messages).toHaveLength(2);
    expect(messages[1]!.duplicateOf).toBe(messages[0]!.msgid);
    expect(messages.flatMap((m) => m.delivered)).toEqual(['wangwu']);
    expect(await messageRows()).toEqual([expect.objectContaining({ status: 'sent', attempts: 2 })]);

    // Lost again, but WeCom's window no longer covers the first attempt: a resend could arrive twice.
    await env.DB.prepare("UPDATE app_messages SET status = 'sending', lease_until = 0, first_attempt_at = ?1").bind(Date.now() - DUPLICATE_CHECK_SECONDS * 1000).run();
    await runReminderCron();
    expect(await simMessages()).toHaveLength(2);
    expect(await messageRows()).toEqual([expect.objectContaining({ status: 'failed', reason: 'outcome_unknown' })]);
  });

  it('sends nothing to a member who muted reminders, and keeps the follow-up off the queue', async () => {
    const id = await seedCustomer('静音', 'wangwu');
    const cookie = await login('wangwu');
    const put = await api('/api/me/notifications', cookie, { method: 'PUT', body: JSON.stringify({ settings: { reminder: false } }) });
    expect(await put.json()).toEqual({ settings: { reminder: false, lost_customer: true, new_customer: true } });
    expect(await (await api('/api/me/notifications', cookie)).json()).toEqual({ settings: { reminder: false, lost_customer: true, new_customer: true } });
    await dueFollowUp(id);
    await runReminderCron();
    expect(await simMessages()).toEqual([]);
    expect(await messageRows()).toEqual([expect.objectContaining({ status: 'muted', touser: 'wangwu' })]);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM follow_ups WHERE corp_id = ?1').bind(corpId).first('n')).toBe(0);
    const bad = await api('/api/me/notifications', cookie, { method: 'PUT', body: JSON.stringify({ settings: { everything: false } }) });
    expect(bad.status).toBe(400);
  });
});
