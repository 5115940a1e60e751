/**
 * @module
 * Org sync and reconciliation as Workflows (worker/jobs/), against a generated medium corp: many
 * steps, a step that fails and is retried, a rate limit (45033) mid-run, cancellation, a second
 * start refused, and no step over the WeCom call budget. The engine's retry delays are switched
 * off (introspectWorkflow), so retries happen at once; the retries themselves are the engine's.
 */
import { env, introspectWorkflow } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { demoCorp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { generateBigCorp } from '../../dev/simulator/big-corp.ts';
import { startFirstSyncs } from '../../worker/jobs/first-sync.ts';
import { DEPARTMENTS_PER_STEP, MEMBERS_PER_STEP } from '../../worker/identity/org-sync.ts';
import { BINDS_PER_STEP, reconcile } from '../../worker/contacts/reconcile.ts';
import { runSteps, STEP_D1_QUERY_BUDGET, STEP_SUBREQUEST_BUDGET, type CallMeter, type WorkflowStepLike } from '../../worker/jobs/steps.ts';
import { meteredServices } from '../../worker/jobs/workflows.ts';
import { waitFor } from './callback-helpers.ts';
import { api, login, resetIdentity } from './identity-helpers.ts';
import { calls, sim } from './simulator-control.ts';

/** A whole medium run takes seconds here; the default 5 s is not enough on a shared machine. */
const JOB_TEST_MS = 90_000;
const MEDIUM = { members: 250, departments: 30, contacts: 1000, seed: 11 };
/** The demo app sees the sales centre (2) and its two teams, and the generated departments under it. */
const VISIBLE_DEPARTMENTS = 3 + MEDIUM.departments;

interface RunBody {
  id: number;
  status: string;
  phase: string;
  failed: number;
  failures: Array<{ subject: string; reason: string }>;
  error: string | null;
  steps: number;
  wecomCalls: number;
  maxStepWecomCalls: number;
  maxStepD1Queries: number;
  [count: string]: unknown;
}

let admin: string;
let introspectors: Array<{ dispose(): Promise<void> }> = [];

async function introspect(workflow: Workflow) {
  const introspector = await introspectWorkflow(workflow);
  await introspector.modifyAll(async (m) => {
    await m.disableRetryDelays();
  });
  introspectors.push(introspector);
  return introspector;
}

async function start(job: 'org-sync' | 'reconcile'): Promise<RunBody> {
  const response = await api(`/api/admin/${job}`, admin, { method: 'POST' });
  expect(response.status).toBe(202);
  return ((await response.json()) as { run: RunBody }).run;
}

async function finished(job: 'org-sync' | 'reconcile', id: number): Promise<RunBody> {
  return waitFor(async () => {
    const body = (await (await api(`/api/admin/${job}/${id}`, admin)).json()) as { run: RunBody };
    return body.run.status === 'running' ? undefined : body.run;
  }, 60_000);
}

beforeEach(async () => {
  await resetIdentity();
  await env.DB.batch([env.DB.prepare('DELETE FROM contact_follows'), env.DB.prepare('DELETE FROM touchpoints'), env.DB.prepare('DELETE FROM contact_bindings')]);
  await sim('big-corp', MEDIUM);
  admin = await login('zhangsan');
  await sim('calls/reset', {});
});

afterEach(async () => {
  for (const introspector of introspectors) await introspector.dispose();
  introspectors = [];
});

describe('org sync on Workflows', () => {
  it('syncs a 250-member corp in many steps, each within the WeCom call budget', async () => {
    await introspect(env.ORG_SYNC_WORKFLOW);
    const run = await finished('org-sync', (await start('org-sync')).id);
    expect(run).toMatchObject({ status: 'succeeded', phase: 'done', failed: 0 });
    const { results } = await env.DB.prepare("SELECT COUNT(*) AS n FROM users WHERE wecom_userid LIKE 'big11m%' AND status = 'active'").all<{ n: number }>();
    expect(results[0]?.n).toBe(MEDIUM.members);
    // departments, 4 listings of 10 departments, the members they found 50 a step (a listing's last
    // step may be short: at most one more step per listing), deactivating, finish.
    const listings = Math.ceil(VISIBLE_DEPARTMENTS / DEPARTMENTS_PER_STEP);
    const writes = Math.ceil((run.created as number) / MEMBERS_PER_STEP);
    expect(run.steps).toBeGreaterThanOrEqual(1 + listings + writes + 2);
    expect(run.steps).toBeLessThanOrEqual(1 + listings + writes + listings + 2);
    const count = await calls();
    expect(count('user/list')).toBe(VISIBLE_DEPARTMENTS);
    expect(run.wecomCalls).toBe(VISIBLE_DEPARTMENTS + 1);
    expect(run.maxStepWecomCalls).toBe(10);
    expect(run.maxStepSubrequests).toBeLessThanOrEqual(STEP_SUBREQUEST_BUDGET);
    expect(run.maxStepD1Queries).toBeGreaterThan(0);
    expect(run.maxStepD1Queries).toBeLessThanOrEqual(STEP_D1_QUERY_BUDGET);
  }, JOB_TEST_MS);

  it('resumes after a step fails and after a 45033 mid-run, without failing the run', async () => {
    const introspector = await introspect(env.ORG_SYNC_WORKFLOW);
    // The first step's first call fails three times (the client's own two retries included): the step fails.
    await sim('faults', { path: 'user/list', status: 502, times: 3 });
    const { id } = await start('org-sync');
    const [instance] = await waitFor(async () => ((await introspector.get()).length > 0 ? introspector.get() : undefined));
    await instance!.waitForStepResult({ name: 'members 1' });
    await sim('faults', { path: 'user/list', errcode: 45033, errmsg: 'api concurrent out of limit', times: 1 });
    const run = await finished('org-sync', id);
    expect(run).toMatchObject({ status: 'succeeded', failed: 0, error: null });
    expect(((await sim('faults')) as { faults: unknown[] }).faults).toEqual([]);
    // Every department listed, plus the three failed attempts, the 45033 and what its step listed again.
    expect((await calls())('user/list')).toBeGreaterThan(VISIBLE_DEPARTMENTS + 3);
    expect(run.created).toBe(MEDIUM.members + 4);
    expect(run.maxStepSubrequests).toBeLessThanOrEqual(STEP_SUBREQUEST_BUDGET);
  }, JOB_TEST_MS);

  it('gets a new access token mid-run when WeCom stops taking the old one', async () => {
    const introspector = await introspect(env.ORG_SYNC_WORKFLOW);
    const { id } = await start('org-sync');
    const [instance] = await waitFor(async () => ((await introspector.get()).length > 0 ? introspector.get() : undefined));
    await instance!.waitForStepResult({ name: 'members 1' });
    const { invalidated } = (await sim('tokens/invalidate', {})) as { invalidated: number };
    expect(invalidated).toBeGreaterThan(0);
    const run = await finished('org-sync', id);
    expect(run).toMatchObject({ status: 'succeeded', failed: 0, created: MEDIUM.members + 4 });
    // One refusal (42001/40014), one gettoken, the refused call again: the client's own refresh, inside the step.
    expect((await calls())('gettoken')).toBe(1);
  }, JOB_TEST_MS);

  it('refuses a second start while one runs, and stops a run an admin cancels', async () => {
    const introspector = await introspect(env.ORG_SYNC_WORKFLOW);
    // Slow enough that the run is still going when the cancel arrives.
    await sim('faults', { path: 'user/list', delayMs: 200, times: 100 });
    const first = await start('org-sync');
    const second = await api('/api/admin/org-sync', admin, { method: 'POST' });
    expect(second.status).toBe(409);
    expect(((await second.json()) as { run: RunBody }).run.id).toBe(first.id);

    const [instance] = await waitFor(async () => ((await introspector.get()).length > 0 ? introspector.get() : undefined));
    await instance!.waitForStepResult({ name: 'members 1' });
    const cancelled = await api(`/api/admin/org-sync/${first.id}/cancel`, admin, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    expect(((await cancelled.json()) as { run: RunBody }).run).toMatchObject({ status: 'failed', phase: 'cancelled', error: 'cancelled by zhangsan' });
    await instance!.waitForStatus('terminated');
    const listed = (await calls())('user/list');
    expect(listed).toBeLessThan(VISIBLE_DEPARTMENTS);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await calls())('user/list')).toBe(listed);
    const after = (await (await api(`/api/admin/org-sync/${first.id}`, admin)).json()) as { run: RunBody };
    expect(after.run).toMatchObject({ status: 'failed', phase: 'cancelled' });

    const again = await api(`/api/admin/org-sync/${first.id}/cancel`, admin, { method: 'POST' });
    expect(again.status).toBe(409);
    expect(((await again.json()) as { error: string }).error).toBe('conflict');
    // A cancelled run does not block the next one.
    await sim('faults', undefined, 'DELETE');
    const next = await start('org-sync');
    expect((await finished('org-sync', next.id)).status).toBe('succeeded');
  }, JOB_TEST_MS);
});

