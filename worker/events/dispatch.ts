/**
 * @module
 * Handing recorded events to the queue. The callback route's only durable work before its 200 is
 * the D1 row (`store.record`, one statement that also deduplicates WeCom's retries): once that row
 * exists the event will be applied. Sending it to the queue and marking the row sent happen after
 * the 200, in `waitUntil`; whatever stops them (the isolate ends, the queue refuses every attempt)
 * leaves `enqueued_at` NULL, and the sweep here sends such rows again once they are older than
 * `HANDOFF_GRACE_MS`. So an acknowledged event is applied at least once; a second message for the
 * same row is harmless, because the consumer skips applied rows and handlers are idempotent.
 */
import type { EventMessage } from '../bindings.ts';
import { log } from '../log.ts';
import type { EventStore, RecordOutcome } from './store.ts';

/**
 * How long an unsent row belongs to the request that recorded it. Cloudflare ends `waitUntil` work
 * 30 s after the response, so past this the first delivery's hand-off has either happened or never will.
 */
export const HANDOFF_GRACE_MS = 60_000;
/** `sendBatch` takes at most 100 messages. */
export const SWEEP_BATCH = 100;
/** How often a consumer isolate sweeps between batches (the hourly cron sweeps too, for a corp gone quiet). */
export const SWEEP_EVERY_MS = 60_000;

const SEND_ATTEMPTS = 3;

export type EventQueue = Pick<Queue<EventMessage>, 'send' | 'sendBatch'>;
type Store = Pick<EventStore, 'markEnqueued' | 'markEnqueuedMany' | 'listUnsent'>;

/**
 * The delivery that created the row sends it. A retry racing its original (WeCom resending while the
 * first is still in flight) does not, so one event is one message; a retry arriving after the grace
 * finds the first hand-off lost and sends it itself, without waiting for the sweep.
 */
export function needsHandOff(outcome: RecordOutcome, now: number): boolean {
  if (outcome.enqueued) return false;
  return outcome.isNew || now - outcome.receivedAt >= HANDOFF_GRACE_MS;
}

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Sends one recorded event, retrying the send briefly, then marks it sent. Never throws: the row is the safety net. */
export async function handOff(queue: EventQueue, store: Store, eventId: number, now: () => number): Promise<boolean> {
  for (let attempt = 1; ; attempt++) {
    try {
      await queue.send({ eventId });
      break;
    } catch (error) {
      if (attempt >= SEND_ATTEMPTS) {
        log('warn', 'events.send_failed', { eventId, attempts: attempt, message: String(error) });
        return false;
      }
      await pause(100 * 4 ** (attempt - 1));
    }
  }
  try {
    await store.markEnqueued(eventId, now());
  } catch (error) {
    // Sent but not marked: the sweep may send it once more, which the consumer tolerates.
    log('warn', 'events.mark_enqueued_failed', { eventId, message: String(error) });
  }
  return true;
}

/** Sends every row left unsent for longer than the grace, `SWEEP_BATCH` at a time; returns how many went. */
export async function sweepUnsent(queue: EventQueue, store: Store, now: number, maxBatches = 10): Promise<number> {
  let sent = 0;
  for (let round = 0; round < maxBatches; round++) {
    const ids = await store.listUnsent(now - HANDOFF_GRACE_MS, SWEEP_BATCH);
    if (ids.length === 0) break;
    await queue.sendBatch(ids.map((eventId) => ({ body: { eventId } })));
    await store.markEnqueuedMany(ids, now);
    sent += ids.length;
    if (ids.length < SWEEP_BATCH) break;
  }
  if (sent > 0) log('warn', 'events.swept', { sent });
  return sent;
}
