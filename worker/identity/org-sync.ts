/**
 * @module
 * Org sync: departments and members from WeCom into this product's tables, as a job run
 * (jobs/runs.ts) an admin can watch. Members who are gone are deactivated (which ends their
 * sessions), never deleted.
 */
import type { WeComApp } from '../env.ts';
import { completeRun, createRunLog, recordFailure, type JobRun, type RunLog } from '../jobs/runs.ts';
import type { WeComClient, WeComUser } from '../wecom/client.ts';
import { memberFacts, type ProvisionPolicy, type UserRepo } from './users.ts';

export const ORG_SYNC_COUNTS = { created: 0, updated: 0, deactivated: 0 };
export type OrgSyncCounts = typeof ORG_SYNC_COUNTS;
export type OrgSyncRun = JobRun<OrgSyncCounts>;

export function createOrgSyncLog(db: D1Database, app: Pick<WeComApp, 'corpId' | 'agentId'>): RunLog<OrgSyncCounts> {
  return createRunLog(db, 'org_sync', app, ORG_SYNC_COUNTS);
}

export interface OrgSyncDeps {
  app: WeComApp;
  client: WeComClient;
  users: UserRepo;
  log: RunLog<OrgSyncCounts>;
  policy: Omit<ProvisionPolicy, 'now'>;
  now?: () => number;
}

/** Runs one sync to the end, recording progress on `run`; never throws. */
export async function runOrgSync(run: OrgSyncRun, deps: OrgSyncDeps): Promise<OrgSyncRun> {
  const now = deps.now ?? Date.now;
  const { app, client, users } = deps;
  return completeRun(run, deps.log, app, async () => {
    run.phase = 'departments';
    const { department: departments } = await client.listDepartments();
    run.total = departments.length;
    for (const department of departments) {
      try {
        await users.upsertDepartment(app.corpId, { id: department.id, name: department.name, parentId: department.parentid, order: department.order }, now());
      } catch (error) {
        recordFailure(run, `department ${department.id}`, error);
      }
      run.done += 1;
    }
    await deps.log.save(run);

    run.phase = 'members';
    run.done = 0;
    const members = new Map<string, WeComUser>();
    let listingComplete = true;
    for (const department of departments) {
      try {
        const { userlist } = await client.listUsers(department.id);
        for (const member of userlist) members.set(member.userid, member);
      } catch (error) {
        listingComplete = false;
        recordFailure(run, `members of department ${department.id}`, error);
      }
      run.done += 1;
      await deps.log.save(run);
    }
    if (members.size === 0) {
      // Deactivating everyone because WeCom showed us no one would lock the whole company out.
      throw new Error("WeCom returned no members: the app's visible range (可见范围) is empty or excludes every department. Widen it in the admin console, then sync again.");
    }

    run.phase = 'users';
    run.done = 0;
    run.total = members.size;
    for (const member of members.values()) {
      try {
        const { outcome } = await users.upsertMember(app.corpId, memberFacts(member), { ...deps.policy, now: now() });
        if (outcome === 'created') run.counts.created += 1;
        else if (outcome === 'updated') run.counts.updated += 1;
      } catch (error) {
        recordFailure(run, `member ${member.userid}`, error);
      }
      run.done += 1;
      if (run.done % 50 === 0) await deps.log.save(run);
    }

    run.phase = 'deactivating';
    if (!listingComplete) {
      run.failures.push({ subject: 'deactivation', reason: 'skipped: some departments could not be listed, so absent members may only be unlisted' });
      return;
    }
    for (const user of await users.list(app.corpId)) {
      if (user.status !== 'active' || !user.wecomUserId || members.has(user.wecomUserId)) continue;
      try {
        await users.deactivate(app.corpId, user.wecomUserId, now());
        run.counts.deactivated += 1;
      } catch (error) {
        recordFailure(run, `member ${user.wecomUserId}`, error);
      }
    }
  }, now);
}

