/**
 * @module
 * Cron jobs (see `[triggers]` in wrangler.toml): daily, for every configured app, the org sync
 * and then the contact reconciliation (which needs the members the sync brings).
 */
import { configOf, type Env } from './env.ts';
import { startReconcile } from './contacts/jobs.ts';
import { startOrgSync } from './identity/services.ts';
import { log } from './log.ts';

export async function runScheduledJobs(cron: string, env: Env): Promise<void> {
  const config = configOf(env);
  if (!config.ok) {
    log('error', 'scheduled.config_incomplete', { cron, problems: config.problems.join('; ') });
    return;
  }
  for (const app of config.config.apps) {
    const synced = await startOrgSync(env, config.config, app, 'scheduled', null);
    if (synced.finished) await synced.finished;
    const reconciled = await startReconcile(env, config.config, app, 'scheduled', null);
    if (reconciled.finished) await reconciled.finished;
  }
}
