/**
 * @module
 * Starting an org sync for one app, from the admin route or the scheduled job.
 */
import type { AppServices } from '../services.ts';
import { runOrgSync, type OrgSyncRun } from './org-sync.ts';

export async function startOrgSync(
  services: AppServices,
  trigger: OrgSyncRun['trigger'],
  startedBy: string | null,
): Promise<{ run: OrgSyncRun; alreadyRunning: boolean; finished: Promise<OrgSyncRun> | undefined }> {
  const { app, config, orgSyncLog } = services;
  const { run, alreadyRunning } = await orgSyncLog.start(trigger, startedBy, Date.now());
  if (alreadyRunning) return { run, alreadyRunning, finished: undefined };
  const finished = runOrgSync(
    { ...run },
    {
      app,
      client: services.wecom,
      users: services.users,
      log: orgSyncLog,
      policy: { defaultRole: config.defaultRole, adminUserIds: config.adminUserIds, reactivate: true },
    },
  );
  return { run, alreadyRunning, finished };
}
