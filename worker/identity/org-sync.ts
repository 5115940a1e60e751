/**
 * @module
 * Org sync: departments and members from WeCom into this product's tables. Every run is a row in
 * `org_syncs` that it updates as it goes, so an admin watches progress and gets a result with the
 * reason for every failure. Members who are gone are deactivated (and lose their sessions), never deleted.
 */
import type { WeComApp } from '../env.ts';
import { log } from '../log.ts';
import type { WeComClient } from '../wecom/client.ts';
import { WeComFailure } from '../wecom/errors.ts';
import type { SessionStore } from './sessions.ts';
import type { ProvisionPolicy, UserRepo } from './users.ts';

export interface SyncFailure {
  subject: string;
  reason: string;
}

export interface OrgSyncRun {
  id: number;
  corpId: string;
  agentId: string;
  trigger: 'manual' | 'scheduled';
  startedBy: string | null;
  status: 'running' | 'succeeded' | 'failed';
  phase: string;
  done: number;
  total: number;
  created: number;
  updated: number;
  deactivated: number;
  failed: number;
  failures: SyncFailure[];
  error: string | null;
  startedAt: number;
  finishedAt: number | null;
}

interface OrgSyncRow {
  id: number;
  corp_id: string;
  agent_id: string;
  trigger: 'manual' | 'scheduled';
  started_by: string | null;
  status: OrgSyncRun['status'];
  phase: string;
  done: number;
  total: number;
  created: number;
  updated: number;
  deactivated: number;
  failed: number;
  failures: string;
  error: string | null;
  started_at: number;
  finished_at: number | null;
}

function fromRow(row: OrgSyncRow): OrgSyncRun {
  return {
    id: row.id,
    corpId: row.corp_id,
    agentId: row.agent_id,
    trigger: row.trigger,
    startedBy: row.started_by,
    status: row.status,
    phase: row.phase,
    done: row.done,
    total: row.total,
    created: row.created,
    updated: row.updated,
    deactivated: row.deactivated,
    failed: row.failed,
    failures: JSON.parse(row.failures) as SyncFailure[],
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  };
}

/** A run that has not reported for this long died with its isolate; a new one may start. */
const STALE_RUN_MS = 10 * 60 * 1000;

export function createOrgSyncLog(db: D1Database) {
  return {
    async start(app: WeComApp, trigger: OrgSyncRun['trigger'], startedBy: string | null, now: number): Promise<{ run: OrgSyncRun; alreadyRunning: boolean }> {
      const running = await db
        .prepare("SELECT * FROM org_syncs WHERE corp_id = ?1 AND agent_id = ?2 AND status = 'running' AND started_at > ?3 ORDER BY id DESC LIMIT 1")
        .bind(app.corpId, app.agentId, now - STALE_RUN_MS)
        .first<OrgSyncRow>();
      if (running) return { run: fromRow(running), alreadyRunning: true };
      await db
        .prepare("UPDATE org_syncs SET status = 'failed', error = 'stopped without reporting (the worker was restarted)', finished_at = ?3 WHERE corp_id = ?1 AND agent_id = ?2 AND status = 'running'")
        .bind(app.corpId, app.agentId, now)
        .run();
      const row = await db
        .prepare('INSERT INTO org_syncs (corp_id, agent_id, trigger, started_by, started_at) VALUES (?1, ?2, ?3, ?4, ?5) RETURNING *')
        .bind(app.corpId, app.agentId, trigger, startedBy, now)
        .first<OrgSyncRow>();
      if (!row) throw new Error('org sync insert returned no row');
      return { run: fromRow(row), alreadyRunning: false };
    },

    async get(corpId: string, id: number): Promise<OrgSyncRun | undefined> {
      const row = await db.prepare('SELECT * FROM org_syncs WHERE corp_id = ?1 AND id = ?2').bind(corpId, id).first<OrgSyncRow>();
      return row ? fromRow(row) : undefined;
    },

    async latest(corpId: string, agentId: string): Promise<OrgSyncRun | undefined> {
      const row = await db.prepare('SELECT * FROM org_syncs WHERE corp_id = ?1 AND agent_id = ?2 ORDER BY id DESC LIMIT 1').bind(corpId, agentId).first<OrgSyncRow>();
      return row ? fromRow(row) : undefined;
    },

    async save(run: OrgSyncRun): Promise<void> {
      await db
        .prepare(
          `UPDATE org_syncs SET status = ?2, phase = ?3, done = ?4, total = ?5, created = ?6, updated = ?7, deactivated = ?8,
             failed = ?9, failures = ?10, error = ?11, finished_at = ?12 WHERE id = ?1`,
        )
        .bind(run.id, run.status, run.phase, run.done, run.total, run.created, run.updated, run.deactivated, run.failed, JSON.stringify(run.failures.slice(0, 200)), run.error, run.finishedAt)
        .run();
    },
  };
}

