/**
 * @module
 * Cron jobs (see `[triggers]` in wrangler.toml): the daily org sync for every configured app.
 */
import { configOf, type Env } from './env.ts';
import { startOrgSync } from './identity/services.ts';
import { log } from './log.ts';

export async function runScheduledJobs(cron: string, env: Env): Promise<void> {
  const config = configOf(env);
  if (!config.ok) {
    log('error', 'scheduled.config_incomplete', { cron, problems: config.problems.join('; ') });
    return;
  }
  for (const app of config.config.apps) {
    const started = await startOrgSync(env, config.config, app, 'scheduled', null);
    if (started.finished) await started.finished;
  }
}
