/**
 * @module
 * A fresh deployment (and `npm run dev`) runs its first org sync by itself, so the sidebar shows
 * members' names from its first open instead of userids. The first request an isolate serves asks
 * D1 once whether each configured app ever had an org sync run; for one that never had, it starts
 * one. Later requests in the isolate cost nothing. Reconciliation is left to an admin and the daily
 * cron: with AUTO_CREATE_CUSTOMERS it creates customers, which a new deployment should not do unasked. A first sync that
 * fails is not retried here (each new isolate would start another): it stays on the admin page, and
 * the daily cron runs the next one. `FIRST_SYNC=off` turns this off (the worker tests do).
 */
import type { Env } from '../bindings.ts';
import { configOf } from '../env.ts';
import { startOrgSync } from '../identity/services.ts';
import { log } from '../log.ts';
import { appServices } from '../services.ts';

let checked = false;

/** Once per isolate, in the background of the request that brought it up. */
export function firstSyncOnce(env: Env, ctx: Pick<ExecutionContext, 'waitUntil'>): void {
  if (checked) return;
  checked = true;
  if ((env.FIRST_SYNC ?? 'on').toLowerCase() === 'off') return;
  ctx.waitUntil(
    startFirstSyncs(env).catch((error: unknown) => {
      // Let the next isolate try again.
      checked = false;
      log('error', 'first_sync.failed', { message: String(error) });
    }),
  );
}

/** Starts an org sync for every configured app that never had one; answers how many started. */
export async function startFirstSyncs(env: Env): Promise<number> {
  const config = configOf(env);
  if (!config.ok) return 0;
  let started = 0;
  for (const app of config.config.apps) {
    const ever = await env.DB.prepare("SELECT 1 AS found FROM job_runs WHERE corp_id = ?1 AND agent_id = ?2 AND kind = 'org_sync' LIMIT 1")
      .bind(app.corpId, app.agentId)
      .first();
    if (ever) continue;
    const { run, alreadyRunning } = await startOrgSync(appServices(env, config.config, app), 'scheduled', null);
    if (!alreadyRunning) started++;
    log('info', 'first_sync.started', { corpId: app.corpId, agentId: app.agentId, id: run.id });
  }
  return started;
}
