/**
 * @module
 * One hop of an app's sending chain (chains.ts), with the bindings: hop 0 in the reminder cron
 * (scheduled.ts), every later one from the `app-messages` queue (index.ts). A hop meters its own
 * WeCom calls and D1 queries, records them on the chain, and hands on the next hop when work it may
 * do remains. Whatever fails, the outbox keeps every unsent message pending for the next cron.
 */
import type { Env } from '../bindings.ts';
import { configOf, findApp, type Config, type WeComApp } from '../env.ts';
import { countedD1 } from '../jobs/counted-d1.ts';
import { log } from '../log.ts';
import { appServices } from '../services.ts';
import { createChains, MAX_HOPS, type SendHop } from './chains.ts';
import type { ReminderRun } from './service.ts';

/** Runs `hop` for `app`; undefined when the hop is not this chain's to run (a repeat, or a newer chain took over). */
export async function runHop(env: Env, config: Config, app: WeComApp, hop: SendHop): Promise<ReminderRun | undefined> {
  const meter = { wecomCalls: 0, d1Queries: 0 };
  const countedFetch: typeof fetch = (input, init) => {
    meter.wecomCalls++;
    return fetch(input, init);
  };
  const db = countedD1(env.DB, meter);
  const chains = createChains(db, app);
  const started = Date.now();
  if (hop.hop === 0) await chains.start(hop.run, started);
  else if (!(await chains.advance(hop, started))) {
    log('info', 'notify.hop_dropped', { corpId: app.corpId, agentId: app.agentId, run: hop.run, hop: hop.hop });
    return undefined;
  }
  const run = await appServices({ ...env, DB: db }, config, app, { fetch: countedFetch }).notify.runReminders(hop.followUps);
  const handOn = run.more && hop.hop < MAX_HOPS;
  // Recorded before the hand-off, which the next hop may otherwise overtake. The record is one query more than the meter shows.
  await chains.record(hop.run, { sent: run.sent, ...meter }, handOn, Date.now());
  if (handOn) {
    try {
      await env.APP_MESSAGES.send({ ...hop, hop: hop.hop + 1 });
    } catch (error) {
      log('error', 'notify.hand_off_failed', { corpId: app.corpId, agentId: app.agentId, run: hop.run, hop: hop.hop, message: String(error) });
      await chains.record(hop.run, { sent: 0, wecomCalls: 0, d1Queries: 0 }, false, Date.now());
    }
  }
  log('info', 'notify.hop', { corpId: app.corpId, agentId: app.agentId, run: hop.run, hop: hop.hop, ...run, ...meter, handOn, ms: Date.now() - started });
  return run;
}

/** The `app-messages` consumer (`max_batch_size` 1): a failed hop is logged and dropped, never retried, since the next cron starts afresh. */
export async function consumeSendHops(batch: MessageBatch<SendHop>, env: Env): Promise<void> {
  const config = configOf(env);
  for (const message of batch.messages) {
    const hop = message.body;
    try {
      const app = config.ok ? findApp(config.config, hop.corpId, hop.agentId) : undefined;
      if (!config.ok || !app) throw new Error(`no app configured for ${hop.corpId}/${hop.agentId}`);
      await runHop(env, config.config, app, hop);
    } catch (error) {
      log('error', 'notify.hop_failed', { corpId: hop.corpId, agentId: hop.agentId, run: hop.run, hop: hop.hop, message: String(error) });
    }
    message.ack();
  }
}
