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
 * and the cursor to the next page, which the step returns), which records the page's relationships
 * in a few set-wise D1 statements and returns the contacts nobody bound yet; steps of
 * `BINDS_PER_STEP` of those bind or create their customers; when tag groups are mapped, steps of
 * `BINDS_PER_STEP` contacts set the mapped CRM fields; after a group's last page, one step
 * ends the relationships of that group WeCom no longer shows (those no page of this run listed,
 * as recorded in D1). Every step stays within a D1 query budget (jobs/steps.ts), since an
 * invocation may run only so many. Nothing a later page needs is kept in memory, so after its
 * share of steps an instance hands the run to the next one between any two pages.
 */
import type { Crm } from '../crm/port.ts';
import type { WeComApp } from '../env.ts';
import { createRunLog, recordFailure, type JobRun, type RunLog } from '../jobs/runs.ts';
import { fatal, runJob, STEP_METER, transient, type JobSteps } from '../jobs/steps.ts';
import type { WeComClient } from '../wecom/client.ts';
import type { BatchByUserReply } from '../wecom/replies.ts';
import { autoBind } from './auto-bind.ts';
import { remarkChanges } from '../tags/diff.ts';
import type { MappedSync } from '../tags/mappings.ts';
import { contactProfile, type ProfileCache } from './profile.ts';
import type { ContactStore, NewTouchpoint } from './store.ts';

/** WeCom takes at most 100 userids per batch call, and at most 100 contacts per page. */
export const USERS_PER_CALL = 100;
export const PAGE_LIMIT = 100;
/**
 * Binding a contact nobody bound yet takes up to a dozen D1 queries (CRM lookups by unionid and
 * mobile, the new customer, the binding, its touchpoint): 25 a step keeps a step near 300.
 */
export const BINDS_PER_STEP = 25;
/**
 * With an HTTP CRM, binding a contact makes up to 14 CRM calls (finds by unionid and by up to 5
 * mobiles, a create, each tried twice: crm/http.ts), and writing a customer's mapped fields up to
 * 9 (a read and a write, again if the customer changed meanwhile, each tried twice, and the tag
 * library): a step starts another contact only while that many subrequests are left, so steps stay
 * inside the budget (jobs/steps.ts) and take fewer contacts. The built-in CRM makes none.
 */
export const CRM_CALLS_TO_BIND = 14;
export const CRM_CALLS_TO_SYNC_FIELDS = 9;

type PageRow = BatchByUserReply['external_contact_list'][number];

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

/** Where a run goes on in its next Workflow instance (jobs/steps.ts `handOver`). */
export interface ReconcileResume {
  /** The group of members in progress, and the cursor of its next page ('' for its first). */
  group: Group;
}

/** Up to USERS_PER_CALL members paged through together. */
interface Group {
  userids: string[];
  cursor: string;
  /** False once a page of the group could not be read: its ended relationships are not judged. */
  complete: boolean;
}

/**
 * Runs one reconciliation to the end in `steps`, recording progress on the run; never throws.
 * After its share of steps an instance hands the run over between two pages (`resume`).
 */
