/**
 * @module
 * App messages for one app: follow-up reminders (queued by the cron, reminders.ts), the
 * lost-customer and new-customer alerts (queued by event handlers, alerts.ts), and their delivery
 * (deliver.ts) through the outbox (outbox.ts). Every message is queued first and sent second, so a
 * crash in between leaves a pending row the next cron run sends; a member who muted a kind gets a
 * `muted` row instead, which keeps the writer idempotent all the same.
 */
import { memberNames } from '../contacts/view.ts';
import { fetchProfile, type ProfileCache } from '../contacts/profile.ts';
import type { ContactStore } from '../contacts/store.ts';
import type { Crm } from '../crm/port.ts';
import type { WeComApp } from '../env.ts';
import { log } from '../log.ts';
import type { WeComClient } from '../wecom/client.ts';
import { WeComFailure } from '../wecom/errors.ts';
import type { LostCustomer, Person } from '../wire.ts';
import { deliver, type DeliverDeps, type SendOutcome } from './deliver.ts';
import { createFollowUps } from './follow-ups.ts';
import { createMutes } from './mutes.ts';
import { createOutbox, type NewMessage } from './outbox.ts';
import { contactLink, customerLink, lostCustomerCard, newCustomerCard, reminderCard } from './textcard.ts';

export interface NotifierDeps {
  app: WeComApp;
  db: D1Database;
  wecom: WeComClient;
  crm: Crm;
  store: ContactStore;
  profiles: ProfileCache;
  publicOrigin: string;
  /** `NOTIFY_NEW_CUSTOMERS`. */
  newCustomers: boolean;
  now?: () => number;
}

/**
 * One invocation's share of the sending: the cron's run, or one hop of the chain it starts
 * (chains.ts). Each send is one WeCom call and about four D1 queries (claim, outcome, timeline);
 * each follow-up one CRM read (an outbound call with the company CRM) and three more. So an
 * invocation makes at most 45 outbound calls (with the token broker's 2, under the 50 of Workers
 * Free) and at most about 250 D1 queries (1,000 allowed on Workers Paid; 143 measured for a hop of
 * 20 follow-ups and 20 sends, test/worker/reminder-chains.test.ts).
 */
export const SENDS_PER_INVOCATION = 25;
export const FOLLOW_UPS_PER_INVOCATION = 20;
/** Sendable messages read per invocation: enough to reach members behind another member's backlog. */
const DUE_PER_INVOCATION = 100;

export interface ReminderRun {
  queued: number;
  sent: number;
  failed: number;
  retried: number;
  /** Left for a later run: the member is at WeCom's limit, or another run holds the row. */
  deferred: number;
  /** Work this invocation had no budget for: due follow-ups, or messages to members under the limit. */
  more: boolean;
}

