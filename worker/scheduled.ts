/**
 * @module
 * Cron jobs (see `[triggers]` in wrangler.toml). Every trigger prunes the event log and the built-in
 * CRM's idempotency keys past their retention and retries pending CRM writes; the daily one then runs, for every configured app,
 * the org sync and the contact reconciliation (which needs the members the sync brings).
 */
import { CRM_IDEMPOTENCY_RETENTION_MS, pruneIdempotencyKeys } from './crm/builtin.ts';
import { configOf } from './env.ts';
import type { Env } from './bindings.ts';
import { startReconcile } from './contacts/jobs.ts';
import { sweepUnsent } from './events/dispatch.ts';
import { EVENT_RETENTION_MS, createEventStore } from './events/store.ts';
import { startOrgSync } from './identity/services.ts';
import { log } from './log.ts';
import { appServices } from './services.ts';

/** Hourly, prune only: each run then deletes about an hour's worth of rows, in small statements. */
export const PRUNE_CRON = '17 * * * *';
const PRUNE_BATCH = 500;
// 10,000 rows of each table per run; anything left goes on the next run.
const PRUNE_MAX_BATCHES = 20;

export async function pruneStorage(db: D1Database, now: number): Promise<void> {
  const started = Date.now();
  const events = await createEventStore(db).pruneSettled(now - EVENT_RETENTION_MS, PRUNE_BATCH, PRUNE_MAX_BATCHES);
  const idempotencyKeys = await pruneIdempotencyKeys(db, now - CRM_IDEMPOTENCY_RETENTION_MS, PRUNE_BATCH, PRUNE_MAX_BATCHES);
  log('info', 'scheduled.pruned', { events, idempotencyKeys, ms: Date.now() - started });
}

/**
 * `now` is the trigger's scheduled time (epoch ms). The jobs run on Workflows (jobs/workflows.ts):
 * this only starts them.
 */
export async function runScheduledJobs(cron: string, env: Env, now: number): Promise<void> {
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
