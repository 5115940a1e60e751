/**
 * The routes answer what worker/wire.ts promises the SPA. The services are typed with the wire
 * shapes already; these checks cover what a route builds itself (the admin job runs, the event
 * rows), read from the routes' own types the way Hono's typed client would see them.
 */
import type { Hono } from 'hono';
import type { hc, InferResponseType } from 'hono/client';
import { describe, expectTypeOf, it } from 'vitest';
import type { admin } from '../../worker/routes/admin.ts';
import type { chats } from '../../worker/routes/chats.ts';
import type { contacts } from '../../worker/routes/contacts.ts';
import type { customersRoute } from '../../worker/routes/customers.ts';
import type { diagnostics } from '../../worker/routes/diagnostics.ts';
import type { jssdk } from '../../worker/routes/jssdk.ts';
import type { me } from '../../worker/routes/me.ts';
import type { ReconcileCounts } from '../../worker/contacts/reconcile.ts';
import type { OrgSyncCounts } from '../../worker/identity/org-sync.ts';
import type { runView } from '../../worker/jobs/runs.ts';
import type * as wire from '../../worker/wire.ts';

// oxlint-disable-next-line no-explicit-any -- any sub-app, whatever its env and schema
type Client<App extends Hono<any, any, any>> = ReturnType<typeof hc<App>>;
type Admin = Client<typeof admin>;
type Contacts = Client<typeof contacts>;
type Customers = Client<typeof customersRoute>;

describe('wire shapes', () => {
  it('the admin routes answer the users, job runs and events the SPA reads', () => {
    // The route sends ROLES itself, a tuple: narrower than the list the SPA reads.
    expectTypeOf<InferResponseType<Admin['users']['$get']>>().toExtend<wire.AdminUsers>();
    expectTypeOf<InferResponseType<Admin['users'][':id']['roles']['$put']>>().toEqualTypeOf<{ user: wire.User | undefined }>();
    // The job routes are shared by every job and type a run as "some counts", which Hono's JSON
    // typing cannot follow; what they send is `runView(run)`, checked here with org sync's counts.
    expectTypeOf<ReturnType<typeof runView<OrgSyncCounts>>>().toEqualTypeOf<wire.OrgSyncRunView>();
    expectTypeOf<ReturnType<typeof runView<ReconcileCounts>>>().toEqualTypeOf<wire.ReconcileRunView>();
    // `event` is the typed callback event; the SPA does not read it.
    expectTypeOf<InferResponseType<Admin['events']['$get']>>().toExtend<wire.AdminEventList>();
  });

  it('the contact, customer and chat routes answer the views', () => {
    expectTypeOf<InferResponseType<Contacts[':externalUserId']['$get']>>().toEqualTypeOf<wire.ContactView>();
    expectTypeOf<InferResponseType<Contacts[':externalUserId']['binding']['$put']>>().toEqualTypeOf<wire.BindingResult>();
    expectTypeOf<InferResponseType<Contacts[':externalUserId']['customer']['$post']>>().toEqualTypeOf<wire.BindingResult>();
    expectTypeOf<InferResponseType<Customers['index']['$get']>>().toEqualTypeOf<wire.CustomerList>();
    expectTypeOf<InferResponseType<Customers[':id']['$get']>>().toEqualTypeOf<wire.CustomerAnswer>();
    expectTypeOf<InferResponseType<Customers[':id']['$patch']>>().toEqualTypeOf<wire.CustomerAnswer>();
    expectTypeOf<InferResponseType<Customers[':id']['notes']['$get']>>().toEqualTypeOf<wire.NoteList>();
    expectTypeOf<InferResponseType<Customers[':id']['notes']['$post']>>().toEqualTypeOf<wire.NoteAnswer>();
    expectTypeOf<InferResponseType<Customers[':id']['timeline']['$get']>>().toEqualTypeOf<wire.Timeline>();
    expectTypeOf<InferResponseType<Client<typeof chats>[':chatId']['$get']>>().toEqualTypeOf<wire.ChatView>();
  });

  it('the session, signature and diagnostics routes answer their shapes', () => {
    expectTypeOf<InferResponseType<Client<typeof me>['index']['$get']>>().toEqualTypeOf<wire.Me>();
    expectTypeOf<InferResponseType<Client<typeof jssdk>['signatures']['$post']>>().toEqualTypeOf<wire.PageSignatures>();
    expectTypeOf<InferResponseType<Client<typeof diagnostics>['index']['$get']>>().toEqualTypeOf<wire.DiagnosticsReport>();
  });
});
