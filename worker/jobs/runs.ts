/**
 * @module
 * Long-running admin jobs (org sync, reconciliation) as rows in `job_runs`, updated while they
 * run so an admin can watch progress, and finished with counts and the reason for every failure:
 * a job that only says "running in the background" and never reports is what users of other
 * products complain about most.
 */
import type { WeComApp } from '../env.ts';
import { log } from '../log.ts';
import { WeComError, WeComFailure } from '../wecom/errors.ts';
import type { JobFailure, JobKind, JobRunFields } from '../wire.ts';

export type { JobFailure, JobKind };

/** A run as stored: the fields every run shows, with its own counts kept apart. */
export interface JobRun<Counts extends Record<string, number>> extends JobRunFields {
  counts: Counts;
}

interface RunRow {
  id: number;
  kind: JobKind;
  trigger: 'manual' | 'scheduled';
  started_by: string | null;
  status: JobRun<Record<string, number>>['status'];
  phase: string;
  done: number;
  total: number;
  counts: string;
  failed: number;
  failures: string;
  error: string | null;
  started_at: number;
  finished_at: number | null;
}

/**
 * Without an engine to ask (jobs/engine.ts), a run that has not finished after this long is taken
 * for dead; with one, a run younger than START_GRACE_MS is alive whatever the engine says, since its
 * row is written just before its Workflow instance is created.
 */
const STALE_RUN_MS = 30 * 60 * 1000;
const START_GRACE_MS = 60 * 1000;
/** Enough reasons to act on; the count says how many there were. */
const MAX_FAILURES_KEPT = 200;

/** Kept on the run, which only admins read: so it may name the egress IP WeCom saw (60020). */
export function reasonOf(error: unknown): string {
  if (error instanceof WeComError) return `${error.code}: ${error.message}. ${error.adminHint}`;
  if (error instanceof WeComFailure) return `${error.code}: ${error.message}. ${error.hint}`;
  return error instanceof Error ? error.message : String(error);
}

export function createRunLog<Counts extends Record<string, number>>(db: D1Database, kind: JobKind, app: Pick<WeComApp, 'corpId' | 'agentId'>, zero: Counts) {
  const fromRow = (row: RunRow): JobRun<Counts> => ({
    id: row.id,
    kind: row.kind,
    trigger: row.trigger,
    startedBy: row.started_by,
    status: row.status,
    phase: row.phase,
    done: row.done,
    total: row.total,
    counts: { ...zero, ...(JSON.parse(row.counts) as Partial<Counts>) },
    failed: row.failed,
    failures: JSON.parse(row.failures) as JobFailure[],
    error: row.error,
    startedAt: row.started_at,
    finishedAt: row.finished_at,
  });
  const scope = 'corp_id = ?1 AND agent_id = ?2 AND kind = ?3';

  return {
    /**
     * A new run, unless one is running: then that one. `alive` asks the engine whether a run's
     * instance still works; a run it has lost is closed as failed and a new one starts.
     */
    async start(
      trigger: JobRun<Counts>['trigger'],
      startedBy: string | null,
      now: number,
      alive?: (run: JobRun<Counts>) => Promise<boolean>,
    ): Promise<{ run: JobRun<Counts>; alreadyRunning: boolean }> {
      const running = await db
        .prepare(`SELECT * FROM job_runs WHERE ${scope} AND status = 'running' AND started_at > ?4 ORDER BY id DESC LIMIT 1`)
        .bind(app.corpId, app.agentId, kind, alive ? 0 : now - STALE_RUN_MS)
        .first<RunRow>();
      if (running) {
        const run = fromRow(running);
        if (!alive || run.startedAt > now - START_GRACE_MS || (await alive(run))) return { run, alreadyRunning: true };
      }
      await db
        .prepare(`UPDATE job_runs SET status = 'failed', error = 'stopped without reporting (the worker was restarted)', finished_at = ?4 WHERE ${scope} AND status = 'running'`)
        .bind(app.corpId, app.agentId, kind, now)
        .run();
      const row = await db
        .prepare('INSERT INTO job_runs (corp_id, agent_id, kind, trigger, started_by, counts, started_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7) RETURNING *')
        .bind(app.corpId, app.agentId, kind, trigger, startedBy, JSON.stringify(zero), now)
        .first<RunRow>();
      if (!row) throw new Error('job run insert returned no row');
      return { run: fromRow(row), alreadyRunning: false };
    },

    async get(id: number): Promise<JobRun<Counts> | undefined> {
      const row = await db.prepare(`SELECT * FROM job_runs WHERE ${scope} AND id = ?4`).bind(app.corpId, app.agentId, kind, id).first<RunRow>();
      return row ? fromRow(row) : undefined;
    },

    async latest(): Promise<JobRun<Counts> | undefined> {
      const row = await db.prepare(`SELECT * FROM job_runs WHERE ${scope} ORDER BY id DESC LIMIT 1`).bind(app.corpId, app.agentId, kind).first<RunRow>();
      return row ? fromRow(row) : undefined;
    },

    /** Writes progress; a run that is no longer running (cancelled, or closed as lost) is left as it is. */
    async save(run: JobRun<Counts>): Promise<boolean> {
      const { meta } = await db
        .prepare("UPDATE job_runs SET status = ?2, phase = ?3, done = ?4, total = ?5, counts = ?6, failed = ?7, failures = ?8, error = ?9, finished_at = ?10 WHERE id = ?1 AND status = 'running'")
        .bind(run.id, run.status, run.phase, run.done, run.total, JSON.stringify(run.counts), run.failed, JSON.stringify(run.failures.slice(0, MAX_FAILURES_KEPT)), run.error, run.finishedAt)
        .run();
      return meta.changes > 0;
    },

    /** Ends a running run as cancelled (status `failed`, phase `cancelled`: the shape admins already read); undefined when it was not running. */
    async cancel(id: number, by: string | null, now: number): Promise<JobRun<Counts> | undefined> {
      const row = await db
        .prepare(`UPDATE job_runs SET status = 'failed', phase = 'cancelled', error = ?5, finished_at = ?6 WHERE ${scope} AND id = ?4 AND status = 'running' RETURNING *`)
        .bind(app.corpId, app.agentId, kind, id, by ? `cancelled by ${by}` : 'cancelled', now)
        .first<RunRow>();
      return row ? fromRow(row) : undefined;
    },
  };
}

