/**
 * @module
 * What the worker does when what it depends on fails: WeCom timing out, answering 5xx, `-1` or
 * garbage on a read route; the company CRM failing in the middle of a write; D1 or the queue
 * failing under the callback route; one event of a queue batch failing. Each failure must end in a
 * clean answer with a stable code, retries only where they are safe, and nothing lost or doubled.
 *
 * WeCom and the CRM fail for real, over HTTP: the simulator's `/__sim/faults` and the reference
 * CRM's `/__crm/faults`. D1 and the queue cannot be made to fail that way, so for them this file
 * (and only this file) wraps the real binding in a fault injector; the product takes its bindings
 * from `env`, so the wrapped binding goes in through `createApp().request(..., { ...env, DB })`.
 */
import { createExecutionContext, createMessageBatch, env, getQueueResult, waitOnExecutionContext } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { beforeEach, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import type { EventMessage } from '../../worker/bindings.ts';
import { profileKey } from '../../worker/contacts/profile.ts';
import { consumeEvents } from '../../worker/events/consumer.ts';
import { HANDOFF_GRACE_MS, sweepUnsent } from '../../worker/events/dispatch.ts';
import { createRegistry } from '../../worker/events/registry.ts';
import { createEventStore } from '../../worker/events/store.ts';
import { idempotencyKey } from '../../worker/http/idempotency.ts';
import { sealCallback } from '../../worker/wecom/envelope.ts';
import type { WeComEvent } from '../../worker/wecom/events.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { callbackPath, contactEventXml, demoKeys, waitFor, type EventRowView } from './callback-helpers.ts';
import { api, login, resetIdentity } from './identity-helpers.ts';
import { sim } from './simulator-control.ts';

const corpId = env.WECOM_CORP_ID!;
const agentId = env.WECOM_AGENT_ID!;
const LIU_YANG = demoIds.externalUserIds.withoutUnionid;
const CONTACT_GET = '/cgi-bin/externalcontact/get';

// ---- fault injectors for bindings (FAULT TESTS ONLY) ------------------------------------------------

/**
 * FAULT INJECTION, for this file only: the real D1, except that statements whose SQL matches
 * `pattern` throw on their `nth` execution (counting from 1), the way a D1 error surfaces.
 * A batch containing such a statement fails whole, as D1 batches do.
 */
function faultyD1ForTests(db: D1Database, pattern: RegExp, nth = 1): D1Database & { injected(): number } {
  let matched = 0;
  let injected = 0;
  const real = new WeakMap<object, D1PreparedStatement>();
  const sqlOf = new WeakMap<D1PreparedStatement, string>();
  const trip = (sql: string) => {
    if (!pattern.test(sql)) return;
    matched += 1;
    if (matched === nth) {
      injected += 1;
      throw new Error('D1_ERROR: injected fault (test)');
    }
  };
  const wrap = (statement: D1PreparedStatement, sql: string): D1PreparedStatement => {
    const wrapped: D1PreparedStatement = new Proxy(statement, {
      get(target, property) {
        if (property === 'bind') return (...values: unknown[]) => wrap(target.bind(...values), sql);
        if (property === 'first' || property === 'run' || property === 'all' || property === 'raw') {
          return (...args: unknown[]) => {
            trip(sql);
            return (Reflect.get(target, property) as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        const value: unknown = Reflect.get(target, property);
        return typeof value === 'function' ? value.bind(target) : value;
      },
    });
    real.set(wrapped, statement);
    sqlOf.set(statement, sql);
    return wrapped;
  };
  const proxy = new Proxy(db, {
    get(target, property) {
      if (property === 'injected') return () => injected;
      if (property === 'prepare') return (sql: string) => wrap(target.prepare(sql), sql);
      if (property === 'batch') {
        return (statements: D1PreparedStatement[]) => {
          const unwrapped = statements.map((s) => real.get(s) ?? s);
          for (const s of unwrapped) trip(sqlOf.get(s) ?? '');
          return target.batch(unwrapped);
        };
      }
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
  return proxy as D1Database & { injected(): number };
}

/** FAULT INJECTION, for this file only: the real queue, with `send` replaced by `send(message, realSend)`. */
function queueForTests(queue: Queue<EventMessage>, send: (message: EventMessage, real: (message: EventMessage) => Promise<void>) => Promise<void>): Queue<EventMessage> {
  return new Proxy(queue, {
    get(target, property) {
      if (property === 'send') return (message: EventMessage) => send(message, async (m) => void (await target.send(m)));
      const value: unknown = Reflect.get(target, property);
      return typeof value === 'function' ? value.bind(target) : value;
    },
  });
}

// ---- helpers ------------------------------------------------------------------------------------------

async function resetState() {
  await resetIdentity();
  await env.DB.batch(
    ['contact_bindings', 'contact_follows', 'touchpoints', 'crm_customer_mobiles', 'crm_notes', 'crm_history', 'crm_idempotency', 'crm_customers'].map((table) =>
      env.DB.prepare(`DELETE FROM ${table}`),
    ),
  );
  for (const id of Object.values(demoIds.externalUserIds)) await env.KV.delete(profileKey(corpId, id));
}

async function fault(body: Record<string, unknown>): Promise<void> {
  await sim('faults', body);
}

async function simCalls(path: string): Promise<number> {
  const calls = (await sim('calls')) as Record<string, number>;
  return calls[path] ?? 0;
}

async function resetSimCalls(): Promise<void> {
  await sim('calls/reset', {});
}

async function errorBody(response: Response): Promise<{ error: string; message: string; hint?: string; errcode?: number; operation?: string }> {
  return (await response.json()) as { error: string; message: string; hint?: string; errcode?: number; operation?: string };
}

async function count(sql: string, ...values: unknown[]): Promise<number> {
  return (await env.DB.prepare(sql).bind(...values).first<{ n: number }>())?.n ?? 0;
}

/** A request through a fresh app with some bindings or configuration replaced. */
function through(override: Partial<Cloudflare.Env>) {
  const app = createApp();
  const changed = { ...env, ...override };
  // As the SPA sends it: from the product's own origin, a body only as JSON.
  const headers = { origin: 'http://127.0.0.1:8787', 'content-type': 'application/json' };
  return (path: string, init: RequestInit = {}) =>
    Promise.resolve(app.request(`http://127.0.0.1:8787${path}`, { ...init, headers: { ...headers, ...(init.headers as Record<string, string>) } }, changed, createExecutionContext()));
}

// ---- WeCom failing under a read route -------------------------------------------------------------------

describe('WeCom failing under GET /api/contacts/:externalUserId (a read)', () => {
  let cookie = '';
  beforeEach(async () => {
    await resetState();
    cookie = await login('wangwu');
    await resetSimCalls();
  });

  it('retries 5xx twice, then answers 502 wecom_http_status with a hint, and serves the next request', async () => {
    await fault({ path: CONTACT_GET, status: 503, times: 3 });
    const response = await api(`/api/contacts/${LIU_YANG}`, cookie);
    expect(response.status).toBe(502);
    const body = await errorBody(response);
    expect(body.error).toBe('wecom_http_status');
    expect(body.hint).toMatch(/WECOM_API_BASE/);
    expect(body.message).not.toMatch(/access_token|corpsecret/);
    expect(await simCalls(CONTACT_GET)).toBe(3);
    // The failure was not cached: the next read goes to WeCom and succeeds.
    expect((await api(`/api/contacts/${LIU_YANG}`, cookie)).status).toBe(200);
    expect(await simCalls(CONTACT_GET)).toBe(4);
  });

  it('recovers from a single 5xx by retrying the read', async () => {
    await fault({ path: CONTACT_GET, status: 500, times: 1 });
    const response = await api(`/api/contacts/${LIU_YANG}`, cookie);
    expect(response.status).toBe(200);
    expect(((await response.json()) as { contact: { externalUserId: string } }).contact.externalUserId).toBe(LIU_YANG);
    expect(await simCalls(CONTACT_GET)).toBe(2);
  });

  it("retries WeCom's busy -1, then answers 502 wecom_-1", async () => {
    await fault({ path: CONTACT_GET, errcode: -1, times: 3 });
    const response = await api(`/api/contacts/${LIU_YANG}`, cookie);
    expect(response.status).toBe(502);
    expect(await errorBody(response)).toMatchObject({ error: 'wecom_-1', errcode: -1 });
    expect(await simCalls(CONTACT_GET)).toBe(3);
  });

  it('answers 502 wecom_bad_response for a body that is not WeCom JSON, without retrying it', async () => {
    await fault({ path: CONTACT_GET, status: 200, body: '<html><body>proxy login</body></html>', times: 3 });
    const response = await api(`/api/contacts/${LIU_YANG}`, cookie);
    expect(response.status).toBe(502);
    expect((await errorBody(response)).error).toBe('wecom_bad_response');
    expect(await simCalls(CONTACT_GET)).toBe(1);
    await sim('reset', {});
  });

  it('answers 502 wecom_bad_response for JSON that is not an object', async () => {
    await fault({ path: CONTACT_GET, status: 200, body: '[1,2,3]' });
    const response = await api(`/api/contacts/${LIU_YANG}`, cookie);
    expect(response.status).toBe(502);
    expect((await errorBody(response)).error).toBe('wecom_bad_response');
  });

  it('answers 502 wecom_timeout after every attempt timed out (10 s each)', { timeout: 60_000 }, async () => {
    await fault({ path: CONTACT_GET, delayMs: 10_500, times: 3 });
    const response = await api(`/api/contacts/${LIU_YANG}`, cookie);
    expect(response.status).toBe(502);
    expect(await errorBody(response)).toMatchObject({ error: 'wecom_timeout' });
    expect(await simCalls(CONTACT_GET)).toBe(3);
  });
});

// The client's own write calls (remark, message/send) are never retried after a timeout or a 5xx:
// client.test.ts shows that against the simulator. No route writes to WeCom yet; the one route call
// that must not be repeated is the single-use login code exchange.
describe('WeCom failing under a call that must not be repeated', () => {
  beforeEach(resetState);

  it('exchanges a login code once: a 5xx on auth/getuserinfo is not retried and the login fails cleanly', async () => {
    const start = await exports.default.fetch('http://127.0.0.1:8787/auth/login?return=/', { redirect: 'manual' });
    const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
    const stateCookie = start.headers.getSetCookie().find((c) => c.startsWith('oauth_state='))?.split(';')[0] ?? '';
    const { code } = (await sim('oauth/code', { userid: 'wangwu', agentid: agentId })) as { code: string };
    await resetSimCalls();
    await fault({ path: '/cgi-bin/auth/getuserinfo', status: 502, times: 3 });
    const done = await exports.default.fetch(`http://127.0.0.1:8787/auth/callback?code=${code}&state=${state}`, { headers: { cookie: stateCookie }, redirect: 'manual' });
    expect(done.status).toBe(502);
    expect(done.headers.getSetCookie().some((c) => c.startsWith('sid='))).toBe(false);
    expect(await done.text()).toContain('wecom_http_status');
    expect(await simCalls('/cgi-bin/auth/getuserinfo')).toBe(1);
    await sim('reset', {});
  });
});

// ---- the company CRM failing in the middle of a write ------------------------------------------------------

describe('the company CRM (CRM=http) failing while a customer is created for a contact', () => {
  const crmUrl = inject('crmUrl');
  const crmToken = inject('crmToken');
  const httpCrm = () => through({ CRM: 'http', CRM_BASE_URL: crmUrl, CRM_API_TOKEN: crmToken, CRM_TIMEOUT_MS: '2000' });

  async function crmFault(body: Record<string, unknown>) {
    const response = await fetch(`${crmUrl}/__crm/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    expect(response.status).toBe(200);
  }

  async function crmWrites(key: string): Promise<{ requests: number; applied: number }> {
    const routeKey = idempotencyKey(key, 'contact-create', corpId, LIU_YANG);
    return (await (await fetch(`${crmUrl}/__crm/writes?corp=${corpId}&key=${encodeURIComponent(routeKey)}`)).json()) as { requests: number; applied: number };
  }

  async function create(cookie: string, key: string) {
    return httpCrm()(`/api/contacts/${LIU_YANG}/customer`, { method: 'POST', body: '{}', headers: { cookie, 'idempotency-key': key } });
  }

  beforeEach(async () => {
    await resetState();
    await fetch(`${crmUrl}/__crm/reset`, { method: 'POST' });
  });

  it('answers 502 crm_unreachable after one retry of 5xx, creates nothing there and binds nothing here', async () => {
    const cookie = await login('wangwu');
    await crmFault({ kind: 'status', status: 500, times: 2, method: 'POST', path: '/v1/customers' });
    const response = await create(cookie, 'fault-create-500');
    expect(response.status).toBe(502);
    expect(await errorBody(response)).toMatchObject({ error: 'crm_unreachable' });
    // Retried once, with the same idempotency key, which the CRM applied never.
    expect(await crmWrites('fault-create-500')).toEqual({ requests: 2, applied: 0 });
    expect(await count('SELECT COUNT(*) AS n FROM contact_bindings')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM touchpoints')).toBe(0);
  });

  it('creates exactly one customer when the answer to the create is lost once', async () => {
    const cookie = await login('wangwu');
    await crmFault({ kind: 'drop', phase: 'after', times: 1, method: 'POST', path: '/v1/customers' });
    const response = await create(cookie, 'fault-create-drop');
    expect(response.status).toBe(201);
    const { customer, binding } = (await response.json()) as { customer: { id: string }; binding: { customerId: string } };
    expect(binding.customerId).toBe(customer.id);
    expect(await crmWrites('fault-create-drop')).toEqual({ requests: 2, applied: 1 });
    expect(await count('SELECT COUNT(*) AS n FROM contact_bindings WHERE external_userid = ?1', LIU_YANG)).toBe(1);
  });

  it('leaves no binding when every answer is lost, and a retry with the same key binds the one customer the CRM made', async () => {
    const cookie = await login('wangwu');
    await crmFault({ kind: 'drop', phase: 'after', times: 2, method: 'POST', path: '/v1/customers' });
    const lost = await create(cookie, 'fault-create-lost');
    expect(lost.status).toBe(502);
    expect(await errorBody(lost)).toMatchObject({ error: 'crm_unreachable' });
    expect(await count('SELECT COUNT(*) AS n FROM contact_bindings')).toBe(0);
    expect(await crmWrites('fault-create-lost')).toEqual({ requests: 2, applied: 1 });

    const retried = await create(cookie, 'fault-create-lost');
    expect(retried.status).toBe(201);
    expect(await crmWrites('fault-create-lost')).toEqual({ requests: 3, applied: 1 });
    expect(await count('SELECT COUNT(*) AS n FROM contact_bindings')).toBe(1);
  });

  it('answers 504 crm_timeout when the CRM hangs, and binds nothing', async () => {
    const cookie = await login('wangwu');
    await crmFault({ kind: 'hang', phase: 'before', delayMs: 5_000, times: 2, method: 'POST', path: '/v1/customers' });
    const response = await create(cookie, 'fault-create-hang');
    expect(response.status).toBe(504);
    expect(await errorBody(response)).toMatchObject({ error: 'crm_timeout' });
    // A timeout is never retried: the CRM may still be working on it.
    expect((await crmWrites('fault-create-hang')).requests).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM contact_bindings')).toBe(0);
  });
});

describe('D1 failing after the builtin CRM created the customer', () => {
  beforeEach(resetState);

  it('answers 500, and a retry with the same key binds the same customer: one customer, one binding, one touchpoint', async () => {
    const cookie = await login('wangwu');
    const db = faultyD1ForTests(env.DB, /INSERT INTO contact_bindings/);
    const call = through({ DB: db });
    const headers = { cookie, 'idempotency-key': 'fault-d1-bind-0001' };
    const failed = await call(`/api/contacts/${LIU_YANG}/customer`, { method: 'POST', body: '{}', headers });
    expect(failed.status).toBe(500);
    expect(await errorBody(failed)).toEqual({ error: 'internal', message: 'Internal error' });
    expect(db.injected()).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM contact_bindings')).toBe(0);
    expect(await count('SELECT COUNT(*) AS n FROM crm_customers')).toBe(1);

    const retried = await call(`/api/contacts/${LIU_YANG}/customer`, { method: 'POST', body: '{}', headers });
    expect(retried.status).toBe(201);
    expect(await count('SELECT COUNT(*) AS n FROM crm_customers')).toBe(1);
    expect(await count('SELECT COUNT(*) AS n FROM contact_bindings')).toBe(1);
    expect(await count("SELECT COUNT(*) AS n FROM touchpoints WHERE kind = 'bound'")).toBe(1);
  });
});

// ---- D1 and the queue failing under the callback route ------------------------------------------------------

describe('the callback route when D1 or the queue fails', () => {
  async function sealed(marker: string, createTime: number) {
    const xml = contactEventXml({ changeType: 'edit_external_contact', userId: 'wangwu', externalUserId: LIU_YANG, createTime, extra: { State: marker } });
    const { query, body } = await sealCallback(demoKeys, xml, String(Math.floor(Date.now() / 1000)), `n${createTime}`);
    return { path: `${callbackPath}?${query}`, init: { method: 'POST', headers: { 'content-type': 'text/xml' }, body } };
  }

  const keyFragment = (createTime: number) => `|wangwu|${LIU_YANG}|||${createTime}`;

  /** instr, not LIKE: D1 refuses LIKE patterns as long as a dedupe key. */
  async function rowsFor(createTime: number): Promise<EventRowView[]> {
    const { results } = await env.DB.prepare('SELECT * FROM events WHERE instr(dedupe_key, ?1) > 0 ORDER BY id').bind(keyFragment(createTime)).all<EventRowView>();
    return results;
  }

  /** As `through`, keeping the execution context: the queue hand-off runs in `waitUntil`, after the 200. */
  function throughQueue(queue: Queue<EventMessage>) {
    const app = createApp();
    const changed = { ...env, EVENTS: queue };
    return async (path: string, init: RequestInit) => {
      const ctx = createExecutionContext();
      const response = await app.request(`http://127.0.0.1:8787${path}`, init, changed, ctx);
      return { response, afterResponse: () => waitOnExecutionContext(ctx) };
    };
  }

  async function applied(createTime: number): Promise<EventRowView[]> {
    return waitFor(async () => {
      const rows = await rowsFor(createTime);
      return rows.length === 1 && rows[0]?.status === 'applied' ? rows : undefined;
    });
  }

  it('acknowledges before the queue send completes', async () => {
    const createTime = 1_860_000_003;
    const delivery = await sealed('queue-slow', createTime);
    let release: () => void = () => undefined;
    const held = new Promise<void>((resolve) => (release = resolve));
    const sends: EventMessage[] = [];
    const slow = queueForTests(env.EVENTS, async (message, real) => {
      sends.push(message);
      await held;
      return real(message);
    });
    const { response, afterResponse } = await throughQueue(slow)(delivery.path, { ...delivery.init });
    expect(response.status).toBe(200);
    // Answered while the send is still held: the row was recorded, the hand-off has not finished.
    expect(sends).toHaveLength(1);
    const [row] = await rowsFor(createTime);
    expect(row?.status).toBe('received');
    expect((await env.DB.prepare('SELECT enqueued_at FROM events WHERE id = ?1').bind(row?.id).first<{ enqueued_at: number | null }>())?.enqueued_at).toBeNull();
    release();
    await afterResponse();
    expect((await applied(createTime))[0]).toMatchObject({ duplicates: 0, attempts: 1 });
  });

  it('acknowledges a recorded event the queue refuses, and the sweep applies it once', async () => {
    const createTime = 1_860_000_001;
    const delivery = await sealed('queue-fault', createTime);
    const refusing = queueForTests(env.EVENTS, () => Promise.reject(new Error('Queue send failed: injected fault (test)')));
    const first = await throughQueue(refusing)(delivery.path, { ...delivery.init });
    expect(first.response.status).toBe(200);
    await first.afterResponse();
    const [recorded] = await rowsFor(createTime);
    expect(recorded?.status).toBe('received');
    const store = createEventStore(env.DB);
    expect((await store.get(recorded?.id ?? 0))?.enqueuedAt).toBeNull();

    // WeCom resends within the grace: one row, and the retry leaves the hand-off to its original.
    const retry = await throughQueue(refusing)(delivery.path, { ...delivery.init });
    expect(retry.response.status).toBe(200);
    await retry.afterResponse();
    expect(await rowsFor(createTime)).toHaveLength(1);
    // Nothing is swept while the request that recorded the row could still be handing it off.
    expect(await store.listUnsent(Date.now() - HANDOFF_GRACE_MS, 100)).not.toContain(recorded?.id);

    const later = Date.now() + HANDOFF_GRACE_MS + 1;
    expect(await sweepUnsent(env.EVENTS, store, later)).toBeGreaterThanOrEqual(1);
    expect((await applied(createTime))[0]).toMatchObject({ duplicates: 1, attempts: 1 });
    expect(await store.listUnsent(later, 100)).not.toContain(recorded?.id);
  });

  it('sends the event from a retry that comes after a lost hand-off, without waiting for the sweep', async () => {
    const createTime = 1_860_000_004;
    const delivery = await sealed('handoff-lost', createTime);
    // The first delivery is answered and its isolate dies with the send still pending: only the row exists.
    const first = await throughQueue(queueForTests(env.EVENTS, () => new Promise<void>(() => undefined)))(delivery.path, { ...delivery.init });
    expect(first.response.status).toBe(200);
    const [recorded] = await rowsFor(createTime);
    // WeCom's retry comes after the grace (moved back in time here rather than waited for).
    await env.DB.prepare('UPDATE events SET received_at = received_at - ?2 WHERE id = ?1').bind(recorded?.id, HANDOFF_GRACE_MS + 1000).run();
    const sends: EventMessage[] = [];
    const retry = await throughQueue(queueForTests(env.EVENTS, (message, real) => (sends.push(message), real(message))))(delivery.path, { ...delivery.init });
    expect(retry.response.status).toBe(200);
    await retry.afterResponse();
    expect(sends).toEqual([{ eventId: recorded?.id }]);
    expect((await applied(createTime))[0]).toMatchObject({ duplicates: 1, attempts: 1 });
  });

  it('records and sends an event once when its retry arrives while the first delivery is in flight', async () => {
    const createTime = 1_860_000_005;
    const delivery = await sealed('in-flight', createTime);
    const sends: EventMessage[] = [];
    const counting = queueForTests(env.EVENTS, (message, real) => {
      sends.push(message);
      return real(message);
    });
    const post = throughQueue(counting);
    const [first, retry] = await Promise.all([post(delivery.path, { ...delivery.init }), post(delivery.path, { ...delivery.init })]);
    expect([first.response.status, retry.response.status]).toEqual([200, 200]);
    await Promise.all([first.afterResponse(), retry.afterResponse()]);
    expect(sends).toHaveLength(1);
    expect((await applied(createTime))[0]).toMatchObject({ duplicates: 1, attempts: 1 });
  });

  it('fails the request when D1 cannot record the event, and the retry records it once', async () => {
    const createTime = 1_860_000_002;
    const delivery = await sealed('d1-fault', createTime);
    const db = faultyD1ForTests(env.DB, /INSERT INTO events/);
    const failing = through({ DB: db });
    const first = await failing(delivery.path, { ...delivery.init });
    expect(first.status).toBe(500);
    expect(db.injected()).toBe(1);
    expect(await rowsFor(createTime)).toHaveLength(0);

    const retry = await failing(delivery.path, { ...delivery.init });
    expect(retry.status).toBe(200);
    const rows = await rowsFor(createTime);
    expect(rows).toHaveLength(1);
    expect(rows[0]?.duplicates).toBe(0);
  });
});

// ---- one event of a queue batch failing --------------------------------------------------------------------

describe('the queue consumer with one event of a batch failing', () => {
  let sequence = 0;

  async function record(externalUserId: string): Promise<number> {
    sequence += 1;
    const event: WeComEvent = { kind: 'change_external_contact', changeType: 'edit_external_contact', corpId, createTime: 1_870_000_000 + sequence, userId: 'lisi', externalUserId };
    const outcome = await createEventStore(env.DB).record({ corpId, agentId, dedupeKey: `fault-batch|${externalUserId}|${sequence}`, kind: event.kind, changeType: event.changeType, event, now: Date.now() });
    return outcome.id;
  }

  async function run(ids: number[], attempts: number, handle: (event: Extract<WeComEvent, { kind: 'change_external_contact' }>) => Promise<void>, bindings: Cloudflare.Env = env) {
    const batch = createMessageBatch<EventMessage>(
      'wecom-events',
      ids.map((id) => ({ id: `m${id}-${attempts}`, timestamp: new Date(), attempts, body: { eventId: id } })),
    );
    await consumeEvents(batch, bindings, createRegistry().on('change_external_contact', handle));
    return getQueueResult(batch, createExecutionContext());
  }

  it('applies the others, retries only the failing one, and a redelivery applies it without repeating the rest', async () => {
    const ids = await Promise.all(['wmBatchA', 'wmBatchB', 'wmBatchC', 'wmBatchD', 'wmBatchE'].map(record));
    const failing = ids[2];
    const applied = new Map<string, number>();
    const tally = (event: { externalUserId: string }) => applied.set(event.externalUserId, (applied.get(event.externalUserId) ?? 0) + 1);

    const first = await run(ids, 1, async (event) => {
      if (event.externalUserId === 'wmBatchC') throw new Error('CRM refused wmBatchC');
      tally(event);
    });
    expect(first.explicitAcks.sort()).toEqual(ids.filter((id) => id !== failing).map((id) => `m${id}-1`).sort());
    expect(first.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual([`m${failing}-1`]);
    const store = createEventStore(env.DB);
    const failed = await store.get(failing ?? 0);
    expect(failed).toMatchObject({ status: 'received', attempts: 1 });
    expect(failed?.lastError).toContain('CRM refused wmBatchC');

    // The queue redelivers the failed message; a careless producer might even redeliver all of them.
    const second = await run(ids, 2, async (event) => {
      tally(event);
    });
    expect(second.retryMessages).toEqual([]);
    expect(second.explicitAcks).toHaveLength(ids.length);
    expect(Object.fromEntries(applied)).toEqual({ wmBatchA: 1, wmBatchB: 1, wmBatchC: 1, wmBatchD: 1, wmBatchE: 1 });
    for (const id of ids) expect((await store.get(id))?.status).toBe('applied');
    expect((await store.get(failing ?? 0))?.lastError).toBeNull();
  });

  it('retries an event whose status write failed after its handler ran, and never loses it', async () => {
    const ids = await Promise.all(['wmStatusA', 'wmStatusB', 'wmStatusC'].map(record));
    const db = faultyD1ForTests(env.DB, /SET status = 'applied'/, 2);
    const runs = new Map<string, number>();
    const first = await run(ids, 1, async (event) => {
      runs.set(event.externalUserId, (runs.get(event.externalUserId) ?? 0) + 1);
    }, { ...env, DB: db });
    expect(db.injected()).toBe(1);
    expect(first.retryMessages.map((m: { msgId: string }) => m.msgId)).toEqual([`m${ids[1]}-1`]);
    const second = await run(ids, 2, async (event) => {
      runs.set(event.externalUserId, (runs.get(event.externalUserId) ?? 0) + 1);
    });
    expect(second.retryMessages).toEqual([]);
    const store = createEventStore(env.DB);
    for (const id of ids) expect((await store.get(id))?.status).toBe('applied');
    // At least once: the handler of the event whose status was lost ran again, which is why handlers must be idempotent.
    expect(Object.fromEntries(runs)).toEqual({ wmStatusA: 1, wmStatusB: 2, wmStatusC: 1 });
    expect(await count('SELECT COUNT(*) AS n FROM events WHERE dedupe_key LIKE ?1', 'fault-batch|wmStatus%')).toBe(3);
  });
});