export function createNotifier(deps: NotifierDeps) {
  const { app, db, crm, store } = deps;
  const corpId = app.corpId;
  const now = deps.now ?? Date.now;
  const outbox = createOutbox(db, app);
  const followUps = createFollowUps(db, corpId);
  const mutes = createMutes(db, corpId);
  const deliverDeps: DeliverDeps = { corpId, outbox, wecom: deps.wecom, store, now };

  async function queue(message: NewMessage): Promise<number | undefined> {
    return outbox.enqueue(message, now(), await mutes.muted(message.touser, message.kind));
  }

  /** Sends freshly queued messages at once; whatever cannot go now stays pending for the cron. */
  async function sendNow(ids: ReadonlyArray<number | undefined>): Promise<void> {
    for (const id of ids) {
      if (id === undefined) continue;
      const message = await outbox.get(id);
      if (message?.status === 'pending') await deliver(deliverDeps, message);
    }
  }

  async function contactName(externalUserId: string): Promise<string> {
    const cached = await deps.profiles.get(corpId, externalUserId);
    if (cached) return cached.contact.name;
    try {
      return (await fetchProfile(deps.wecom, externalUserId, now())).contact.name;
    } catch (error) {
      // The customer deleted the member; if nobody else follows them WeCom no longer shows them.
      if (error instanceof WeComFailure) return externalUserId;
      throw error;
    }
  }

  return {
    outbox,
    followUps,
    mutes,

    /**
     * One invocation's work for this app: queue the reminders of follow-ups that fell due
     * (`takeFollowUps`: only one app per corp does, since follow-ups belong to the corp), then send
     * what is due, each claimed before it is sent, within the budget above.
     */
    async runReminders(takeFollowUps: boolean): Promise<ReminderRun> {
      const run: ReminderRun = { queued: 0, sent: 0, failed: 0, retried: 0, deferred: 0, more: false };
      let followUpsLeft = false;
      if (takeFollowUps) {
        const due = await followUps.due(now(), FOLLOW_UPS_PER_INVOCATION);
        let taken = 0;
        for (const followUp of due) {
          try {
            const customer = await crm.get(corpId, followUp.customerId);
            if (customer?.ownerUserid) {
              const id = await queue({
                kind: 'reminder',
                sourceKey: `reminder:${followUp.customerId}:${followUp.dueAt}:${followUp.setAt}`,
                touser: customer.ownerUserid,
                customerId: customer.id,
                externalUserId: null,
                textcard: reminderCard({ customerName: customer.name, dueAt: followUp.dueAt, note: followUp.note, url: customerLink(deps.publicOrigin, customer.id) }),
                facts: followUp.note ? { note: followUp.note } : {},
              });
              if (id !== undefined) run.queued += 1;
            } else {
              log('warn', 'notify.reminder_without_owner', { corpId, customerId: followUp.customerId, found: customer !== undefined });
            }
            await followUps.take(followUp);
            taken += 1;
          } catch (error) {
            // The company CRM may be down: this follow-up stays due for the next run, the others go on.
            log('warn', 'notify.follow_up_failed', { corpId, customerId: followUp.customerId, message: error instanceof Error ? error.message : String(error) });
          }
        }
        // More wait only if this batch made progress: a CRM that refuses them all is not asked again until the next cron.
        followUpsLeft = due.length === FOLLOW_UPS_PER_INVOCATION && taken > 0;
      }
      const tally: Record<SendOutcome, 'sent' | 'failed' | 'retried' | 'deferred'> = { sent: 'sent', failed: 'failed', retry: 'retried', skipped: 'deferred' };
      // A member who reaches WeCom's limit is passed over for the rest of the run, so others behind their backlog still get theirs.
      const full = new Set<string>();
      const candidates = await outbox.due(now(), DUE_PER_INVOCATION);
      let next = 0;
      for (; next < candidates.length && run.sent + run.failed + run.retried < SENDS_PER_INVOCATION; next++) {
        const message = candidates[next]!;
        if (full.has(message.touser)) {
          run.deferred += 1;
          continue;
        }
        const outcome = await deliver(deliverDeps, message);
        if (outcome === 'skipped') full.add(message.touser);
        run[tally[outcome]] += 1;
      }
      const tried = run.sent + run.failed + run.retried;
      const sendable = candidates.slice(next).some((message) => !full.has(message.touser)) || (candidates.length === DUE_PER_INVOCATION && tried > 0);
      // After a rate limit or a WeCom that did not answer, no chain presses on: the next cron tries again.
      run.more = run.retried === 0 && (followUpsLeft || sendable);
      return run;
    },

    /** The customer deleted `userid` (`del_follow_user`): that member and the customer's owner are told. */
    async customerLost(input: { eventId: number; userid: string; externalUserId: string; at: number }): Promise<void> {
      const binding = await store.binding(corpId, input.externalUserId);
      const customer = binding ? await crm.get(corpId, binding.customerId) : undefined;
      const name = customer?.name ?? (await contactName(input.externalUserId));
      const touchpoint = `event:${input.eventId}`;
      if (name !== input.externalUserId) await store.nameTouchpoint(corpId, touchpoint, name);
      const memberName = (await memberNames(db, corpId, [input.userid])).get(input.userid) ?? input.userid;
      const url = customer ? customerLink(deps.publicOrigin, customer.id) : contactLink(deps.publicOrigin, input.externalUserId);
      const recipients = [...new Set([input.userid, customer?.ownerUserid].filter((userid): userid is string => Boolean(userid)))];
      const ids = [];
      for (const touser of recipients) {
        ids.push(
          await queue({
            kind: 'lost_customer',
            sourceKey: `lost:${input.eventId}:${touser}`,
            touser,
            customerId: customer?.id ?? null,
            externalUserId: input.externalUserId,
            textcard: lostCustomerCard({ customerName: name, memberName, at: input.at, url }),
            facts: { touchpoint },
          }),
        );
      }
      await sendNow(ids);
    },

    /** A contact add created a customer (auto-bind.ts, outcome `created`): the member who added them is told, once per customer. */
    async customerCreated(input: { userid: string; customerId: string; name: string; at: number }): Promise<void> {
      if (!deps.newCustomers) return;
      const id = await queue({
        kind: 'new_customer',
        sourceKey: `new:${input.customerId}`,
        touser: input.userid,
        customerId: input.customerId,
        externalUserId: null,
        textcard: newCustomerCard({ customerName: input.name, at: input.at, url: customerLink(deps.publicOrigin, input.customerId) }),
      });
      await sendNow([id]);
    },

    /** Customers who deleted a member (`follow_user_deleted` touchpoints), newest first. */
    async lostCustomers(filter: { member?: string; from: number; to: number; limit: number }): Promise<LostCustomer[]> {
      const { results } = await db
        .prepare(
          `SELECT t.id, t.at, t.actor_userid, t.external_userid, COALESCE(t.customer_id, b.customer_id) AS customer_id, t.detail
           FROM touchpoints t LEFT JOIN contact_bindings b ON b.corp_id = t.corp_id AND b.external_userid = t.external_userid
           WHERE t.corp_id = ?1 AND t.kind = 'follow_user_deleted' AND (?2 IS NULL OR t.actor_userid = ?2) AND t.at >= ?3 AND t.at < ?4
           ORDER BY t.at DESC, t.id DESC LIMIT ?5`,
        )
        .bind(corpId, filter.member ?? null, filter.from, filter.to, filter.limit)
        .all<{ id: number; at: number; actor_userid: string | null; external_userid: string | null; customer_id: string | null; detail: string }>();
      const rows = results.map((row) => ({ ...row, detail: JSON.parse(row.detail) as { name?: string; members?: string[] } }));
      const names = await memberNames(db, corpId, rows.flatMap((row) => [row.actor_userid ?? '', ...(row.detail.members ?? [])]));
      const person = (userid: string): Person => ({ userid, name: names.get(userid) ?? userid });
      return rows.map((row) => ({
        id: String(row.id),
        at: row.at,
        member: row.actor_userid ? person(row.actor_userid) : null,
        externalUserId: row.external_userid,
        customerId: row.customer_id,
        name: row.detail.name ?? null,
        notified: (row.detail.members ?? []).map(person),
      }));
    },
  };
}

export type Notifier = ReturnType<typeof createNotifier>;
