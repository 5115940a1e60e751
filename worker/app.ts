/**
 * @module
 * Assembles the Hono app: configuration guard, one sub-app per area, error mapping.
 */
import { Hono } from 'hono';
import { HTTPException } from 'hono/http-exception';
import { configOf } from './env.ts';
import { AppError } from './errors.ts';
import { requireUser } from './identity/guard.ts';
import { securityHeaders } from './http/headers.ts';
import { byClientIp, byMember, rateLimit } from './http/rate-limit.ts';
import { sameOriginWrites } from './http/same-origin.ts';
import { log } from './log.ts';
import { admin } from './routes/admin.ts';
import { adminTags } from './routes/admin-tags.ts';
import { appMessagesAdmin, lostCustomers } from './routes/app-messages-admin.ts';
import { auth } from './routes/auth.ts';
import { callback } from './routes/callback.ts';
import { chats } from './routes/chats.ts';
import { contacts } from './routes/contacts.ts';
import { contactTags } from './routes/contact-tags.ts';
import { customersRoute } from './routes/customers.ts';
import { diagnostics } from './routes/diagnostics.ts';
import { domainVerify } from './routes/domain-verify.ts';
import { followUpsRoute } from './routes/follow-ups.ts';
import { health } from './routes/health.ts';
import { jssdk } from './routes/jssdk.ts';
import { me } from './routes/me.ts';
import { replies } from './routes/replies.ts';
import { notifications } from './routes/notifications.ts';
import { sidebarPage } from './routes/page.ts';
import { createServices } from './services.ts';
import type { AppEnv } from './types.ts';

export function createApp() {
  const app = new Hono<AppEnv>();

  app.use('*', securityHeaders);
  app.route('/healthz', health);
  // The sidebar's HTML judges its own configuration: incomplete, it is served as it is.
  app.route('/', sidebarPage);

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

  app.route('/', domainVerify);
  app.route('/wecom/callback', callback);
  // Before anything that writes: a page on another origin (even the same site) cannot change state.
  app.use('/api/*', sameOriginWrites);
  app.use('/auth/logout', sameOriginWrites);
  app.use('/auth/login', rateLimit('LOGIN_LIMIT', byClientIp, 60));
  app.route('/auth', auth);

  // The sidebar signs the JS-SDK while login is still in flight, so signing needs no session.
  app.use('/api/jssdk/signatures', rateLimit('SIGNING_LIMIT', byClientIp, 60));
  app.route('/api/jssdk', jssdk);
  app.use('/api/*', async (c, next) => (c.req.path.startsWith('/api/jssdk/') ? next() : requireUser(c, next)));
  app.use('/api/*', async (c, next) => {
    if (c.get('user')) c.set('services', createServices(c.env, c.var.config, c.var.session, c.var.user));
    await next();
  });
  // Each lookup is a WeCom call against the corp's quota: counted per member, not per session.
  const lookupLimit = rateLimit('CONTACT_LOOKUP_LIMIT', byMember, 60);
  app.use('/api/contacts/:id', (c, next) => (c.req.method === 'GET' ? lookupLimit(c, next) : next()));
  app.route('/api/me/notifications', notifications);
  app.route('/api/me', me);
  app.route('/api/contacts', contacts);
  app.route('/api/contacts', contactTags);
  app.route('/api/customers', followUpsRoute);
  app.route('/api/customers', customersRoute);
  app.route('/api/chats', chats);
  app.route('/api/replies', replies);
  app.route('/api/admin/diagnostics', diagnostics);
  app.route('/api/admin/tags', adminTags);
  app.route('/api/admin/lost-customers', lostCustomers);
  app.route('/api/admin/app-messages', appMessagesAdmin);
  app.route('/api/admin', admin);

  app.notFound((c) => c.json({ error: 'not_found', message: `No route for ${c.req.method} ${new URL(c.req.url).pathname}` }, 404));

  app.onError((err, c) => {
    const known = err instanceof HTTPException ? new AppError(err.status, 'http_error', err.message || 'Request refused') : err;
    const path = new URL(c.req.url).pathname;
    if (known instanceof AppError) {
      const line = known.logged();
      if (line) log(line.level, line.event, { path, ...line.fields });
      return c.json(known.wire(), known.status);
    }
    log('error', 'unhandled', { path, message: err instanceof Error ? err.message : String(err) });
    return c.json({ error: 'internal', message: 'Internal error' }, 500);
  });

  return app;
}
