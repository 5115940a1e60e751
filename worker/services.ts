/**
 * @module
 * The services a signed-in request works with, built once per request from the bindings,
 * the configuration and the session: the WeCom client of the session's app, the CRM,
 * contacts, users, and the reader's scope (computed on first use).
 */
import { contactInScope, scopeOf, type Scope } from './contacts/access.ts';
import { createProfileCache } from './contacts/profile.ts';
import { createContactsService, type ContactsService } from './contacts/service.ts';
import { createContactStore, type ContactStore } from './contacts/store.ts';
import { crmFor } from './crm/index.ts';
import type { Crm } from './crm/port.ts';
import { findApp, type Config, type WeComApp } from './env.ts';
import type { Env } from './bindings.ts';
import { AppError } from './errors.ts';
import type { Session } from './identity/sessions.ts';
import { createUserRepo, type User, type UserRepo } from './identity/users.ts';
import type { WeComClient } from './wecom/client.ts';
import { wecomClientFor } from './wecom/tokens.ts';

export interface Services {
  app: WeComApp;
  wecom: WeComClient;
  crm: Crm;
  store: ContactStore;
  contacts: ContactsService;
  users: UserRepo;
  scope(): Promise<Scope>;
}

export function createServices(env: Env, config: Config, session: Session, user: User): Services {
  const app = findApp(config, session.corpId, session.agentId);
  if (!app) throw new AppError(401, 'unauthenticated', 'The app of this session is no longer configured: log in again');
  const wecom = wecomClientFor(env, config, app);
  const crm = crmFor(env, config);
  const store = createContactStore(env.DB);
  const users = createUserRepo(env.DB);
  let scope: Promise<Scope> | undefined;
  return {
    app,
    wecom,
    crm,
    store,
    users,
    contacts: createContactsService({ corpId: app.corpId, client: wecom, crm, store, cache: createProfileCache(env.KV), users, db: env.DB }),
    scope: () => (scope ??= scopeOf(user, users, env.DB)),
  };
}

export { contactInScope };