export type RunLog<Counts extends Record<string, number>> = ReturnType<typeof createRunLog<Counts>>;

/** Records a failure of one item; the job goes on with the others. */
export function recordFailure(run: JobRun<Record<string, number>>, subject: string, error: unknown): void {
  run.failed += 1;
  // The run travels between a Workflow's steps, whose results are capped at 1 MiB.
  if (run.failures.length < MAX_FAILURES_KEPT) run.failures.push({ subject, reason: reasonOf(error) });
}

/** The wire shape: counts beside the run's other fields. */
export function runView<Counts extends Record<string, number>>(run: JobRun<Counts>) {
  const { counts, ...rest } = run;
  return { ...rest, ...counts };
}

export interface StartedRun<Counts extends Record<string, number>> {
  run: JobRun<Counts>;
  alreadyRunning: boolean;
}

/** What runs a job's steps: a Workflow per run in production (jobs/engine.ts). */
export interface JobEngine<Counts extends Record<string, number>> {
  /** Hands the run to the engine; `then` names a job to start when this one succeeds. */
  start(run: JobRun<Counts>, then?: JobKind): Promise<void>;
  /** Goes on with a run in its next instance (`counts.instances`), from where the last one stopped. */
  resume(run: JobRun<Counts>, resume: unknown, then?: JobKind): Promise<void>;
  /** Whether the engine still works on the run (false when it finished, failed or never existed). */
  alive(run: JobRun<Counts>): Promise<boolean>;
  /** Stops the run's instance, if it still runs. */
  stop(run: JobRun<Counts>): Promise<void>;
}

/** Starts a new run on the engine, unless one is running already: then that run is the answer and nothing starts. */
export async function startRun<Counts extends Record<string, number>>(
  runs: RunLog<Counts>,
  engine: JobEngine<Counts>,
  trigger: JobRun<Counts>['trigger'],
  startedBy: string | null,
  then?: JobKind,
): Promise<StartedRun<Counts>> {
  const { run, alreadyRunning } = await runs.start(trigger, startedBy, Date.now(), (candidate) => engine.alive(candidate));
  if (alreadyRunning) return { run, alreadyRunning };
  try {
    await engine.start(run, then);
  } catch (error) {
    run.status = 'failed';
    run.error = `could not start: ${reasonOf(error)}`;
    run.finishedAt = Date.now();
    await runs.save(run);
    log('error', 'job.start_failed', { kind: run.kind, id: run.id, message: reasonOf(error) });
  }
  return { run, alreadyRunning };
}