export async function reconcile(start: ReconcileRun, deps: ReconcileDeps, steps: JobSteps<ReconcileCounts>, resume?: ReconcileResume): Promise<ReconcileRun> {
  const now = deps.now ?? Date.now;
  const { app, client, store, log } = deps;
  const corpId = app.corpId;
  return runJob(start, log, steps, app, async (first) => {
    const listed = await steps.do('members', async () => {
      const run = structuredClone(first);
      const { follow_user: all } = await client.getFollowUserList().catch(fatal);
      // In userid order, so the next instance knows the members still to do: those after the group it is handed.
      const after = resume?.group.userids.at(-1);
      const members = [...new Set(all)].sort().filter((userid) => after === undefined || userid > after);
      run.phase = 'contacts';
      run.total = run.done + (resume?.group.userids.length ?? 0) + members.length;
      return { run, members, mapped: await deps.mappedSync.active() };
    });
    const { members, mapped } = listed;
    let run = listed.run;
    const groups: Group[] = resume ? [resume.group] : [];
    for (let offset = 0; offset < members.length; offset += USERS_PER_CALL) {
      groups.push({ userids: members.slice(offset, offset + USERS_PER_CALL), cursor: '', complete: true });
    }

    for (const [index, { userids: chunk, ...position }] of groups.entries()) {
      const group = index + 1;
      let { cursor, complete } = position;
      for (let page = 1; ; page++) {
        if (steps.spent()) return steps.handOver(run, { group: { userids: chunk, cursor, complete } } satisfies ReconcileResume);
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
            return { run: next, cursor: '', complete: false, unbound: [] as PageRow[], contacts: [] as string[] };
          }
          const rows = reply.external_contact_list;
          const bound = new Map((await store.bindings(corpId, [...new Set(rows.map((row) => row.external_contact.external_userid))])).map((b) => [b.externalUserId, b.customerId]));
          const added = await store.followsActive(
            corpId,
            rows.map(({ external_contact: contact, follow_info: follow }) => ({ externalUserId: contact.external_userid, userid: follow.userid, addedAt: follow.createtime * 1000 })),
            now(),
          );
          await store.addTouchpoints(
            corpId,
            added.map((follow) => ({
              externalUserId: follow.externalUserId,
              customerId: bound.get(follow.externalUserId) ?? null,
              kind: 'contact_added',
              at: follow.addedAt ?? now(),
              actorUserid: follow.userid,
              detail: { reason: 'reconciled' },
              sourceKey: `reconcile-add:${follow.externalUserId}:${follow.userid}:${(follow.addedAt ?? 0) / 1000}`,
            })),
          );
          next.counts.followsAdded += added.length;
          // Also marks the page's relationships as listed by this run (see the `ended` step).
          await store.followsTags(
            corpId,
            rows.map(({ external_contact: contact, follow_info: follow }) => ({ externalUserId: contact.external_userid, userid: follow.userid, tagIds: follow.tag_id ?? [] })),
            next.startedAt,
          );
          // WeCom sends no event when only the remark mobiles change: a cached profile that differs is dropped, and the change recorded.
          const edits: NewTouchpoint[] = [];
          // One cache read per contact, however many of the page's rows follow it.
          const cached = new Map<string, ReturnType<ProfileCache['get']>>();
          for (const { external_contact: contact, follow_info: follow } of rows) {
            if (!cached.has(contact.external_userid)) cached.set(contact.external_userid, deps.profiles.get(corpId, contact.external_userid));
            const was = (await cached.get(contact.external_userid))?.followUsers.find((f) => f.userid === follow.userid);
            const is = contactProfile(contact, [follow], now()).followUsers[0];
            const changes = was && is ? remarkChanges(was, is) : [];
            if (changes.length === 0) continue;
            await deps.profiles.drop(corpId, contact.external_userid);
            edits.push({
              externalUserId: contact.external_userid,
              customerId: bound.get(contact.external_userid) ?? null,
              kind: 'contact_edited',
              at: now(),
              actorUserid: follow.userid,
              detail: { changes, reason: 'reconciled' },
              sourceKey: `reconcile-edit:${contact.external_userid}:${follow.userid}:${next.id}`,
            });
          }
          await store.addTouchpoints(corpId, edits);
          // Contacts nobody bound yet, once each with the first member seen following them: bound in the next steps.
          const unbound = new Map<string, PageRow>();
          for (const row of rows) {
            const id = row.external_contact.external_userid;
            if (!bound.has(id) && !unbound.has(id)) unbound.set(id, row);
          }
          const contacts = [...new Set(rows.map((row) => row.external_contact.external_userid))];
          return { run: next, cursor: reply.next_cursor || '', complete: true, unbound: [...unbound.values()], contacts };
        });
        run = result.run;
        if (!result.complete) complete = false;
        for (let offset = 0, part = 1; offset < result.unbound.length; part++) {
          const slice = result.unbound.slice(offset, offset + BINDS_PER_STEP);
          const before = run;
          const bound = await steps.do(`bind ${group}.${page}.${part}`, async () => {
            const next = structuredClone(before);
            let taken = 0;
            for (const { external_contact: contact, follow_info: follow } of slice) {
              if (taken > 0 && steps.subrequestsLeft() < CRM_CALLS_TO_BIND) break;
              taken += 1;
              try {
                const profile = contactProfile(contact, [follow], now());
                const outcome = (await autoBind(profile, follow.userid, { corpId, crm: deps.crm, store, autoCreate: deps.autoCreate, now: now() })).outcome;
                if (outcome === 'created') next.counts.customersCreated += 1;
                if (outcome === 'created' || outcome === 'bound_by_mobile' || outcome === 'bound_by_unionid') next.counts.bindingsAdded += 1;
              } catch (error) {
                recordFailure(next, `contact ${contact.external_userid} of ${follow.userid}`, error);
              }
            }
            return { run: next, taken };
          });
          run = bound.run;
          offset += bound.taken;
        }
        // A contact whose other followers come on a later page is written again then, ending equal.
        for (let offset = 0, part = 1; mapped && offset < result.contacts.length; part++) {
          const slice = result.contacts.slice(offset, offset + BINDS_PER_STEP);
          const before = run;
          const synced = await steps.do(`fields ${group}.${page}.${part}`, async () => {
            const next = structuredClone(before);
            let taken = 0;
            for (const externalUserId of slice) {
              if (taken > 0 && steps.subrequestsLeft() < CRM_CALLS_TO_SYNC_FIELDS) break;
              taken += 1;
              const [sync] = await deps.mappedSync.syncContacts([externalUserId], 'system:reconcile');
              if (sync?.status === 'pending') recordFailure(next, `CRM fields of contact ${externalUserId}`, new Error(sync.reason ?? 'kept to retry'));
            }
            return { run: next, taken };
          });
          run = synced.run;
          offset += synced.taken;
        }
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
          const missing = await store.unlistedFollows(corpId, chunk, next.startedAt);
          const endedFollows = await store.followsEnded(corpId, missing, now(), now());
          const bound = new Map((await store.bindings(corpId, [...new Set(endedFollows.map((f) => f.externalUserId))])).map((b) => [b.externalUserId, b.customerId]));
          await store.addTouchpoints(
            corpId,
            endedFollows.map((follow) => ({
              externalUserId: follow.externalUserId,
              customerId: bound.get(follow.externalUserId) ?? null,
              kind: 'contact_deleted',
              at: now(),
              actorUserid: follow.userid,
              detail: { reason: 'reconciled' },
              sourceKey: `reconcile-end:${follow.externalUserId}:${follow.userid}:${next.id}`,
            })),
          );
          next.counts.followsEnded += endedFollows.length;
        }
        next.done += chunk.length;
        return { run: next };
      });
      run = ended.run;
    }
    return run;
  });
}
