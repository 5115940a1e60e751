/**
 * @module
 * Starting an org sync for one app, from the admin route or the scheduled job.
 */
import type { Config, WeComApp } from '../env.ts';
import type { Env } from '../bindings.ts';
import { wecomClientFor } from '../wecom/tokens.ts';
import { createOrgSyncLog, runOrgSync, type OrgSyncRun } from './org-sync.ts';
import { createUserRepo } from './users.ts';

export async function startOrgSync(
  env: Env,
  config: Config,
  app: WeComApp,
  trigger: OrgSyncRun['trigger'],
  startedBy: string | null,
): Promise<{ run: OrgSyncRun; alreadyRunning: boolean; finished: Promise<OrgSyncRun> | undefined }> {
  const syncLog = createOrgSyncLog(env.DB, app);
  const { run, alreadyRunning } = await syncLog.start(trigger, startedBy, Date.now());
  if (alreadyRunning) return { run, alreadyRunning, finished: undefined };
  const finished = runOrgSync(
    { ...run },
    {
      app,
      client: wecomClientFor(env, config, app),
      users: createUserRepo(env.DB),
      log: syncLog,
      policy: { defaultRole: config.defaultRole, adminUserIds: config.adminUserIds, reactivate: true },
    },
  );
  return { run, alreadyRunning, finished };
}
