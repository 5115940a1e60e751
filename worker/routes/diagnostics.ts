/**
 * @module
 * `GET /api/admin/diagnostics[?origin=]` (admin role): live checks of this deployment against WeCom
 * for the session's app (worker/diagnostics/run.ts). `origin` names the page origin to judge;
 * without it, the request's Origin header, then PUBLIC_ORIGIN.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types.ts';
import { runDiagnostics } from '../diagnostics/run.ts';
import { CALLBACK_VERIFIED_KEY } from '../events/verification.ts';
import { requireRole } from '../identity/guard.ts';
import { log } from '../log.ts';
import { edgeServices } from '../services.ts';

export const diagnostics = new Hono<AppEnv>().use('*', requireRole('admin')).get('/', async (c) => {
  const app = c.var.services.app;
  const ownOrigin = c.var.config.publicOrigin;
  // Judged as given (checkOrigin parses it): a malformed value is itself a finding, not a 400.
  const origin = (c.req.query('origin') ?? c.req.header('origin') ?? ownOrigin).slice(0, 2048);
  const broker = edgeServices(c.env, c.var.config).tokensFor(app);
  const report = await runDiagnostics({
    config: c.var.config,
    app,
    kv: c.env.KV,
    db: c.env.DB,
    tickets: () => broker.tickets(),
    callbackVerifiedKey: CALLBACK_VERIFIED_KEY(app.corpId, app.agentId),
    ownOrigin,
    origin,
  });
  log(report.ok ? 'info' : 'warn', 'diagnostics.run', {
    corpId: app.corpId,
    agentId: app.agentId,
    pass: report.summary.pass,
    warn: report.summary.warn,
    fail: report.summary.fail,
    failed: report.checks
      .filter((check) => check.status === 'fail')
      .map((check) => (check.errcode === undefined ? check.id : `${check.id}:${check.errcode}`))
      .join(','),
  });
  c.header('cache-control', 'no-store');
  return c.json(report);
});
