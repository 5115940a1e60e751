/**
 * @module
 * Org sync: departments and members from WeCom into this product's tables, as a job run
 * (jobs/runs.ts) an admin can watch, in durable steps (jobs/steps.ts). Members who are gone are
 * deactivated (which ends their sessions), never deleted.
 *
 * Steps: the department list (one call); then the members of DEPARTMENTS_PER_STEP departments per
 * step (one `user/list` each: the app's own secret reads its visible range, and `user/list` is
 * not recursive, so every department is listed), each followed by steps writing MEMBERS_PER_STEP of
 * the members it found; then the deactivations. After its share of steps an instance hands the run
 * to the next one before a listing.
 */
import type { WeComApp } from '../env.ts';
import { createRunLog, recordFailure, type JobRun, type RunLog } from '../jobs/runs.ts';
import { fatal, runJob, STEP_METER, transient, type JobSteps } from '../jobs/steps.ts';
import type { WeComClient } from '../wecom/client.ts';
import type { WeComUser } from '../wecom/replies.ts';
import { memberChanges, memberFacts, type ProvisionPolicy, type UserRepo } from './users.ts';

export const ORG_SYNC_COUNTS = { created: 0, updated: 0, deactivated: 0, ...STEP_METER };
export type OrgSyncCounts = typeof ORG_SYNC_COUNTS;
export type OrgSyncRun = JobRun<OrgSyncCounts>;

/** 10 `user/list` calls a step (at most 3 tries each, and one token refresh): well inside 50 subrequests. */
export const DEPARTMENTS_PER_STEP = 10;
/**
 * Members written a step: a new member takes about seven D1 queries (lookups, the row, role and
 * departments, the read back), so 50 keep a step near 350 of the queries an invocation may run.
 */
export const MEMBERS_PER_STEP = 50;
/** Two queries each. */
export const DEACTIVATIONS_PER_STEP = 200;

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

/**
 * Where a sync goes on in its next Workflow instance (jobs/steps.ts `handOver`): the departments
 * still to list, the members already written (and so not to deactivate), and whether every listing
 * so far succeeded. Members are userids of up to 64 bytes: a corp of 10,000 is about 200 KB of the
 * 1 MiB an instance's parameters may hold.
 */
export interface OrgSyncResume {
  departmentIds: number[];
  seen: string[];
  complete: boolean;
}

/**
 * Runs one sync to the end in `steps`, recording progress on the run; never throws. After its
 * share of steps an instance hands the run to the next one between two listings (`resume`).
 */
