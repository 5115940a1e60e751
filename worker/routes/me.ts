/**
 * @module
 * `GET /api/me`: who the session belongs to, as this product sees them.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types.ts';

export const me = new Hono<AppEnv>().get('/', (c) => {
  const user = c.var.user;
  const session = c.var.session;
  return c.json({
    user: {
      id: user.id,
      userid: user.wecomUserId,
      name: user.name,
      roles: user.roles,
      departments: user.departments,
    },
    corp: { corpId: session.corpId, agentId: session.agentId },
  });
});
