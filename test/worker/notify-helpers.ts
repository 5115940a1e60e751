/**
 * @module
 * Shared by the reminder and alert tests: a clean slate, customers in the built-in CRM, the
 * messages the simulator received, and the outbox rows.
 */
import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import worker from '../../worker/index.ts';
import { createBuiltinCrm } from '../../worker/crm/builtin.ts';
import { profileKey } from '../../worker/contacts/profile.ts';
import { REMINDER_CRON } from '../../worker/scheduled.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { resetIdentity } from './identity-helpers.ts';
import { sim } from './simulator-control.ts';

export const corpId = env.WECOM_CORP_ID!;

export interface SimMessage {
  msgid: string;
  receivedAt: number;
  touser: string[];
  delivered: string[];
  dropped: string[];
  truncated: string[];
  duplicateOf?: string;
  request: { touser: string; msgtype: string; enable_duplicate_check?: number; textcard: { title: string; description: string; url: string } };
}

export interface MessageRow {
  id: number;
  kind: string;
  touser: string;
  customer_id: string | null;
  status: string;
  attempts: number;
  msgid: string | null;
  errcode: number | null;
  reason: string | null;
}

export async function resetNotify(): Promise<void> {
  await resetIdentity();
  await env.DB.batch(
    [
      'follow_ups',
      'app_messages',
      'app_message_chains',
      'notification_mutes',
      'contact_bindings',
      'contact_follows',
      'touchpoints',
      'events',
      'crm_customer_mobiles',
      'crm_notes',
      'crm_history',
      'crm_idempotency',
      'crm_customers',
    ].map((table) => env.DB.prepare(`DELETE FROM ${table}`)),
  );
  for (const id of Object.values(demoIds.externalUserIds)) await env.KV.delete(profileKey(corpId, id));
}

let seeded = 0;
export async function seedCustomer(name: string, ownerUserid: string | null): Promise<string> {
  seeded += 1;
  const customer = await createBuiltinCrm(env.DB).create({ name, company: '', ownerUserid }, { corpId, actor: 'test', idempotencyKey: `notify-seed-${Date.now()}-${seeded}` });
  return customer.id;
}

/** A follow-up that fell due `agoMs` ago, written as the sidebar would have. */
export async function dueFollowUp(customerId: string, note = '', agoMs = 60_000): Promise<void> {
  const now = Date.now();
  await env.DB.prepare('INSERT INTO follow_ups (corp_id, customer_id, due_at, note, set_by, set_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)')
    .bind(corpId, customerId, now - agoMs, note, 'wangwu', now - agoMs - 1000)
    .run();
}

export async function simMessages(): Promise<SimMessage[]> {
  return ((await sim('messages')) as { messages: SimMessage[] }).messages;
}

export async function messageRows(): Promise<MessageRow[]> {
  const { results } = await env.DB.prepare('SELECT * FROM app_messages ORDER BY id').all<MessageRow>();
  return results;
}

/** The reminder trigger, as Cloudflare fires it, and the hops it hands to the `app-messages` queue. */
export async function runReminderCron(): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron: REMINDER_CRON, scheduledTime: Date.now() }), env, ctx);
  await waitOnExecutionContext(ctx);
  await chainsSettled();
}

/** Waits until no chain has a hop queued (app_message_chains.running). */
export async function chainsSettled(timeoutMs = 30_000): Promise<void> {
  const started = Date.now();
  while ((await env.DB.prepare('SELECT COUNT(*) AS n FROM app_message_chains WHERE running = 1').first<number>('n')) !== 0) {
    if (Date.now() - started > timeoutMs) throw new Error('a sending chain did not settle');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

export const customerIdOf = (message: SimMessage) => new URL(message.request.textcard.url).searchParams.get('customer');