describe('an org sync handed from instance to instance', () => {
  it('goes on between two listings, writing every member once and deactivating only the member WeCom no longer lists', async () => {
    const introspector = await introspect(env.ORG_SYNC_WORKFLOW);
    // 30 listings of 10 departments, each followed by its writes: past the 40 steps an instance takes here.
    const large = { members: 1000, departments: 300, contacts: 0, seed: 12 };
    await sim('reset', {});
    await sim('big-corp', large);
    await env.DB.prepare("INSERT INTO users (corp_id, wecom_userid, name, status, created_at, updated_at) VALUES (?1, 'big12gone', '离职的人', 'active', 1, 1)").bind(demoIds.corpId).run();
    await sim('calls/reset', {});

    const run = await finished('org-sync', (await start('org-sync')).id);
    expect(run).toMatchObject({ status: 'succeeded', failed: 0, created: large.members + 4, deactivated: 1, done: 3 + large.departments, total: 3 + large.departments });
    expect(run.instances).toBeGreaterThanOrEqual(2);
    expect(await introspector.get()).toHaveLength(run.instances as number);
    // Each department listed once, by whichever instance reached it.
    expect((await calls())('user/list')).toBe(3 + large.departments);
    const { results } = await env.DB.prepare("SELECT status, COUNT(*) AS n FROM users WHERE wecom_userid LIKE 'big12%' GROUP BY status ORDER BY status").all<{ status: string; n: number }>();
    expect(results).toEqual([
      { status: 'active', n: large.members },
      { status: 'inactive', n: 1 },
    ]);
  }, JOB_TEST_MS);
});

