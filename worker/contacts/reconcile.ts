/**
 * @module
 * Reconciliation: callbacks can be missed (the worker was down, WeCom gave up retrying), so a
 * scheduled job and an admin action page through `externalcontact/batch/get_by_user` for every
 * member with customer contact, and repair relationships, touchpoints and bindings until D1 agrees
 * with WeCom. Each run is a row in `reconcile_runs`, updated as it goes.
 */
import type { Crm } from '../crm/port.ts';
import type { WeComApp } from '../env.ts';
import { log } from '../log.ts';
import type { WeComClient } from '../wecom/client.ts';
import { WeComFailure } from '../wecom/errors.ts';
import { autoBind } from './auto-bind.ts';
import type { ContactProfile } from './profile.ts';
import type { ContactStore } from './store.ts';

/** WeCom takes at most 100 userids per batch call, and at most 100 contacts per page. */
const USERS_PER_CALL = 100;
const PAGE_LIMIT = 100;
const STALE_RUN_MS = 30 * 60 * 1000;

export interface ReconcileRun {
  id: number;
  trigger: 'manual' | 'scheduled';
  startedBy: string | null;
  status: 'running' | 'succeeded' | 'failed';
  phase: string;
  done: number;
  total: number;
  followsAdded: number;
  followsEnded: number;
  bindingsAdded: number;
  customersCreated: number;
  failed: number;
  failures: Array<{ subject: string; reason: string }>;
  error: string | null;
  startedAt: number;
  finishedAt: number | null;
}

interface RunRow {
  id: number;
  trigger: 'manual' | 'scheduled';
  started_by: string | null;
  status: ReconcileRun['status'];
  phase: string;
  done: number;
  total: number;
  follows_added: number;
  follows_ended: number;
  bindings_added: number;
  customers_created: number;
  failed: number;
  failures: string;
  error: string | null;
  started_at: number;
  finished_at: number | null;
}

