/**
 * @module
 * `GET /api/me`: who the session belongs to, as this product sees them.
 */
import { Hono } from 'hono';
import type { Session } from '../identity/sessions.ts';
import type { User } from '../identity/users.ts';
import type { AppEnv } from '../types.ts';
import type { Me } from '../wire.ts';

/** The member as `GET /api/me` answers, and as the sidebar page embeds it. */
export function meBody(user: User, session: Session): Me {
  return {
    user: {
      id: user.id,
      userid: user.wecomUserId,
      name: user.name,
      roles: user.roles,
      departments: user.departments,
    },
    corp: { corpId: session.corpId, agentId: session.agentId },
  };
}

export const me = new Hono<AppEnv>().get('/', (c) => c.json(meBody(c.var.user, c.var.session)));
