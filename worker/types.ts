/**
 * @module
 * The Hono environment every route, middleware and sub-app shares: the bindings, and what the
 * middleware in app.ts puts on `c.var` before a route runs.
 */
import type { Env } from './bindings.ts';
import type { Config } from './env.ts';
import type { Session } from './identity/sessions.ts';
import type { User } from './identity/users.ts';
import type { Services } from './services.ts';

export type AppEnv = {
  Bindings: Env;
  Variables: {
    config: Config;
    /** Set by the identity guard on every `/api` route except the public ones. */
    session: Session & { hash: string };
    user: User;
    services: Services;
  };
};