function fromRow(row: RunRow): ReconcileRun {
  return {
    id: row.id,
    trigger: row.trigger,
    startedBy: row.started_by,
    status: row.status,
    phase: row.phase,
    done: row.done,
    total: row.total,
    followsAdded: row.follows_added,
    followsEnded: row.follows_ended,
    bindingsAdded: row.bindings_added,
    customersCreated: row.customers_created,
    failed: row.failed,
    failures: JSON.parse(row.failures) as ReconcileRun['failures'],
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

export function createReconcileLog(db: D1Database, app: Pick<WeComApp, 'corpId' | 'agentId'>) {
  return {
    async start(trigger: ReconcileRun['trigger'], startedBy: string | null, now: number): Promise<{ run: ReconcileRun; alreadyRunning: boolean }> {
      const running = await db
        .prepare("SELECT * FROM reconcile_runs WHERE corp_id = ?1 AND agent_id = ?2 AND status = 'running' AND started_at > ?3 ORDER BY id DESC LIMIT 1")
        .bind(app.corpId, app.agentId, now - STALE_RUN_MS)
        .first<RunRow>();
      if (running) return { run: fromRow(running), alreadyRunning: true };
      const row = await db
        .prepare('INSERT INTO reconcile_runs (corp_id, agent_id, trigger, started_by, started_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING *')
        .bind(app.corpId, app.agentId, trigger, startedBy, now)
        .first<RunRow>();
      if (!row) throw new Error('reconcile insert returned no row');
      return { run: fromRow(row), alreadyRunning: false };
    },
    async get(id: number): Promise<ReconcileRun | undefined> {
      const row = await db.prepare('SELECT * FROM reconcile_runs WHERE corp_id = ?1 AND agent_id = ?2 AND id = ?3').bind(app.corpId, app.agentId, id).first<RunRow>();
      return row ? fromRow(row) : undefined;
    },
    async latest(): Promise<ReconcileRun | undefined> {
      const row = await db.prepare('SELECT * FROM reconcile_runs WHERE corp_id = ?1 AND agent_id = ?2 ORDER BY id DESC LIMIT 1').bind(app.corpId, app.agentId).first<RunRow>();
      return row ? fromRow(row) : undefined;
    },
    async save(run: ReconcileRun): Promise<void> {
      await db
        .prepare(
          `UPDATE reconcile_runs SET status = ?2, phase = ?3, done = ?4, total = ?5, follows_added = ?6, follows_ended = ?7, bindings_added = ?8,
             customers_created = ?9, failed = ?10, failures = ?11, error = ?12, finished_at = ?13 WHERE id = ?1`,
        )
        .bind(run.id, run.status, run.phase, run.done, run.total, run.followsAdded, run.followsEnded, run.bindingsAdded, run.customersCreated, run.failed, JSON.stringify(run.failures.slice(0, 200)), run.error, run.finishedAt)
        .run();
    },
  };
}

export type ReconcileLog = ReturnType<typeof createReconcileLog>;

export interface ReconcileDeps {
  app: WeComApp;
  client: WeComClient;
  crm: Crm;
  store: ContactStore;
  log: ReconcileLog;
  autoCreate: boolean;
  now?: () => number;
}

function reasonOf(error: unknown): string {
  if (error instanceof WeComFailure) return `${error.code}: ${error.message}. ${error.hint}`;
  return error instanceof Error ? error.message : String(error);
}

/** Runs one reconciliation to the end, recording progress on `run`; never throws. */
export async function reconcile(run: ReconcileRun, deps: ReconcileDeps): Promise<ReconcileRun> {
  const now = deps.now ?? Date.now;
  const { app, client, store } = deps;
  const corpId = app.corpId;
  try {
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
                run.followsAdded += 1;
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
              const profile: ContactProfile = {
                contact: {
                  externalUserId,
                  name: contact.name,
                  avatar: contact.avatar ?? '',
                  type: contact.type,
                  gender: contact.gender ?? 0,
                  corpName: contact.corp_full_name || contact.corp_name || '',
                  position: contact.position ?? '',
                  unionid: contact.unionid || null,
                },
                followUsers: [
                  {
                    userid: follow.userid,
                    remark: follow.remark ?? '',
                    description: follow.description ?? '',
                    createdAt: follow.createtime,
                    tags: [],
                    remarkMobiles: (follow.remark_mobiles ?? []).filter((m) => m !== ''),
                    remarkCorpName: follow.remark_corp_name ?? '',
                    addWay: follow.add_way ?? null,
                    state: follow.state ?? '',
                  },
                ],
                fetchedAt: now(),
              };
              const bound = await autoBind(profile, follow.userid, { corpId, crm: deps.crm, store, autoCreate: deps.autoCreate, now: now() });
              if (bound.outcome === 'created') run.customersCreated += 1;
              if (bound.outcome === 'created' || bound.outcome === 'bound_by_mobile' || bound.outcome === 'bound_by_unionid') run.bindingsAdded += 1;
            } catch (error) {
              run.failed += 1;
              run.failures.push({ subject: `contact ${externalUserId} of ${follow.userid}`, reason: reasonOf(error) });
            }
          }
          cursor = page.next_cursor || undefined;
        } while (cursor);
      } catch (error) {
        complete = false;
        run.failed += 1;
        run.failures.push({ subject: `members ${chunk.join(',')}`, reason: reasonOf(error) });
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
        run.followsEnded += 1;
      }
    }
    run.status = 'succeeded';
    run.phase = 'done';
  } catch (error) {
    run.status = 'failed';
    run.error = reasonOf(error);
  }
  run.finishedAt = now();
  await deps.log.save(run).catch((error: unknown) => log('error', 'reconcile.save_failed', { id: run.id, message: String(error) }));
  log(run.status === 'succeeded' ? 'info' : 'error', 'reconcile.finished', {
    corpId,
    id: run.id,
    status: run.status,
    followsAdded: run.followsAdded,
    followsEnded: run.followsEnded,
    bindingsAdded: run.bindingsAdded,
    failed: run.failed,
  });
  return run;
}