export async function runOrgSync(start: OrgSyncRun, deps: OrgSyncDeps, steps: JobSteps<OrgSyncCounts>, resume?: OrgSyncResume): Promise<OrgSyncRun> {
  const now = deps.now ?? Date.now;
  const { app, client, users, log } = deps;
  return runJob(start, log, steps, app, async (first) => {
    // A next instance goes on with the departments the first one listed (and wrote).
    const listed = resume ? { run: first, ids: resume.departmentIds } : await steps.do('departments', async () => {
      const run = structuredClone(first);
      run.phase = 'departments';
      const departments = await client.listDepartments().then((reply) => reply.department, fatal);
      run.total = departments.length;
      for (const department of departments) {
        try {
          await users.upsertDepartment(app.corpId, { id: department.id, name: department.name, parentId: department.parentid, order: department.order }, now());
        } catch (error) {
          recordFailure(run, `department ${department.id}`, error);
        }
        run.done += 1;
      }
      run.phase = 'members';
      run.done = 0;
      return { run, ids: departments.map((d) => d.id) };
    });

    let run = listed.run;
    const seen = new Set<string>(resume?.seen);
    let listingComplete = resume?.complete ?? true;
    // Progress counts departments listed, across instances.
    const listedBefore = run.done;
    for (let offset = 0; offset < listed.ids.length; offset += DEPARTMENTS_PER_STEP) {
      if (steps.spent()) return steps.handOver(run, { departmentIds: listed.ids.slice(offset), seen: [...seen], complete: listingComplete } satisfies OrgSyncResume);
      const ids = listed.ids.slice(offset, offset + DEPARTMENTS_PER_STEP);
      const before = run;
      const result = await steps.do(`members ${offset / DEPARTMENTS_PER_STEP + 1}`, async () => {
        const next = structuredClone(before);
        // Every call first, then the writes: a step retried after a rate limit has written nothing yet.
        const members = new Map<string, WeComUser>();
        let complete = true;
        for (const id of ids) {
          try {
            for (const member of (await client.listUsers(id)).userlist) members.set(member.userid, member);
          } catch (error) {
            if (transient(error)) fatal(error);
            complete = false;
            recordFailure(next, `members of department ${id}`, error);
          }
        }
        // A member of several departments is written once, by the steps after the first listing that meets them.
        const facts = [...members.values()].filter((member) => !seen.has(member.userid)).map(memberFacts);
        next.done = listedBefore + Math.min(listed.ids.length, offset + ids.length);
        return { run: next, facts, complete };
      });
      run = result.run;
      for (const { userid } of result.facts) seen.add(userid);
      if (!result.complete) listingComplete = false;
      for (let from = 0; from < result.facts.length; from += MEMBERS_PER_STEP) {
        const slice = result.facts.slice(from, from + MEMBERS_PER_STEP);
        const before = run;
        run = (
          await steps.do(`members ${offset / DEPARTMENTS_PER_STEP + 1}.${from / MEMBERS_PER_STEP + 1}`, async () => {
            const next = structuredClone(before);
            // One query finds who is known already; only new and changed members cost writes.
            const known = await users.findManyByWecomId(app.corpId, slice.map((f) => f.userid));
            for (const member of slice) {
              const existing = known.get(member.userid);
              if (existing && !memberChanges(existing, member).changed) continue;
              try {
                const { outcome } = await users.upsertMember(app.corpId, member, { ...deps.policy, now: now() });
                if (outcome === 'created') next.counts.created += 1;
                else if (outcome === 'updated') next.counts.updated += 1;
              } catch (error) {
                recordFailure(next, `member ${member.userid}`, error);
              }
            }
            return { run: next };
          })
        ).run;
      }
    }
    if (seen.size === 0) {
      // Deactivating everyone because WeCom showed us no one would lock the whole company out.
      throw new Error("WeCom returned no members: the app's visible range (可见范围) is empty or excludes every department. Widen it in the admin console, then sync again.");
    }

    const listedRun = run;
    const absent = await steps.do('deactivating', async () => {
      const next = structuredClone(listedRun);
      next.phase = 'deactivating';
      if (!listingComplete) {
        next.failures.push({ subject: 'deactivation', reason: 'skipped: some departments could not be listed, so absent members may only be unlisted' });
        return { run: next, userids: [] as string[] };
      }
      const userids = (await users.list(app.corpId)).flatMap((user) => (user.status === 'active' && user.wecomUserId && !seen.has(user.wecomUserId) ? [user.wecomUserId] : []));
      return { run: next, userids };
    });
    run = absent.run;
    for (let from = 0; from < absent.userids.length; from += DEACTIVATIONS_PER_STEP) {
      const slice = absent.userids.slice(from, from + DEACTIVATIONS_PER_STEP);
      const before = run;
      run = (
        await steps.do(`deactivating ${from / DEACTIVATIONS_PER_STEP + 1}`, async () => {
          const next = structuredClone(before);
          for (const userid of slice) {
            try {
              if (await users.deactivate(app.corpId, userid, now())) next.counts.deactivated += 1;
            } catch (error) {
              recordFailure(next, `member ${userid}`, error);
            }
          }
          return { run: next };
        })
      ).run;
    }
    return run;
  });
}