describe('reconciliation on Workflows', () => {
  it('pages through 1,000 contacts one batch/get_by_user page per step, through a failed step and a 45033', async () => {
    const introspector = await introspect(env.RECONCILE_WORKFLOW);
    await sim('faults', { path: 'externalcontact/batch/get_by_user', status: 500, times: 3 });
    const { id } = await start('reconcile');
    const [instance] = await waitFor(async () => ((await introspector.get()).length > 0 ? introspector.get() : undefined));
    await instance!.waitForStepResult({ name: 'contacts 1.2' });
    await sim('faults', { path: 'externalcontact/batch/get_by_user', errcode: 45033, errmsg: 'api concurrent out of limit', times: 1 });
    const run = await finished('reconcile', id);
    expect(run).toMatchObject({ status: 'succeeded', failed: 0, error: null });
    expect(((await sim('faults')) as { faults: unknown[] }).faults).toEqual([]);

    const generated = generateBigCorp(demoCorp, MEDIUM).externalContacts.slice(demoCorp.externalContacts.length);
    const generatedFollows = generated.reduce((sum, contact) => sum + contact.follow_user.length, 0);
    const { results } = await env.DB.prepare("SELECT COUNT(*) AS n FROM contact_follows WHERE state = 'active' AND userid LIKE 'big11m%'").all<{ n: number }>();
    expect(results[0]?.n).toBe(generatedFollows);
    expect(run.followsAdded).toBeGreaterThanOrEqual(generatedFollows);
    // ~4.4 follows a member: about 5 pages for each group of 100 members, 3 groups.
    expect(run.steps).toBeGreaterThan(12);
    expect(run.maxStepWecomCalls).toBeGreaterThan(0);
    expect(run.maxStepWecomCalls).toBeLessThanOrEqual(3);
    expect(run.maxStepSubrequests).toBeLessThanOrEqual(STEP_SUBREQUEST_BUDGET);
    expect(run.maxStepD1Queries).toBeGreaterThan(0);
    expect(run.maxStepD1Queries).toBeLessThanOrEqual(STEP_D1_QUERY_BUDGET);
    // JOB_STEPS_PER_INSTANCE is 40 in this pool: the run went on in more instances, one after another.
    expect(run.instances).toBeGreaterThanOrEqual(2);
    expect(await introspector.get()).toHaveLength(run.instances as number);

    // Nothing changed in WeCom: a second run adds nothing and ends nothing.
    const second = await finished('reconcile', (await start('reconcile')).id);
    expect(second).toMatchObject({ status: 'succeeded', followsAdded: 0, followsEnded: 0, failed: 0 });
  }, JOB_TEST_MS);
});

