/**
 * @module
 * Starting an org sync for one app, from the admin route or the scheduled job.
 */
import { startRun, type StartedRun } from '../jobs/runs.ts';
import type { AppServices } from '../services.ts';
import { runOrgSync, type OrgSyncCounts, type OrgSyncRun } from './org-sync.ts';

export function startOrgSync(services: AppServices, trigger: OrgSyncRun['trigger'], startedBy: string | null): Promise<StartedRun<OrgSyncCounts>> {
  const { app, config, orgSyncLog } = services;
  const policy = { defaultRole: config.defaultRole, adminUserIds: config.adminUserIds, reactivate: true };
  return startRun(orgSyncLog, trigger, startedBy, (run) => runOrgSync(run, { app, client: services.wecom, users: services.users, log: orgSyncLog, policy }));
}
