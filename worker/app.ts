/**
 * @module
 * Assembles the Hono app: configuration guard, one sub-app per area, error mapping.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { configOf, type Config, type Env } from './env.ts';
import { AppError } from './errors.ts';
import { log } from './log.ts';
import { health } from './routes/health.ts';

export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
  };
};

export function createApp() {
  const app = new Hono<AppEnv>();

  app.route('/healthz', health);

  // Every other route needs a complete configuration; a deployment missing secrets says which.
  app.use('*', async (c, next) => {
    const result = configOf(c.env);
    if (!result.ok) {
      log('error', 'config.incomplete', { problems: result.problems.join('; ') });
      return c.json(
        { error: 'config_incomplete', message: `The worker is not configured: ${result.problems.join('; ')}. Set these values (see README, Configuration).` },
        503,
      );
    }
    c.set('config', result.config);
    await next();
  });

  app.notFound((c) => c.json({ error: 'not_found', message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

  app.onError((err, c) => {
    if (err instanceof AppError) {
      return c.json({ error: err.code, message: err.message, ...err.details }, err.status);
    }
    if (err instanceof HTTPException) {
      return c.json({ error: 'http_error', message: err.message || 'Request refused' }, err.status);
    }
    log('error', 'unhandled', { path: new URL(c.req.url).pathname, message: err instanceof Error ? err.message : String(err) });
    return c.json({ error: 'internal', message: 'Internal error' }, 500);
  });

  return app;
}
