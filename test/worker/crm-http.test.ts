import { env } from 'cloudflare:test';
import { beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { createHttpCrm } from '../../worker/crm/http.ts';
import { crmFor } from '../../worker/crm/index.ts';
import { CrmUnavailableError } from '../../worker/crm/port.ts';
import { readConfig } from '../../worker/env.ts';
import { crmContract, newCorpId, writeContext } from './crm-contract.ts';

const crmUrl = inject('crmUrl');
const crmToken = inject('crmToken');
const crmDownUrl = inject('crmDownUrl');

// The reference CRM is shared by the worker suite: start from no armed faults, whatever ran before.
beforeAll(async () => {
  await fetch(`${crmUrl}/__crm/reset`, { method: 'POST' });
});

crmContract('http', () => createHttpCrm({ baseUrl: crmUrl, token: crmToken }));

// ---- the reference CRM's control API (test/crm-server/app.ts) ------------------------------------

interface Fault {
  kind: 'hang' | 'status' | 'garbage' | 'drop';
  times?: number;
  method?: string;
  path?: string;
  phase?: 'before' | 'after';
  delayMs?: number;
  status?: number;
  body?: string;
  contentType?: string;
}

async function control<T>(path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${crmUrl}/__crm/${path}`, body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`reference CRM ${path}: ${response.status} ${await response.text()}`);
  return response.json<T>();
}

const fault = (f: Fault) => control('faults', f);
const writes = (corpId: string, key: string) => control<{ requests: number; applied: number }>(`writes?corp=${corpId}&key=${encodeURIComponent(key)}`);
async function callsTo(method: string, pathPrefix: string): Promise<number> {
  const { calls } = await control<{ calls: Array<{ method: string; path: string }> }>('calls');
  return calls.filter((call) => call.method === method && call.path.startsWith(pathPrefix)).length;
}

/** The rejection, for assertions on several of its properties at once. */
async function failure(promise: Promise<unknown>): Promise<CrmUnavailableError> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof CrmUnavailableError) return error;
    throw error;
  }
  throw new Error('expected the call to fail');
}

function expectNoSecrets(error: Error, ...secrets: string[]) {
  for (const secret of [crmToken, ...secrets]) expect(error.message).not.toContain(secret);
}

describe('createHttpCrm: what goes over the wire', () => {
  it('sends the token, the corp, and on writes the idempotency key, the actor and If-Match', async () => {
    const seen: Request[] = [];
    const spy: typeof fetch = (input, init) => {
      const request = new Request(input, init);
      seen.push(request.clone());
      return fetch(request);
    };
    const crm = createHttpCrm({ baseUrl: `${crmUrl}/`, token: crmToken, fetch: spy });
    const corpId = newCorpId();
    const customer = await crm.create({ name: 'Wire' }, writeContext(corpId, 'wire-create', 'lisi'));
    await crm.update(customer.id, 1, { stage: 'won' }, writeContext(corpId, 'wire-update', 'lisi'));
    await crm.get(corpId, customer.id);

    const [create, update, get] = seen;
    expect(create?.url).toBe(`${crmUrl}/v1/customers`);
    expect(create?.method).toBe('POST');
    expect(create?.headers.get('authorization')).toBe(`Bearer ${crmToken}`);
    expect(create?.headers.get('x-corp-id')).toBe(corpId);
    expect(create?.headers.get('idempotency-key')).toBe('wire-create');
    expect(create?.headers.get('x-actor')).toBe('lisi');
    expect(await create?.json()).toEqual({ name: 'Wire' });
    expect(update?.method).toBe('PATCH');
    expect(update?.url).toBe(`${crmUrl}/v1/customers/${encodeURIComponent(customer.id)}`);
    expect(update?.headers.get('if-match')).toBe('"1"');
    expect(update?.headers.get('idempotency-key')).toBe('wire-update');
    expect(get?.headers.get('idempotency-key')).toBeNull();
    expect(get?.headers.get('x-corp-id')).toBe(corpId);
  });

  it('asks nothing of the CRM for an empty owner list or an empty id list', async () => {
    let calls = 0;
    const crm = createHttpCrm({
      baseUrl: crmUrl,
      token: crmToken,
      fetch: (input, init) => {
        calls += 1;
        return fetch(input, init);
      },
    });
    expect(await crm.find(newCorpId(), { text: 'x', ownerUserids: [] })).toEqual([]);
    expect(await crm.getMany(newCorpId(), [])).toEqual([]);
    expect(calls).toBe(0);
  });
});

describe('createHttpCrm when the CRM misbehaves', () => {
  beforeEach(async () => {
    await control('reset', {});
  });

  it('reports a CRM that refuses connections as crm_unreachable (502) after one retry', async () => {
    let attempts = 0;
    const crm = createHttpCrm({
      baseUrl: crmDownUrl,
      token: crmToken,
      fetch: (input, init) => {
        attempts += 1;
        return fetch(input, init);
      },
    });
    const error = await failure(crm.get(newCorpId(), 'cus_1'));
    expect(error).toMatchObject({ code: 'crm_unreachable', status: 502, operation: 'get customer' });
    expect(error.message).toMatch(/^CRM get customer failed: the CRM could not be reached/);
    expect(attempts).toBe(2);
    expectNoSecrets(error);
  });

  it('gives up on a slow CRM after timeoutMs with crm_timeout (504), without retrying', async () => {
    const corpId = newCorpId();
    await fault({ kind: 'hang', method: 'GET', path: '/v1/customers/', delayMs: 5_000 });
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken, timeoutMs: 200 });
    const started = Date.now();
    const error = await failure(crm.get(corpId, 'cus_slow'));
    const took = Date.now() - started;
    expect(error).toMatchObject({ code: 'crm_timeout', status: 504, message: 'CRM get customer timed out after 200 ms' });
    expect(took).toBeGreaterThanOrEqual(150);
    expect(took).toBeLessThan(2_000);
    expect(await callsTo('GET', '/v1/customers/')).toBe(1);
  });

  it('retries a read once after a 500 and returns the answer', async () => {
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken });
    const corpId = newCorpId();
    const customer = await crm.create({ name: 'Flaky read' }, writeContext(corpId));
    await fault({ kind: 'status', status: 500, method: 'GET' });
    expect(await crm.get(corpId, customer.id)).toEqual(customer);
    expect(await callsTo('GET', '/v1/customers/')).toBe(2);
  });

  it('reports two 500s in a row as crm_unreachable and stops there', async () => {
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken });
    await fault({ kind: 'status', status: 503, times: 3, path: '/v1/customers/search' });
    const error = await failure(crm.find(newCorpId(), { text: 'x' }));
    expect(error).toMatchObject({ code: 'crm_unreachable', status: 502, message: 'CRM find customers failed: the CRM answered HTTP 503' });
    expect(await callsTo('POST', '/v1/customers/search')).toBe(2);
  });

  it('refuses an HTML page in place of JSON as crm_bad_response, without retrying', async () => {
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken });
    await fault({ kind: 'garbage', path: '/v1/customers/search' });
    const error = await failure(crm.find(newCorpId(), {}));
    expect(error).toMatchObject({ code: 'crm_bad_response', status: 502, operation: 'find customers' });
    expect(error.message).toContain('not JSON');
    expect(await callsTo('POST', '/v1/customers/search')).toBe(1);
  });

  it('refuses JSON that does not match the contract as crm_bad_response, naming where', async () => {
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken });
    const customer = { id: 'cus_1', name: 'Half', company: '', stage: 'lead', ownerUserid: null, mobiles: [], unionid: null, tags: [], customFields: {}, version: '2', createdAt: 1, updatedAt: 1 };
    await fault({ kind: 'garbage', path: '/v1/customers/cus_1', body: JSON.stringify({ customer }), contentType: 'application/json' });
    const error = await failure(crm.get(newCorpId(), 'cus_1'));
    expect(error).toMatchObject({ code: 'crm_bad_response', status: 502 });
    expect(error.message).toContain('customer.version');
    await fault({ kind: 'garbage', path: '/v1/customers/cus_1', body: JSON.stringify({ customer: { ...customer, version: 2, id: 'cus_2' } }), contentType: 'application/json' });
    expect(await failure(crm.get(newCorpId(), 'cus_1'))).toMatchObject({ code: 'crm_bad_response' });
  });

  it('says CRM_API_TOKEN is wrong when the CRM refuses the token, and prints neither token', async () => {
    const wrong = 'wrong-token-7f3a9c';
    const crm = createHttpCrm({ baseUrl: crmUrl, token: wrong });
    const error = await failure(crm.find(newCorpId(), {}));
    expect(error).toMatchObject({ code: 'crm_error', status: 502, operation: 'find customers' });
    expect(error.message).toContain('HTTP 401');
    expect(error.message).toContain('CRM_API_TOKEN');
    expectNoSecrets(error, wrong);
    expect(await callsTo('POST', '/v1/customers/search')).toBe(1);
  });

  it('says CRM_BASE_URL is wrong when a 404 does not come from the contract', async () => {
    const crm = createHttpCrm({ baseUrl: `${crmUrl}/not-the-api`, token: crmToken });
    const error = await failure(crm.get(newCorpId(), 'cus_1'));
    expect(error).toMatchObject({ code: 'crm_error', status: 502 });
    expect(error.message).toContain('CRM_BASE_URL');
  });

  it('applies a create once when the connection drops after the write and the retry carries the same key', async () => {
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken });
    const corpId = newCorpId();
    await fault({ kind: 'drop', phase: 'after', method: 'POST', path: '/v1/customers' });
    const customer = await crm.create({ name: 'Dropped once' }, writeContext(corpId, 'dropped-create'));
    expect(customer).toMatchObject({ name: 'Dropped once', version: 1 });
    expect(await writes(corpId, 'dropped-create')).toEqual({ requests: 2, applied: 1 });
    expect((await crm.find(corpId, {})).map((c) => c.id)).toEqual([customer.id]);
  });

  it('applies a note once when the first answer is a 500 after the write', async () => {
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken });
    const corpId = newCorpId();
    const customer = await crm.create({ name: 'Noted' }, writeContext(corpId));
    await fault({ kind: 'status', status: 502, phase: 'after', method: 'POST', path: `/v1/customers/${customer.id}/notes` });
    const note = await crm.addNote(customer.id, 'Once only', writeContext(corpId, 'note-500'));
    expect(await writes(corpId, 'note-500')).toEqual({ requests: 2, applied: 1 });
    expect((await crm.listNotes(corpId, customer.id)).map((n) => n.id)).toEqual([note.id]);
  });

  it('retries a failing write only once', async () => {
    const crm = createHttpCrm({ baseUrl: crmUrl, token: crmToken });
    const corpId = newCorpId();
    await fault({ kind: 'status', status: 500, times: 5, method: 'POST', path: '/v1/customers' });
    const error = await failure(crm.create({ name: 'Never' }, writeContext(corpId, 'three-500s')));
    expect(error).toMatchObject({ code: 'crm_unreachable', operation: 'create customer' });
    expect(await writes(corpId, 'three-500s')).toEqual({ requests: 2, applied: 0 });
  });

  it('does not retry a write that timed out, and the caller\'s retry with the same key returns what was applied', async () => {
    const corpId = newCorpId();
    await fault({ kind: 'hang', phase: 'after', delayMs: 3_000, method: 'POST', path: '/v1/customers' });
    const slow = createHttpCrm({ baseUrl: crmUrl, token: crmToken, timeoutMs: 250 });
    const error = await failure(slow.create({ name: 'Slow' }, writeContext(corpId, 'slow-create')));
    expect(error).toMatchObject({ code: 'crm_timeout', status: 504, message: 'CRM create customer timed out after 250 ms' });
    expect(await writes(corpId, 'slow-create')).toEqual({ requests: 1, applied: 1 });
    const customer = await slow.create({ name: 'Slow' }, writeContext(corpId, 'slow-create'));
    expect(await writes(corpId, 'slow-create')).toEqual({ requests: 2, applied: 1 });
    expect((await slow.find(corpId, {})).map((c) => c.id)).toEqual([customer.id]);
  });
});

describe('CRM configuration', () => {
  const base = { ...env, CRM: undefined, CRM_BASE_URL: undefined, CRM_API_TOKEN: undefined, CRM_TIMEOUT_MS: undefined };

  it('uses the built-in CRM unless told otherwise', () => {
    const result = readConfig(base);
    expect(result.ok && result.config.crm).toEqual({ kind: 'builtin' });
  });

  it('reads a complete http configuration with a 5 s default timeout', () => {
    const result = readConfig({ ...base, CRM: 'http', CRM_BASE_URL: 'https://crm.example.com/wecom/', CRM_API_TOKEN: 'secret-token' });
    expect(result.ok && result.config.crm).toEqual({ kind: 'http', baseUrl: 'https://crm.example.com/wecom', token: 'secret-token', timeoutMs: 5_000 });
    const custom = readConfig({ ...base, CRM: 'http', CRM_BASE_URL: 'http://10.0.0.5:8080', CRM_API_TOKEN: 't', CRM_TIMEOUT_MS: '1500' });
    expect(custom.ok && custom.config.crm).toMatchObject({ timeoutMs: 1_500 });
  });

  it('names each CRM problem', () => {
    expect(readConfig({ ...base, CRM: 'salesforce' })).toEqual({ ok: false, problems: ['CRM must be builtin or http'] });
    const missing = readConfig({ ...base, CRM: 'http' });
    expect(missing.ok ? [] : missing.problems).toEqual([
      "CRM_BASE_URL is missing (CRM=http needs the company CRM's API base URL)",
      'CRM_API_TOKEN is missing (CRM=http needs the bearer token the company CRM issued)',
    ]);
    const malformed = readConfig({ ...base, CRM: 'http', CRM_BASE_URL: 'ftp://crm.example.com', CRM_API_TOKEN: 'secret-token', CRM_TIMEOUT_MS: '5s' });
    expect(malformed.ok ? [] : malformed.problems).toEqual([
      'CRM_BASE_URL must be an absolute http(s) URL without query or fragment',
      'CRM_TIMEOUT_MS must be a whole number of milliseconds from 100 to 30000',
    ]);
    expect(JSON.stringify(malformed)).not.toContain('secret-token');
  });

  it('builds the CRM the configuration names', async () => {
    const corpId = newCorpId();
    const remote = crmFor(env, { crm: { kind: 'http', baseUrl: crmUrl, token: crmToken, timeoutMs: 2_000 } });
    const viaHttp = await remote.create({ name: 'Over HTTP' }, writeContext(corpId, 'crm-for-http'));
    expect(await writes(corpId, 'crm-for-http')).toEqual({ requests: 1, applied: 1 });
    const local = crmFor(env, { crm: { kind: 'builtin' } });
    expect(await local.get(corpId, viaHttp.id)).toBeUndefined();
    const inD1 = await local.create({ name: 'In D1' }, writeContext(corpId));
    const row = await env.DB.prepare('SELECT name FROM crm_customers WHERE corp_id = ? AND id = ?').bind(corpId, inD1.id).first<{ name: string }>();
    expect(row?.name).toBe('In D1');
  });
});
