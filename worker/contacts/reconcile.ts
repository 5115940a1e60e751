/**
 * @module
 * Reconciliation: callbacks can be missed (the worker was down, WeCom gave up retrying), so a
 * scheduled job and an admin action page through `externalcontact/batch/get_by_user` for every
 * member with customer contact, and repair relationships, touchpoints and bindings until D1 agrees
 * with WeCom. Each run is a job run (jobs/runs.ts) an admin can watch, in durable steps
 * (jobs/steps.ts).
 *
 * Each relationship's corp tag ids are recorded as WeCom lists them, and a bound customer's CRM
 * fields mapped to tag groups are set from them (docs/tags.md); a remark-mobile change, which
 * WeCom announces with no event, is picked up here too.
 *
 * Steps: the member list (one call); then one step per page (one call: ≤100 members, ≤100 contacts,
 * and the cursor to the next page, which the step returns); after a group's last page, one step
 * ends the relationships of that group WeCom no longer shows.
 */
import type { Crm } from '../crm/port.ts';
import type { WeComApp } from '../env.ts';
import { createRunLog, recordFailure, type JobRun, type RunLog } from '../jobs/runs.ts';
import { fatal, runJob, STEP_METER, transient, type JobSteps } from '../jobs/steps.ts';
import type { WeComClient } from '../wecom/client.ts';
import { autoBind } from './auto-bind.ts';
import { contactProfile, type ProfileCache } from './profile.ts';
import { remarkChanges } from '../tags/diff.ts';
import type { ContactStore } from './store.ts';
import type { MappedSync } from '../tags/mappings.ts';

/** WeCom takes at most 100 userids per batch call, and at most 100 contacts per page. */
export const USERS_PER_CALL = 100;
export const PAGE_LIMIT = 100;

export const RECONCILE_COUNTS = { followsAdded: 0, followsEnded: 0, bindingsAdded: 0, customersCreated: 0, ...STEP_METER };
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
  mappedSync: MappedSync;
  profiles: ProfileCache;
  log: RunLog<ReconcileCounts>;
  autoCreate: boolean;
  now?: () => number;
}

