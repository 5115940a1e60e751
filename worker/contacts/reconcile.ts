/**
 * @module
 * Reconciliation: callbacks can be missed (the worker was down, WeCom gave up retrying), so a
 * scheduled job and an admin action page through `externalcontact/batch/get_by_user` for every
 * member with customer contact, and repair relationships, touchpoints and bindings until D1 agrees
 * with WeCom. Each run is a job run (jobs/runs.ts) an admin can watch.
 */
import type { Crm } from '../crm/port.ts';
import type { WeComApp } from '../env.ts';
import { completeRun, createRunLog, recordFailure, type JobRun, type RunLog } from '../jobs/runs.ts';
import type { WeComClient } from '../wecom/client.ts';
import { autoBind } from './auto-bind.ts';
import { contactProfile } from './profile.ts';
import type { ContactStore } from './store.ts';

/** WeCom takes at most 100 userids per batch call, and at most 100 contacts per page. */
const USERS_PER_CALL = 100;
const PAGE_LIMIT = 100;

export const RECONCILE_COUNTS = { followsAdded: 0, followsEnded: 0, bindingsAdded: 0, customersCreated: 0 };
export type ReconcileCounts = typeof RECONCILE_COUNTS;
export type ReconcileRun = JobRun<ReconcileCounts>;

export function createReconcileLog(db: D1Database, app: Pick<WeComApp, 'corpId' | 'agentId'>): RunLog<ReconcileCounts> {
  return createRunLog(db, 'reconcile', app, RECONCILE_COUNTS);
}

export interface ReconcileDeps {
  app: WeComApp;
  client: WeComClient;
  crm: Crm;
  store: ContactStore;
  log: RunLog<ReconcileCounts>;
  autoCreate: boolean;
  now?: () => number;
}

/** Runs one reconciliation to the end, recording progress on `run`; never throws. */
export async function reconcile(run: ReconcileRun, deps: ReconcileDeps): Promise<ReconcileRun> {
  const now = deps.now ?? Date.now;
  const { app, client, store } = deps;
  const corpId = app.corpId;
  return completeRun(run, deps.log, app, async () => {
    run.phase = 'members';
    const { follow_user: members } = await client.getFollowUserList();
    run.total = members.length;
    await deps.log.save(run);
    const seen = new Set<string>();
    let complete = true;

    run.phase = 'contacts';
    for (let offset = 0; offset < members.length; offset += USERS_PER_CALL) {
      const chunk = members.slice(offset, offset + USERS_PER_CALL);
      let cursor: string | undefined;
      try {
        do {
          const page = await client.batchGetExternalContactsByUser({ userid_list: chunk, limit: PAGE_LIMIT, ...(cursor ? { cursor } : {}) });
          for (const { external_contact: contact, follow_info: follow } of page.external_contact_list) {
            const externalUserId = contact.external_userid;
            seen.add(`${externalUserId}|${follow.userid}`);
            try {
              const addedAt = follow.createtime * 1000;
              if (await store.followActive(corpId, externalUserId, follow.userid, addedAt, now())) {
                run.counts.followsAdded += 1;
                await store.addTouchpoint(corpId, {
                  externalUserId,
                  customerId: (await store.binding(corpId, externalUserId))?.customerId ?? null,
                  kind: 'contact_added',
                  at: addedAt,
                  actorUserid: follow.userid,
                  summary: 'reconciled',
                  sourceKey: `reconcile-add:${externalUserId}:${follow.userid}:${follow.createtime}`,
                });
              }
              const profile = contactProfile(contact, [follow], now());
              const bound = await autoBind(profile, follow.userid, { corpId, crm: deps.crm, store, autoCreate: deps.autoCreate, now: now() });
              if (bound.outcome === 'created') run.counts.customersCreated += 1;
              if (bound.outcome === 'created' || bound.outcome === 'bound_by_mobile' || bound.outcome === 'bound_by_unionid') run.counts.bindingsAdded += 1;
            } catch (error) {
              recordFailure(run, `contact ${externalUserId} of ${follow.userid}`, error);
            }
          }
          cursor = page.next_cursor || undefined;
        } while (cursor);
      } catch (error) {
        complete = false;
        recordFailure(run, `members ${chunk.join(',')}`, error);
      }
      run.done = Math.min(members.length, offset + chunk.length);
      await deps.log.save(run);
    }

    run.phase = 'ended';
    if (!complete) {
      run.failures.push({ subject: 'ended relationships', reason: 'skipped: some members could not be listed, so a missing contact may only be unlisted' });
    } else {
      for (const follow of await store.activeFollowsOfMembers(corpId, members)) {
        if (seen.has(`${follow.externalUserId}|${follow.userid}`)) continue;
        await store.followEnded(corpId, follow.externalUserId, follow.userid, now(), now());
        await store.addTouchpoint(corpId, {
          externalUserId: follow.externalUserId,
          customerId: (await store.binding(corpId, follow.externalUserId))?.customerId ?? null,
          kind: 'contact_deleted',
          at: now(),
          actorUserid: follow.userid,
          summary: 'reconciled',
          sourceKey: `reconcile-end:${follow.externalUserId}:${follow.userid}:${run.id}`,
        });
        run.counts.followsEnded += 1;
      }
    }
  }, now);
}
