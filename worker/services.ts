/**
 * @module
 * Every service is built here from the bindings and the configuration, for routes, queue handlers
 * and jobs alike: one app's WeCom client, the CRM, contacts, customers, users, the event log and
 * the job logs, quick replies. A signed-in request adds the reader's scope (computed on first use). What runs
 * before there is a session (login, the guard, the callback, JS-SDK signing, the page) gets the
 * part that needs no app and no session from `edgeServices`.
 */
import { scopeOf, type Scope } from './contacts/access.ts';
import { createCustomersService, type CustomersService } from './contacts/customers.ts';
import { createProfileCache, type ProfileCache } from './contacts/profile.ts';
import { createReconcileLog, type ReconcileCounts } from './contacts/reconcile.ts';
import { createContactsService, type ContactsService } from './contacts/service.ts';
import { createContactStore, type ContactStore } from './contacts/store.ts';
import { crmFor } from './crm/index.ts';
import type { Crm } from './crm/port.ts';
import type { Env } from './bindings.ts';
import { findApp, type Config, type WeComApp } from './env.ts';
import { AppError } from './errors.ts';
import { createEventStore, type EventStore } from './events/store.ts';
import { createOrgSyncLog, type OrgSyncCounts } from './identity/org-sync.ts';
import { createSessionStore, type Session, type SessionStore } from './identity/sessions.ts';
import { createUserRepo, type User, type UserRepo } from './identity/users.ts';
import { createWorkflowEngine } from './jobs/engine.ts';
import { createRepliesService, type RepliesService } from './replies/service.ts';
import { createFollowUpAccess, type FollowUpAccess } from './notify/follow-up-access.ts';
import { createNotifier, type Notifier } from './notify/service.ts';
import type { JobEngine, RunLog } from './jobs/runs.ts';
import type { WeComClient } from './wecom/client.ts';
import { tokensFor, wecomClientFor, type AppTokens } from './wecom/tokens.ts';
import { createTagLibrary, type TagLibrary } from './tags/library.ts';
import { createMappedSync, createPendingWrites, createTagMappings, type MappedSync } from './tags/mappings.ts';
import { createTagsService, type TagsService } from './tags/service.ts';

/** What a request uses before there is a session or a chosen app. */
export interface EdgeServices {
  sessions: SessionStore;
  users: UserRepo;
  events: EventStore;
  /** The WeCom client of one configured app. */
  wecomFor(app: WeComApp): WeComClient;
  /** The tokens and JS-SDK tickets of one configured app. */
  tokensFor(app: WeComApp): AppTokens;
}

export function edgeServices(env: Env, config: Config): EdgeServices {
  return {
    sessions: createSessionStore(env.KV, config.sessionSecret),
    users: createUserRepo(env.DB),
    events: createEventStore(env.DB),
    wecomFor: (app) => wecomClientFor(env, config, app),
    tokensFor: (app) => tokensFor(env, app),
  };
}

/** What any work for one configured app uses. */
export interface AppServices {
  app: WeComApp;
  config: Config;
  wecom: WeComClient;
  crm: Crm;
  store: ContactStore;
  profiles: ProfileCache;
  contacts: ContactsService;
  customers: CustomersService;
  /** The corp tag library (KV), the CRM fields mapped to tag groups, and the member's tags and remarks. */
  tagLibrary: TagLibrary;
  mappedSync: MappedSync;
  tags: TagsService;
  users: UserRepo;
  events: EventStore;
  replies: RepliesService;
  orgSyncLog: RunLog<OrgSyncCounts>;
  reconcileLog: RunLog<ReconcileCounts>;
  /** Where the long jobs run: a Workflow instance per run. */
  orgSyncJobs: JobEngine<OrgSyncCounts>;
  reconcileJobs: JobEngine<ReconcileCounts>;
  /** Follow-up reminders and alerts as WeCom app messages. */
  notify: Notifier;
  /** A customer's follow-up time, under the customer's read and edit rules. */
  followUps: FollowUpAccess;
}

/** What a signed-in request works with: its app's services and the reader's scope. */
export interface Services extends AppServices {
  scope(): Promise<Scope>;
}

/** `fetch` replaces the WeCom client's, `crmFetch` the HTTP CRM's (the jobs count their calls with them). */
export function appServices(env: Env, config: Config, app: WeComApp, options: { fetch?: typeof fetch; crmFetch?: typeof fetch } = {}): AppServices {
  const wecom = wecomClientFor(env, config, app, options.fetch ? { fetch: options.fetch } : {});
  const crm = crmFor(env, config, options.crmFetch);
  const store = createContactStore(env.DB);
  const profiles = createProfileCache(env.KV);
  const users = createUserRepo(env.DB);
  const corpId = app.corpId;
  const contacts = createContactsService({ corpId, client: wecom, crm, store, cache: profiles, users, db: env.DB });
  const tagLibrary = createTagLibrary({ kv: env.KV, client: wecom, corpId });
  const mappings = createTagMappings(env.DB);
  const pending = createPendingWrites(env.DB);
  const mappedSync = createMappedSync({ corpId, crm, store, mappings, pending, library: tagLibrary });
  const customers = createCustomersService({ corpId, crm, store, db: env.DB, mappings });
  const notify = createNotifier({ app, db: env.DB, wecom, crm, store, profiles, publicOrigin: config.publicOrigin, newCustomers: config.notifyNewCustomers });
  return {
    app,
    config,
    wecom,
    crm,
    store,
    profiles,
    users,
    contacts,
    customers,
    tagLibrary,
    mappedSync,
    tags: createTagsService({ corpId, client: wecom, contacts, store, cache: profiles, library: tagLibrary, mappings, pending, sync: mappedSync }),
    events: createEventStore(env.DB),
    replies: createRepliesService({ corpId, db: env.DB, users }),
    orgSyncLog: createOrgSyncLog(env.DB, app),
    reconcileLog: createReconcileLog(env.DB, app),
    orgSyncJobs: createWorkflowEngine(env.ORG_SYNC_WORKFLOW, app),
    reconcileJobs: createWorkflowEngine(env.RECONCILE_WORKFLOW, app),
    notify,
    followUps: createFollowUpAccess({ corpId, db: env.DB, customers, followUps: notify.followUps }),
  };
}

export function createServices(env: Env, config: Config, session: Session, user: User): Services {
  const app = findApp(config, session.corpId, session.agentId);
  if (!app) throw new AppError(401, 'unauthenticated', 'The app of this session is no longer configured: log in again');
  const services = appServices(env, config, app);
  let scope: Promise<Scope> | undefined;
  return { ...services, scope: () => (scope ??= scopeOf(user, services.users, env.DB)) };
}