describe('a reconciliation handed from instance to instance', () => {
  const members = generateBigCorp(demoCorp, MEDIUM).members.flatMap((member) => (member.userid.startsWith('big11m') ? [member.userid] : []));

  async function seedFollows(rows: Array<{ externalUserId: string; userid: string; updatedAt: number }>): Promise<void> {
    await env.DB.batch(
      rows.map((row) =>
        env.DB.prepare("INSERT INTO contact_follows (corp_id, external_userid, userid, state, added_at, updated_at) VALUES (?1, ?2, ?3, 'active', ?4, ?4)").bind(demoCorp.corpid, row.externalUserId, row.userid, row.updatedAt),
      ),
    );
  }

  it('ends, in every group, the relationships WeCom no longer lists, whichever instance read their pages', async () => {
    await introspect(env.RECONCILE_WORKFLOW);
    // One relationship WeCom does not list for every member, in every group of 100.
    await seedFollows(members.map((userid, i) => ({ externalUserId: `wmGone${i}`, userid, updatedAt: Date.now() - 60_000 })));
    const run = await finished('reconcile', (await start('reconcile')).id);
    expect(run).toMatchObject({ status: 'succeeded', failed: 0, error: null });
    expect(run.instances).toBeGreaterThanOrEqual(2);
    expect(run.followsEnded).toBe(members.length);
    const { results } = await env.DB.prepare("SELECT state, COUNT(*) AS n FROM contact_follows WHERE userid LIKE 'big11m%' GROUP BY state ORDER BY state").all<{ state: string; n: number }>();
    const generated = generateBigCorp(demoCorp, MEDIUM).externalContacts.slice(demoCorp.externalContacts.length);
    expect(results).toEqual([
      { state: 'active', n: generated.reduce((sum, contact) => sum + contact.follow_user.length, 0) },
      { state: 'ended', n: members.length },
    ]);
    const touchpoints = await env.DB.prepare("SELECT COUNT(*) AS n FROM touchpoints WHERE kind = 'contact_deleted' AND external_userid LIKE 'wmGone%'").first<{ n: number }>();
    expect(touchpoints?.n).toBe(members.length);
  }, JOB_TEST_MS);

  it('leaves a relationship written after the run started, which WeCom had not listed when its page was read', async () => {
    await introspect(env.RECONCILE_WORKFLOW);
    // As a callback arriving mid-run would write it: newer than the run.
    await seedFollows([{ externalUserId: 'wmJustAdded', userid: members[0]!, updatedAt: Date.now() + 60_000 }]);
    const run = await finished('reconcile', (await start('reconcile')).id);
    expect(run).toMatchObject({ status: 'succeeded', followsEnded: 0 });
    const row = await env.DB.prepare("SELECT state FROM contact_follows WHERE external_userid = 'wmJustAdded'").first<{ state: string }>();
    expect(row?.state).toBe('active');
  }, JOB_TEST_MS);

  it('refuses a second start while a later instance runs, and a cancel stops that instance', async () => {
    const introspector = await introspect(env.RECONCILE_WORKFLOW);
    // Slow pages, so the run is still in its second instance when the admin acts.
    await sim('faults', { path: 'externalcontact/batch/get_by_user', delayMs: 150, times: 1000 });
    const { id } = await start('reconcile');
    const second = await waitFor(async () => {
      const instances = await introspector.get();
      return instances.length >= 2 ? instances[1] : undefined;
    }, 60_000);
    const refused = await api('/api/admin/reconcile', admin, { method: 'POST' });
    expect(refused.status).toBe(409);
    expect(((await refused.json()) as { run: RunBody }).run).toMatchObject({ id, instances: 2 });

    const cancelled = await api(`/api/admin/reconcile/${id}/cancel`, admin, { method: 'POST' });
    expect(cancelled.status).toBe(200);
    await second!.waitForStatus('terminated');
    const pages = (await calls())('externalcontact/batch/get_by_user');
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect((await calls())('externalcontact/batch/get_by_user')).toBe(pages);
    expect(await introspector.get()).toHaveLength(2);
    const after = (await (await api(`/api/admin/reconcile/${id}`, admin)).json()) as { run: RunBody };
    expect(after.run).toMatchObject({ status: 'failed', phase: 'cancelled', instances: 2 });
    await sim('faults', undefined, 'DELETE');
  }, JOB_TEST_MS);
});

