/**
 * @module
 * Starting an org sync for one app, from the admin route, the scheduled job or the first sync.
 */
import { startRun, type StartedRun } from '../jobs/runs.ts';
import type { AppServices } from '../services.ts';
import type { OrgSyncCounts, OrgSyncRun } from './org-sync.ts';

export function orgSyncPolicy({ config }: Pick<AppServices, 'config'>) {
  return { defaultRole: config.defaultRole, adminUserIds: config.adminUserIds, reactivate: true };
}

/** `thenReconcile`: the daily run, whose reconciliation needs the members the sync brings. */
export function startOrgSync(services: AppServices, trigger: OrgSyncRun['trigger'], startedBy: string | null, thenReconcile = false): Promise<StartedRun<OrgSyncCounts>> {
  return startRun(services.orgSyncLog, services.orgSyncJobs, trigger, startedBy, thenReconcile ? 'reconcile' : undefined);
}
