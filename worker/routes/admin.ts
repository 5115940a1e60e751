/**
 * @module
 * `/api/admin/*` (admin role): users and their roles, org sync and reconciliation with progress and
 * cancel, recent callback events.
 */
import { Hono, type Context } from 'hono';
import type { AppEnv } from '../types.ts';
import { AppError } from '../errors.ts';
import { startReconcile } from '../contacts/jobs.ts';
import { runView, type JobEngine, type JobRun, type RunLog } from '../jobs/runs.ts';
import { requireRole } from '../identity/guard.ts';
import { startOrgSync } from '../identity/services.ts';
import { actorOf, isRole, ROLES } from '../identity/users.ts';

function positiveInt(value: string | undefined, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  if (!/^[0-9]{1,6}$/.test(value)) throw new AppError(400, 'bad_request', `Expected a positive integer, got "${value.slice(0, 20)}"`);
  return Math.min(max, Math.max(1, Number(value)));
}

type Started = { run: JobRun<Record<string, number>>; alreadyRunning: boolean };
type Counts = Record<string, number>;

/** Start (202, or 409 with the running one), latest, one run, and cancel: the same for every admin job. */
function jobRoutes(
  label: string,
  start: (c: Context<AppEnv>) => Promise<Started>,
  runs: (c: Context<AppEnv>) => RunLog<Counts>,
  engine: (c: Context<AppEnv>) => JobEngine<Counts>,
) {
  return new Hono<AppEnv>()
    .post('/', async (c) => {
      const started = await start(c);
      return c.json({ run: runView(started.run), alreadyRunning: started.alreadyRunning }, started.alreadyRunning ? 409 : 202);
    })
    // The row first (so no later step saves over it), then the Workflow instance.
    .post('/:id/cancel', async (c) => {
      const id = positiveInt(c.req.param('id'), 0, Number.MAX_SAFE_INTEGER);
      const cancelled = await runs(c).cancel(id, c.var.user.wecomUserId, Date.now());
      if (!cancelled) {
        const run = await runs(c).get(id);
        if (!run) throw new AppError(404, 'not_found', `No ${label} ${id}`);
        throw new AppError(409, 'conflict', `${label} ${id} is not running (${run.status})`);
      }
      await engine(c).stop(cancelled);
      return c.json({ run: runView(cancelled) });
    })
    .get('/latest', async (c) => {
      const run = await runs(c).latest();
      return c.json({ run: run ? runView(run) : null });
    })
    .get('/:id', async (c) => {
      const id = positiveInt(c.req.param('id'), 0, Number.MAX_SAFE_INTEGER);
      const run = await runs(c).get(id);
      if (!run) throw new AppError(404, 'not_found', `No ${label} ${id}`);
      return c.json({ run: runView(run) });
    });
}

export const admin = new Hono<AppEnv>()
  .use('*', requireRole('admin'))

  .get('/users', async (c) => {
    const users = await c.var.services.users.list(c.var.session.corpId);
    const latestSync = await c.var.services.orgSyncLog.latest();
    return c.json({ users, roles: ROLES, latestSync: latestSync ? runView(latestSync) : null });
  })

  .put('/users/:id/roles', async (c) => {
    const id = positiveInt(c.req.param('id'), 0, Number.MAX_SAFE_INTEGER);
    const body = await c.req.json<unknown>().catch(() => undefined);
    const roles = (body as { roles?: unknown } | undefined)?.roles;
    if (!Array.isArray(roles) || !roles.every(isRole)) {
      throw new AppError(400, 'bad_request', `Send { "roles": [...] } with roles from ${ROLES.join(', ')}`);
    }
    const unique = [...new Set(roles)];
    const repo = c.var.services.users;
    const target = await repo.get(c.var.session.corpId, id);
    if (!target) throw new AppError(404, 'not_found', `No user ${id} in this corp`);
    if (target.id === c.var.user.id && !unique.includes('admin')) {
      throw new AppError(409, 'conflict', 'You cannot remove your own admin role; ask another admin');
    }
    await repo.setRoles(c.var.session.corpId, id, unique, actorOf(c.var.user), Date.now());
    return c.json({ user: await repo.get(c.var.session.corpId, id) });
  })

  .post('/users/:id/sessions/revoke', async (c) => {
    const id = positiveInt(c.req.param('id'), 0, Number.MAX_SAFE_INTEGER);
    if (!(await c.var.services.users.endSessions(c.var.session.corpId, id))) throw new AppError(404, 'not_found', `No user ${id} in this corp`);
    return c.json({ revoked: true });
  })

  .route(
    '/org-sync',
    jobRoutes(
      'org sync',
      (c) => startOrgSync(c.var.services, 'manual', c.var.user.wecomUserId),
      (c) => c.var.services.orgSyncLog,
      (c) => c.var.services.orgSyncJobs,
    ),
  )
  .route(
    '/reconcile',
    jobRoutes(
      'reconciliation',
      (c) => startReconcile(c.var.services, 'manual', c.var.user.wecomUserId),
      (c) => c.var.services.reconcileLog,
      (c) => c.var.services.reconcileJobs,
    ),
  )

  .get('/events', async (c) => {
    const limit = positiveInt(c.req.query('limit'), 50, 200);
    const events = await c.var.services.events.listRecent(c.var.session.corpId, c.var.session.agentId, limit);
    return c.json({
      events: events.map((event) => ({
        id: event.id,
        kind: event.kind,
        changeType: event.changeType,
        // A retry WeCom sent again was acknowledged and ignored; the row shows how often.
        status: event.status,
        duplicates: event.duplicates,
        attempts: event.attempts,
        lastError: event.lastError,
        receivedAt: event.receivedAt,
        appliedAt: event.appliedAt,
        event: event.event,
      })),
    });
  });