describe('reconciliation with the company CRM over HTTP', () => {
  it('binds in steps that stop taking contacts before the subrequest budget, with every contact bound', async () => {
    // No customers yet in the reference CRM (test/crm-server), so every contact is looked up and created.
    await fetch(`${inject('crmUrl')}/__crm/reset`, { method: 'POST' });
    const meter: CallMeter = { calls: 0, crmCalls: 0, d1Queries: 0 };
    const httpEnv = { ...env, CRM: 'http', CRM_BASE_URL: inject('crmUrl'), CRM_API_TOKEN: inject('crmToken') };
    const app = { corpId: demoIds.corpId, agentId: String(demoIds.agentId) };
    const services = meteredServices(httpEnv, app, meter)!;
    const { run } = await services.reconcileLog.start('manual', 'zhangsan', Date.now());
    // The steps run here, one after another, metered as the Workflow meters them.
    const inline: WorkflowStepLike = { do: (_name, _config, work) => work() };
    const steps = runSteps(inline, services.reconcileLog, run.id, meter, { steps: 100_000, start: () => Promise.reject(new Error('no hand-over expected')) });
    const deps = { app: services.app, client: services.wecom, crm: services.crm, store: services.store, mappedSync: services.mappedSync, profiles: services.profiles, log: services.reconcileLog, autoCreate: true };
    const done = await reconcile(run, deps, steps);

    expect(done).toMatchObject({ status: 'succeeded', failed: 0 });
    const contacts = await env.DB.prepare("SELECT COUNT(DISTINCT external_userid) AS n FROM contact_follows WHERE state = 'active' AND userid LIKE 'big11m%'").first<{ n: number }>();
    const bound = await env.DB.prepare("SELECT COUNT(*) AS n FROM contact_bindings b WHERE EXISTS (SELECT 1 FROM contact_follows f WHERE f.external_userid = b.external_userid AND f.userid LIKE 'big11m%')").first<{ n: number }>();
    expect(bound?.n).toBe(contacts?.n);
    // A new contact costs a find or two and a create: 25 of them would be 75 calls in one step.
    expect(done.counts.crmCalls).toBeGreaterThan(2 * (contacts?.n ?? 0));
    expect(done.counts.maxStepSubrequests).toBeGreaterThan(STEP_SUBREQUEST_BUDGET / 2);
    expect(done.counts.maxStepSubrequests).toBeLessThanOrEqual(STEP_SUBREQUEST_BUDGET);
    expect(done.counts.steps).toBeGreaterThan((contacts?.n ?? 0) / BINDS_PER_STEP + 15);
  }, JOB_TEST_MS);
});

describe('the first sync', () => {
  it('starts an org sync, and no reconciliation, for an app that never had one, and only then', async () => {
    await introspect(env.ORG_SYNC_WORKFLOW);
    expect(await startFirstSyncs(env)).toBe(1);
    const sync = await waitFor(async () => {
      const body = (await (await api('/api/admin/org-sync/latest', admin)).json()) as { run: RunBody | null };
      return body.run && body.run.status !== 'running' ? body.run : undefined;
    }, 60_000);
    expect(sync).toMatchObject({ status: 'succeeded', trigger: 'scheduled', startedBy: null, created: MEDIUM.members + 4 });
    // Reconciliation may create customers: a new deployment leaves it to an admin or the cron.
    const reconciled = (await (await api('/api/admin/reconcile/latest', admin)).json()) as { run: RunBody | null };
    expect(reconciled.run).toBeNull();
    expect(await startFirstSyncs(env)).toBe(0);
  }, JOB_TEST_MS);
});