export type OrgSyncLog = ReturnType<typeof createOrgSyncLog>;

function reasonOf(error: unknown): string {
  if (error instanceof WeComFailure) return `${error.code}: ${error.message}. ${error.hint}`;
  return error instanceof Error ? error.message : String(error);
}

export interface OrgSyncDeps {
  app: WeComApp;
  client: WeComClient;
  users: UserRepo;
  sessions: SessionStore;
  log: OrgSyncLog;
  policy: Omit<ProvisionPolicy, 'now'>;
  now?: () => number;
}

/** Runs one sync to the end, recording progress on `run`; never throws. */
export async function runOrgSync(run: OrgSyncRun, deps: OrgSyncDeps): Promise<OrgSyncRun> {
  const now = deps.now ?? Date.now;
  const { app, client, users } = deps;
  const fail = (subject: string, error: unknown) => {
    run.failed += 1;
    run.failures.push({ subject, reason: reasonOf(error) });
  };
  try {
    run.phase = 'departments';
    const { department: departments } = await client.listDepartments();
    run.total = departments.length;
    for (const department of departments) {
      try {
        await users.upsertDepartment(app.corpId, { id: department.id, name: department.name, parentId: department.parentid, order: department.order }, now());
      } catch (error) {
        fail(`department ${department.id}`, error);
      }
      run.done += 1;
    }
    await deps.log.save(run);

    run.phase = 'members';
    run.done = 0;
    const members = new Map<string, MemberFactsFromList>();
    let listingComplete = true;
    for (const department of departments) {
      try {
        const { userlist } = await client.listUsers(department.id);
        for (const member of userlist) members.set(member.userid, member);
      } catch (error) {
        listingComplete = false;
        fail(`members of department ${department.id}`, error);
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
        const departmentsOfMember = member.department ?? [];
        const { outcome } = await users.upsertMember(
          app.corpId,
          {
            userid: member.userid,
            ...(member.name ? { name: member.name } : {}),
            ...(member.mobile ? { mobile: member.mobile } : {}),
            departments: departmentsOfMember,
            leaderIn: departmentsOfMember.filter((_, i) => member.is_leader_in_dept?.[i] === 1),
            ...(member.status !== undefined ? { wecomStatus: member.status } : {}),
          },
          { ...deps.policy, now: now() },
        );
        if (outcome === 'created') run.created += 1;
        else if (outcome === 'updated') run.updated += 1;
      } catch (error) {
        fail(`member ${member.userid}`, error);
      }
      run.done += 1;
      if (run.done % 50 === 0) await deps.log.save(run);
    }

    run.phase = 'deactivating';
    if (!listingComplete) {
      run.failures.push({ subject: 'deactivation', reason: 'skipped: some departments could not be listed, so absent members may only be unlisted' });
    }
    for (const user of listingComplete ? await users.list(app.corpId) : []) {
      if (user.status !== 'active' || !user.wecomUserId || members.has(user.wecomUserId)) continue;
      try {
        await users.deactivate(app.corpId, user.wecomUserId, now());
        await deps.sessions.revokeAllFor(app.corpId, user.id);
        run.deactivated += 1;
      } catch (error) {
        fail(`member ${user.wecomUserId}`, error);
      }
    }
    run.status = 'succeeded';
    run.phase = 'done';
  } catch (error) {
    run.status = 'failed';
    run.error = reasonOf(error);
  }
  run.finishedAt = now();
  await deps.log.save(run).catch((error: unknown) => log('error', 'org_sync.save_failed', { id: run.id, message: String(error) }));
  log(run.status === 'succeeded' ? 'info' : 'error', 'org_sync.finished', {
    corpId: app.corpId,
    id: run.id,
    status: run.status,
    created: run.created,
    updated: run.updated,
    deactivated: run.deactivated,
    failed: run.failed,
  });
  return run;
}

interface MemberFactsFromList {
  userid: string;
  name?: string;
  mobile?: string;
  department?: number[];
  is_leader_in_dept?: number[];
  status?: number;
}
