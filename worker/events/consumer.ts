/**
 * @module
 * The queue consumer: applies recorded events through the handler registry.
 * A failure is written to the event's row and retried with backoff; when the queue gives up,
 * the message goes to the dead-letter queue, whose consumer marks the row failed. Nothing is dropped silently.
 */
import { configOf, findApp, type WeComApp } from '../env.ts';
import type { Env, EventMessage } from '../bindings.ts';
import { log } from '../log.ts';
import { appServices, type AppServices } from '../services.ts';
import { SWEEP_EVERY_MS, sweepUnsent } from './dispatch.ts';
import { createEventStore } from './store.ts';
import type { HandlerRegistry } from './registry.ts';

/** Mirrors `max_retries` on the consumer in wrangler.toml. */
export const MAX_RETRIES = 5;

/** 5 s, 10 s, 20 s … capped at 5 minutes. */
export function retryDelaySeconds(attempt: number): number {
  return Math.min(300, 5 * 2 ** Math.max(0, attempt - 1));
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Per isolate: when this consumer last swept for rows the callback route recorded but never sent. */
let lastSweep = 0;

export async function consumeEvents(batch: MessageBatch<EventMessage>, env: Env, registry: HandlerRegistry): Promise<void> {
  const store = createEventStore(env.DB);
  await sweepIfDue(env, store, Date.now());
  // One set of services per app for the whole batch; its events are mostly one corp's.
  const servicesByApp = new Map<WeComApp, AppServices>();
  for (const message of batch.messages) {
    const eventId = message.body?.eventId;
    if (typeof eventId !== 'number') {
      log('error', 'events.bad_message', { queue: batch.queue });
      message.ack();
      continue;
    }
    try {
      const stored = await store.get(eventId);
      if (!stored) {
        log('error', 'events.missing_row', { eventId });
        message.ack();
        continue;
      }
      if (stored.status === 'applied') {
        message.ack();
        continue;
      }
      const config = configOf(env);
      if (!config.ok) throw new Error(`configuration incomplete: ${config.problems.join('; ')}`);
      const app = findApp(config.config, stored.corpId, stored.agentId);
      if (!app) throw new Error(`no app configured for ${stored.corpId}/${stored.agentId}`);
      let services = servicesByApp.get(app);
      if (!services) servicesByApp.set(app, (services = appServices(env, config.config, app)));
      const started = Date.now();
      for (const handler of registry.handlersFor(stored.event)) {
        await handler(stored.event, { services, eventId });
      }
      await store.markApplied(eventId, message.attempts, Date.now());
      message.ack();
      log('info', 'events.applied', { eventId, corpId: stored.corpId, kind: stored.kind, changeType: stored.changeType, ms: Date.now() - started });
    } catch (error) {
      const reason = describe(error);
      log('warn', 'events.attempt_failed', { eventId, attempt: message.attempts, message: reason });
      await store.markAttemptFailed(eventId, message.attempts, reason).catch(() => undefined);
      message.retry({ delaySeconds: retryDelaySeconds(message.attempts) });
    }
  }
}

/**
 * While events flow, a row whose hand-off was lost is sent within about a minute; the hourly cron
 * covers a corp that has gone quiet. A failing sweep never holds up the batch.
 */
async function sweepIfDue(env: Env, store: ReturnType<typeof createEventStore>, now: number): Promise<void> {
  if (now - lastSweep < SWEEP_EVERY_MS) return;
  lastSweep = now;
  try {
    await sweepUnsent(env.EVENTS, store, now);
  } catch (error) {
    log('warn', 'events.sweep_failed', { message: describe(error) });
  }
}

/** Messages the main queue gave up on: the row keeps the last error and becomes `failed`. */
export async function consumeDeadLetters(batch: MessageBatch<EventMessage>, env: Env): Promise<void> {
  const store = createEventStore(env.DB);
  for (const message of batch.messages) {
    const eventId = message.body?.eventId;
    if (typeof eventId === 'number') {
      await store.markFailed(eventId, `gave up after ${MAX_RETRIES + 1} attempts`, Date.now());
      log('error', 'events.failed', { eventId });
    }
    message.ack();
  }
}
