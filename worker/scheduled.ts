/**
 * @module
 * Cron jobs (see `[triggers]` in wrangler.toml). The hourly and daily triggers prune the event log,
 * the built-in CRM's idempotency keys and finished app messages past their retention, and retry pending
 * CRM writes; the daily one then runs, for every configured app, the org sync and the contact
 * reconciliation (which needs the members the sync brings). Every five minutes, off the hour and the
 * half hour (when WeCom's message delivery is busiest, docs/wecom.md §7.2), the reminder trigger sends
 * follow-up reminders and alerts left pending, as the first hop of a chain the `app-messages` queue
 * carries on (worker/notify/).
 */
import { CRM_IDEMPOTENCY_RETENTION_MS, pruneIdempotencyKeys } from './crm/builtin.ts';
import { PRUNE_CRON, REMINDER_CRON } from './crons.ts';
import { configOf } from './env.ts';
import type { Env } from './bindings.ts';
import { startReconcile } from './contacts/jobs.ts';
import { sweepUnsent } from './events/dispatch.ts';
import { EVENT_RETENTION_MS, createEventStore } from './events/store.ts';
import { startOrgSync } from './identity/services.ts';
import { log } from './log.ts';
import { runHop } from './notify/hops.ts';
import { APP_MESSAGE_RETENTION_MS, pruneAppMessages } from './notify/outbox.ts';
import { appServices } from './services.ts';

export { PRUNE_CRON, REMINDER_CRON };

/**
 * For every app: queue the follow-ups that fell due (one app per corp), then send what is due, as hop 0
 * of a chain that the `app-messages` queue carries on while work remains (notify/chains.ts).
 */
export async function runReminderJobs(env: Env): Promise<void> {
  const config = configOf(env);
  if (!config.ok) {
    log('error', 'scheduled.config_incomplete', { cron: REMINDER_CRON, problems: config.problems.join('; ') });
    return;
  }
  const corps = new Set<string>();
  const run = crypto.randomUUID();
  for (const app of config.config.apps) {
    const followUps = !corps.has(app.corpId);
    corps.add(app.corpId);
    try {
      await runHop(env, config.config, app, { corpId: app.corpId, agentId: app.agentId, run, hop: 0, followUps });
    } catch (error) {
      log('error', 'scheduled.reminders_failed', { corpId: app.corpId, agentId: app.agentId, message: String(error) });
    }
  }
}

const PRUNE_BATCH = 500;
// 10,000 rows of each table per run; anything left goes on the next run.
const PRUNE_MAX_BATCHES = 20;

export async function pruneStorage(db: D1Database, now: number): Promise<void> {
  const started = Date.now();
  const events = await createEventStore(db).pruneSettled(now - EVENT_RETENTION_MS, PRUNE_BATCH, PRUNE_MAX_BATCHES);
  const idempotencyKeys = await pruneIdempotencyKeys(db, now - CRM_IDEMPOTENCY_RETENTION_MS, PRUNE_BATCH, PRUNE_MAX_BATCHES);
  const appMessages = await pruneAppMessages(db, now - APP_MESSAGE_RETENTION_MS, PRUNE_BATCH, PRUNE_MAX_BATCHES);
  log('info', 'scheduled.pruned', { events, idempotencyKeys, appMessages, ms: Date.now() - started });
}

/**
 * `now` is the trigger's scheduled time (epoch ms). The jobs run on Workflows (jobs/workflows.ts):
 * this only starts them.
 */
export async function runScheduledJobs(cron: string, env: Env, now: number): Promise<void> {
  if (cron === REMINDER_CRON) return runReminderJobs(env);
  try {
    await pruneStorage(env.DB, now);
  } catch (error) {
    // The daily sync still runs; the next trigger prunes what this one left.
    log('error', 'scheduled.prune_failed', { cron, message: String(error) });
  }
  try {
    // Events recorded but never handed to the queue (worker/events/dispatch.ts), for a corp gone quiet.
    await sweepUnsent(env.EVENTS, createEventStore(env.DB), now);
  } catch (error) {
    log('error', 'scheduled.sweep_failed', { cron, message: String(error) });
  }
  const config = configOf(env);
  if (!config.ok) {
    log('error', 'scheduled.config_incomplete', { cron, problems: config.problems.join('; ') });
    return;
  }
  // CRM writes that WeCom's side already made necessary and that failed (worker/tags/mappings.ts).
  for (const app of config.config.apps) {
    try {
      const retried = await appServices(env, config.config, app).mappedSync.retryPending('system:scheduled');
      if (retried.applied + retried.pending > 0) log('info', 'scheduled.crm_writes_retried', { corpId: app.corpId, ...retried });
    } catch (error) {
      log('error', 'scheduled.crm_retry_failed', { cron, corpId: app.corpId, message: String(error) });
    }
  }
  if (cron === PRUNE_CRON) return;

  for (const app of config.config.apps) {
    const services = appServices(env, config.config, app);
    // The sync's Workflow starts the reconciliation when it succeeds; if a sync is already running
    // (an admin started one), reconciliation starts now instead.
    const synced = await startOrgSync(services, 'scheduled', null, true);
    if (synced.alreadyRunning) await startReconcile(services, 'scheduled', null);
  }
}
