/**
 * @module
 * Sending queued app messages: claim (outbox.ts), `message/send`, record the outcome. The rules:
 * - Every send asks WeCom to drop repeats of the same request within DUPLICATE_CHECK_SECONDS
 *   (`enable_duplicate_check`, docs/wecom.md §7.2), and a message's request is the same bytes on
 *   every attempt. So a send whose outcome is unknown (a timeout, a network error, a 5xx, WeCom's
 *   -1, a sender that died holding the lease) is sent again only while that window, counted from
 *   the first attempt, still covers it; after that it is marked failed (`outcome_unknown`) rather
 *   than risk a second copy.
 * - Rate limits (45009, 45033) are retried later; they say WeCom did not send.
 * - Everything else WeCom refuses (81013 nobody valid, 48002, 60011, 60020, 40058, …), and a
 *   recipient WeCom lists in `invaliduser` (outside the app's visible range), fails at once with
 *   the reason: the diagnostics page lists it. Retries stop after MAX_ATTEMPTS in any case.
 * - Once sent, the timeline learns who was told (a `reminder_sent` touchpoint, or the recipient
 *   added to the lost-customer touchpoint's `members`).
 */
import type { ContactStore } from '../contacts/store.ts';
import { log } from '../log.ts';
import type { WeComClient } from '../wecom/client.ts';
import { WeComError, WeComTransportError } from '../wecom/errors.ts';
import type { Outbox, OutboxMessage } from './outbox.ts';

/** WeCom's default window (docs/wecom.md §7.2; longer ones, up to 4 hours, are unconfirmed). */
export const DUPLICATE_CHECK_SECONDS = 1_800;
/** A resend must reach WeCom while the first attempt is still inside the window. */
const RESEND_MARGIN_MS = 5 * 60_000;
export const MAX_ATTEMPTS = 5;
/** Longer than the client's 10 s timeout: a live sender never loses its claim mid-send. */
export const LEASE_MS = 60_000;
/** 1, 2, 4, 8 minutes: the next cron run or two. */
const retryDelayMs = (attempts: number) => 60_000 * 2 ** Math.max(0, attempts - 1);

export interface DeliverDeps {
  corpId: string;
  outbox: Outbox;
  wecom: WeComClient;
  store: ContactStore;
  now: () => number;
}

export type SendOutcome = 'sent' | 'failed' | 'retry' | 'skipped';

function describe(error: WeComError | WeComTransportError): { reason: string; errcode: number | null; retry: boolean; unsure: boolean } {
  if (error instanceof WeComTransportError) return { reason: error.code, errcode: null, retry: true, unsure: true };
  if (error.kind === 'rate_limited') return { reason: error.code, errcode: error.errcode, retry: true, unsure: false };
  if (error.kind === 'busy') return { reason: error.code, errcode: error.errcode, retry: true, unsure: true };
  return { reason: error.code, errcode: error.errcode, retry: false, unsure: false };
}

/** Tries one message; `skipped` when another sender has it or its member is at the limit. */
export async function deliver(deps: DeliverDeps, message: OutboxMessage): Promise<SendOutcome> {
  const { outbox, wecom, corpId } = deps;
  const now = deps.now();
  const leaseLost = message.status === 'sending';
  const unsure = message.unsure || leaseLost;
  if (unsure && message.firstAttemptAt !== null && now - message.firstAttemptAt > DUPLICATE_CHECK_SECONDS * 1000 - RESEND_MARGIN_MS) {
    await outbox.markFailed(message.id, 'outcome_unknown', message.errcode, now);
    log('warn', 'notify.outcome_unknown', { corpId, messageId: message.id, kind: message.kind });
    return 'failed';
  }
  if (!(await outbox.claim(message, now, now + LEASE_MS))) return 'skipped';
  const attempts = message.attempts + 1;
  const started = Date.now();
  try {
    const reply = await wecom.sendMessage({
      touser: message.touser,
      msgtype: 'textcard',
      textcard: message.textcard,
      enable_duplicate_check: 1,
      duplicate_check_interval: DUPLICATE_CHECK_SECONDS,
    });
    const invalid = (reply.invaliduser ?? '').split('|');
    if (invalid.includes(message.touser)) {
      await outbox.markFailed(message.id, 'invaliduser', null, deps.now());
      log('warn', 'notify.failed', { corpId, messageId: message.id, kind: message.kind, reason: 'invaliduser' });
      return 'failed';
    }
    await outbox.markSent(message.id, reply.msgid ?? '', deps.now());
    await recordSent(deps, message);
    log('info', 'notify.sent', { corpId, messageId: message.id, kind: message.kind, ms: Date.now() - started });
    return 'sent';
  } catch (error) {
    if (!(error instanceof WeComError || error instanceof WeComTransportError)) throw error;
    const failure = describe(error);
    if (failure.retry && attempts < MAX_ATTEMPTS) {
      await outbox.markRetry(message.id, failure.reason, failure.errcode, deps.now() + retryDelayMs(attempts), failure.unsure || message.unsure);
      log('warn', 'notify.retry_later', { corpId, messageId: message.id, kind: message.kind, reason: failure.reason, attempt: attempts });
      return 'retry';
    }
    await outbox.markFailed(message.id, failure.reason, failure.errcode, deps.now());
    log('warn', 'notify.failed', { corpId, messageId: message.id, kind: message.kind, reason: failure.reason, errcode: failure.errcode ?? undefined });
    return 'failed';
  }
}

/** What the customer's timeline shows about a sent message. Idempotent: a resend after a lost write changes nothing. */
async function recordSent(deps: DeliverDeps, message: OutboxMessage): Promise<void> {
  if (message.kind === 'reminder') {
    await deps.store.addTouchpoint(deps.corpId, {
      externalUserId: message.externalUserId,
      customerId: message.customerId,
      kind: 'reminder_sent',
      at: deps.now(),
      actorUserid: null,
      detail: { ...(message.facts.note ? { text: message.facts.note } : {}), members: [message.touser] },
      sourceKey: `app-message:${message.id}`,
    });
  } else if (message.facts.touchpoint) {
    await deps.store.addTouchpointMember(deps.corpId, message.facts.touchpoint, message.touser);
  }
}