/** Runs one reconciliation to the end in `steps`, recording progress on the run; never throws. */
export async function reconcile(start: ReconcileRun, deps: ReconcileDeps, steps: JobSteps<ReconcileCounts>): Promise<ReconcileRun> {
  const now = deps.now ?? Date.now;
  const { app, client, store, log } = deps;
  const corpId = app.corpId;
  return runJob(start, log, steps, app, async (first) => {
    const listed = await steps.do('members', async () => {
      const run = structuredClone(first);
      const { follow_user: members } = await client.getFollowUserList().catch(fatal);
      run.phase = 'contacts';
      run.total = members.length;
      return { run, members };
    });
    const { members } = listed;
    let run = listed.run;

    for (let offset = 0, group = 1; offset < members.length; offset += USERS_PER_CALL, group++) {
      const chunk = members.slice(offset, offset + USERS_PER_CALL);
      const seen = new Set<string>();
      let complete = true;
      let cursor = '';
      for (let page = 1; ; page++) {
        const before = run;
        const pageCursor = cursor;
        const result = await steps.do(`contacts ${group}.${page}`, async () => {
          const next = structuredClone(before);
          let reply;
          try {
            reply = await client.batchGetExternalContactsByUser({ userid_list: chunk, limit: PAGE_LIMIT, ...(pageCursor ? { cursor: pageCursor } : {}) });
          } catch (error) {
            if (transient(error)) fatal(error);
            recordFailure(next, `members ${chunk.join(',')}`, error);
            return { run: next, cursor: '', seen: [] as string[], complete: false };
          }
          const keys: string[] = [];
          const touched = new Set<string>();
          for (const { external_contact: contact, follow_info: follow } of reply.external_contact_list) {
            const externalUserId = contact.external_userid;
            keys.push(`${externalUserId}|${follow.userid}`);
            try {
              const addedAt = follow.createtime * 1000;
              if (await store.followActive(corpId, externalUserId, follow.userid, addedAt, now())) {
                next.counts.followsAdded += 1;
                await store.addTouchpoint(corpId, {
                  externalUserId,
                  customerId: (await store.binding(corpId, externalUserId))?.customerId ?? null,
                  kind: 'contact_added',
                  at: addedAt,
                  actorUserid: follow.userid,
                  detail: { reason: 'reconciled' },
                  sourceKey: `reconcile-add:${externalUserId}:${follow.userid}:${follow.createtime}`,
                });
              }
              await store.followTags(corpId, externalUserId, follow.userid, follow.tag_id ?? []);
              touched.add(externalUserId);
              const profile = contactProfile(contact, [follow], now());
              // WeCom sends no event when only the remark mobiles change: a cached profile that differs is dropped, and the change recorded.
              const was = (await deps.profiles.get(corpId, externalUserId))?.followUsers.find((f) => f.userid === follow.userid);
              const is = profile.followUsers[0];
              const changes = was && is ? remarkChanges(was, is) : [];
              if (changes.length > 0) {
                await deps.profiles.drop(corpId, externalUserId);
                await store.addTouchpoint(corpId, {
                  externalUserId,
                  customerId: (await store.binding(corpId, externalUserId))?.customerId ?? null,
                  kind: 'contact_edited',
                  at: now(),
                  actorUserid: follow.userid,
                  detail: { changes, reason: 'reconciled' },
                  sourceKey: `reconcile-edit:${externalUserId}:${follow.userid}:${next.id}`,
                });
              }
              const bound = await autoBind(profile, follow.userid, { corpId, crm: deps.crm, store, autoCreate: deps.autoCreate, now: now() });
              if (bound.outcome === 'created') next.counts.customersCreated += 1;
              if (bound.outcome === 'created' || bound.outcome === 'bound_by_mobile' || bound.outcome === 'bound_by_unionid') next.counts.bindingsAdded += 1;
            } catch (error) {
              recordFailure(next, `contact ${externalUserId} of ${follow.userid}`, error);
            }
          }
          // A contact whose other followers come on a later page is written again then, ending equal.
          const contacts = [...touched];
          const synced = await deps.mappedSync.syncContacts(contacts, 'system:reconcile');
          synced.forEach((result, i) => {
            if (result.status === 'pending') recordFailure(next, `CRM fields of contact ${contacts[i]}`, new Error(result.reason ?? 'kept to retry'));
          });
          return { run: next, cursor: reply.next_cursor || '', seen: keys, complete: true };
        });
        run = result.run;
        for (const key of result.seen) seen.add(key);
        if (!result.complete) complete = false;
        cursor = result.cursor;
        if (!cursor) break;
      }

      const before = run;
      const ended = await steps.do(`ended ${group}`, async () => {
        const next = structuredClone(before);
        next.phase = 'contacts';
        if (!complete) {
          next.failures.push({ subject: `ended relationships of members ${chunk[0]}…`, reason: 'skipped: these members could not be listed, so a missing contact may only be unlisted' });
        } else {
          for (const follow of await store.activeFollowsOfMembers(corpId, chunk)) {
            if (seen.has(`${follow.externalUserId}|${follow.userid}`)) continue;
            await store.followEnded(corpId, follow.externalUserId, follow.userid, now(), now());
            await store.addTouchpoint(corpId, {
              externalUserId: follow.externalUserId,
              customerId: (await store.binding(corpId, follow.externalUserId))?.customerId ?? null,
              kind: 'contact_deleted',
              at: now(),
              actorUserid: follow.userid,
              detail: { reason: 'reconciled' },
              sourceKey: `reconcile-end:${follow.externalUserId}:${follow.userid}:${next.id}`,
            });
            next.counts.followsEnded += 1;
          }
        }
        next.done = Math.min(members.length, offset + chunk.length);
        return { run: next };
      });
      run = ended.run;
    }
    return run;
  });
}
