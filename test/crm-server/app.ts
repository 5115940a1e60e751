/**
 * @module
 * A reference implementation of the CRM contract (docs/crm-openapi.yaml) with in-memory state:
 * it enforces the bearer token, `X-Corp-Id`, idempotency keys and `If-Match` the way a company
 * CRM must, so the worker's HTTP CRM is tested against real rules rather than canned answers.
 * Written apart from worker/crm/builtin.ts on purpose: the shared contract suite then checks
 * two implementations against each other, not one against itself.
 *
 * Tests steer it through `/__crm/*` (no token; never part of the contract): reset, faults on the
 * next calls (hang, status, garbage, dropped connection, before or after the write applies), the
 * call log, and per-key write counters. Runtime-neutral; Node serves it (server.ts).
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';

const STAGES = ['lead', 'qualified', 'proposal', 'won', 'lost'] as const;
type Stage = (typeof STAGES)[number];

interface Customer {
  id: string;
  name: string;
  company: string;
  stage: Stage;
  ownerUserid: string | null;
  mobiles: string[];
  unionid: string | null;
  tags: string[];
  customFields: Record<string, string>;
  version: number;
  createdAt: number;
  updatedAt: number;
}

interface Note {
  id: string;
  customerId: string;
  body: string;
  authorUserid: string;
  createdAt: number;
}

interface HistoryItem {
  id: string;
  customerId: string;
  kind: 'customer_created' | 'customer_edited' | 'note';
  at: number;
  actorUserid: string | null;
  /** Facts the sidebar words itself (a CRM may send its own `summary` text instead). */
  detail: { name?: string; changes?: Array<{ field: string; from: Value; to: Value }>; text?: string };
}

type Value = string | string[] | null;

/** A field's value as history shows it: custom fields as `key: value` lines. */
function valueOf(value: string | string[] | Record<string, string> | null): Value {
  if (value === null || typeof value === 'string' || Array.isArray(value)) return value;
  return Object.entries(value).map(([key, field]) => `${key}: ${field}`);
}

interface Corp {
  customers: Map<string, Customer>;
  /** Append order breaks ties between items written in the same millisecond. */
  notes: Array<Note & { seq: number }>;
  history: Array<HistoryItem & { seq: number }>;
}

/** A write's answer before it becomes a Response, so it can be remembered for repeats. */
interface Answer {
  status: 200 | 201 | 404 | 412;
  payload: Record<string, unknown>;
  etag?: string;
}

interface StoredWrite {
  fingerprint: string;
  answer: Answer;
}

export interface WriteCounter {
  /** Requests that arrived with this key, faulted ones included. */
  requests: number;
  /** Times a request with this key changed the data: 1 at most, if the CRM keeps its promise. */
  applied: number;
}

export interface CallRecord {
  method: string;
  path: string;
  corpId: string | null;
  idempotencyKey: string | null;
  /** What the client saw: the status, or `dropped` / `aborted`. */
  outcome: number | 'dropped' | 'aborted';
}

const faultSchema = v.strictObject({
  /** hang: answer late; status: answer `status` (500); garbage: 200 with `body` (HTML); drop: close the connection. */
  kind: v.picklist(['hang', 'status', 'garbage', 'drop']),
  /** How many of the next matching calls (default 1). */
  times: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1)), 1),
  method: v.optional(v.string()),
  /** Path prefix, e.g. `/v1/customers`. */
  path: v.optional(v.string()),
  /** `after`: the write applies first and only the answer is lost or late. */
  phase: v.optional(v.picklist(['before', 'after']), 'before'),
  delayMs: v.optional(v.pipe(v.number(), v.integer(), v.minValue(0)), 30_000),
  status: v.optional(v.pipe(v.number(), v.integer(), v.minValue(100), v.maxValue(599)), 500),
  body: v.optional(v.string()),
  contentType: v.optional(v.string()),
});

export type Fault = v.InferOutput<typeof faultSchema>;

export interface CrmAppOptions {
  token: string;
  now?: () => number;
}

/**
 * Marks an answer the Node adapter must not send: it destroys the socket instead. A header, not
 * object identity, because Hono rebuilds the Response when middleware replaces `c.res`.
 */
export const DROP_HEADER = 'x-crm-server-drop';

// ---- request bodies (additionalProperties: false, as the contract says) -----------------------------

const text = (max: number) => v.pipe(v.string(), v.maxLength(max));
const nonEmpty = (max: number) => v.pipe(v.string(), v.trim(), v.minLength(1), v.maxLength(max));
const list = v.pipe(v.array(nonEmpty(200)), v.maxLength(50));
const fields = v.pipe(
  v.record(v.pipe(v.string(), v.minLength(1), v.maxLength(200)), text(10_000)),
  v.check((value) => Object.keys(value).length <= 50, 'at most 50 custom fields'),
);
const optionalId = v.nullable(v.pipe(v.string(), v.trim(), v.maxLength(200)));

const draftSchema = v.strictObject({
  name: nonEmpty(200),
  company: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(200))),
  stage: v.optional(v.picklist(STAGES)),
  ownerUserid: v.optional(optionalId),
  mobiles: v.optional(list),
  unionid: v.optional(optionalId),
  tags: v.optional(list),
  customFields: v.optional(fields),
});

const patchSchema = v.pipe(
  v.strictObject({
    name: v.optional(nonEmpty(200)),
    company: v.optional(v.pipe(v.string(), v.trim(), v.maxLength(200))),
    stage: v.optional(v.picklist(STAGES)),
    ownerUserid: v.optional(optionalId),
    mobiles: v.optional(list),
    unionid: v.optional(optionalId),
    tags: v.optional(list),
    customFields: v.optional(fields),
  }),
  v.check((patch) => Object.keys(patch).length > 0, 'the patch changes nothing'),
);

const querySchema = v.strictObject({
  text: v.optional(v.string()),
  unionid: v.optional(v.string()),
  mobile: v.optional(v.string()),
  ownerUserids: v.optional(v.array(v.string())),
  limit: v.optional(v.pipe(v.number(), v.integer(), v.minValue(1), v.maxValue(100)), 20),
});

const batchSchema = v.strictObject({ ids: v.pipe(v.array(v.pipe(v.string(), v.minLength(1))), v.minLength(1), v.maxLength(100)) });
const noteSchema = v.strictObject({ body: nonEmpty(10_000) });

// ---- the contract's search rules, written from the contract text ------------------------------------

/** The contract's normalised mobile: the digits one dials from mainland China. */
function mobileDigits(raw: string): string {
  const digits = raw.replace(/[^0-9]/g, '');
  if (!/^[\s(（]*(\+|00)/.test(raw)) return /^861[3-9][0-9]{9}$/.test(digits) ? digits.slice(2) : digits;
  const international = digits.startsWith('00') ? digits.slice(2) : digits;
  if (international === '') return '';
  if (!international.startsWith('86')) return `00${international}`;
  const national = international.slice(2);
  const keepsAsIs = national === '' || national.startsWith('0') || /^1[3-9][0-9]{9}$/.test(national);
  return keepsAsIs ? national : `0${national}`;
}

/** Digits searched for in free text: without a leading +86 or 0086, and nothing added. */
function phoneFragment(query: string): string {
  const digits = query.replace(/[^0-9]/g, '');
  return /^\s*(\+|00)86/.test(query) ? digits.replace(/^(00)?86/, '') : digits;
}

function looksLikePhone(query: string): boolean {
  return /^[0-9 +()\-]+$/.test(query) && phoneFragment(query).length >= 4;
}

function matches(customer: Customer, query: v.InferOutput<typeof querySchema>): boolean {
  const needle = (query.text ?? '').trim();
  if (needle !== '') {
    const lower = needle.toLowerCase();
    const inText = customer.name.toLowerCase().includes(lower) || customer.company.toLowerCase().includes(lower);
    const inMobile = looksLikePhone(needle) && customer.mobiles.some((m) => mobileDigits(m).includes(phoneFragment(needle)));
    if (!inText && !inMobile) return false;
  }
  const unionid = (query.unionid ?? '').trim();
  if (unionid !== '' && customer.unionid !== unionid) return false;
  const mobile = (query.mobile ?? '').trim();
  if (mobile !== '') {
    const wanted = mobileDigits(mobile);
    if (wanted === '' || !customer.mobiles.some((m) => mobileDigits(m) === wanted)) return false;
  }
  if (query.ownerUserids !== undefined && (customer.ownerUserid === null || !query.ownerUserids.includes(customer.ownerUserid))) return false;
  return true;
}

function canonical(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    return `{${Object.keys(value)
      .sort()
      .map((key) => `${JSON.stringify(key)}:${canonical((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  }
  return JSON.stringify(value);
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(resolve, ms);
    signal.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        resolve();
      },
      { once: true },
    );
  });
}

function randomId(prefix: string): string {
  return `${prefix}_${crypto.randomUUID().replace(/-/g, '')}`;
}

type Vars = { corp: Corp; corpId: string };
type Ctx = Context<{ Variables: Vars }>;

export function createCrmApp(options: CrmAppOptions) {
  const now = options.now ?? Date.now;
  const state = {
    corps: new Map<string, Corp>(),
    writes: new Map<string, StoredWrite>(),
    counters: new Map<string, WriteCounter>(),
    faults: [] as Array<Fault & { remaining: number }>,
    calls: [] as CallRecord[],
  };

  function reset(): void {
    state.corps.clear();
    state.writes.clear();
    state.counters.clear();
    state.faults = [];
    state.calls = [];
  }

  function corpOf(corpId: string): Corp {
    let corp = state.corps.get(corpId);
    if (!corp) {
      corp = { customers: new Map(), notes: [], history: [] };
      state.corps.set(corpId, corp);
    }
    return corp;
  }

  const counterKey = (corpId: string, key: string) => `${corpId}/${key}`;
  function counter(corpId: string, key: string): WriteCounter {
    let found = state.counters.get(counterKey(corpId, key));
    if (!found) {
      found = { requests: 0, applied: 0 };
      state.counters.set(counterKey(corpId, key), found);
    }
    return found;
  }

  let seq = 0;
  function record(corp: Corp, item: Omit<HistoryItem, 'id'>): void {
    corp.history.push({ id: randomId('his'), ...item, seq: ++seq });
  }

  const error = (c: Ctx, status: 400 | 401 | 404 | 409 | 428, code: string, message: string) => c.json({ error: code, message }, status);

  function respond(answer: Answer, replayed = false): Response {
    const headers: Record<string, string> = { 'content-type': 'application/json; charset=utf-8' };
    if (answer.etag) headers.etag = answer.etag;
    if (replayed) headers['idempotent-replayed'] = 'true';
    return new Response(JSON.stringify(answer.payload), { status: answer.status, headers });
  }

  const customerAnswer = (customer: Customer, status: 200 | 201): Answer => ({ status, payload: { customer }, etag: `"${customer.version}"` });
  const notFound: Answer = { status: 404, payload: { error: 'not_found', message: 'No such customer' } };

  async function readBody<S extends v.GenericSchema>(c: Ctx, schema: S): Promise<{ ok: true; value: v.InferOutput<S> } | { ok: false; response: Response }> {
    let json: unknown;
    try {
      json = await c.req.json();
    } catch {
      return { ok: false, response: error(c, 400, 'invalid_request', 'The body is not JSON') };
    }
    const result = v.safeParse(schema, json);
    if (!result.success) {
      const issue = result.issues[0];
      const path = issue ? v.getDotPath(issue) : null;
      return { ok: false, response: error(c, 400, 'invalid_request', `${path ? `${path}: ` : ''}${issue?.message ?? 'invalid'}`) };
    }
    return { ok: true, value: result.output };
  }

  /**
   * Runs a write once per (corp, key): a repeat with the same request gets the first answer.
   * `apply` runs synchronously after the body is read, so two racing repeats cannot both apply.
   */
  function idempotent(c: Ctx, fingerprint: string, apply: () => Answer): Response {
    const key = c.req.header('idempotency-key') ?? '';
    const storeKey = counterKey(c.var.corpId, key);
    const stored = state.writes.get(storeKey);
    if (stored) {
      if (stored.fingerprint !== fingerprint) return error(c, 409, 'idempotency_key_reused', `Idempotency-Key ${key} was used for a different request`);
      return respond(stored.answer, true);
    }
    const answer = apply();
    // Only changes are remembered: a refused request changed nothing, so running it again is the same.
    if (answer.status === 200 || answer.status === 201) {
      counter(c.var.corpId, key).applied += 1;
      state.writes.set(storeKey, { fingerprint, answer });
    }
    return respond(answer);
  }

  const app = new Hono<{ Variables: Vars }>();

  app.onError((err, c) => c.json({ error: 'internal', message: `reference CRM bug: ${err instanceof Error ? err.message : String(err)}` }, 500));

  // ---- control API ----------------------------------------------------------------------------------

  app.post('/__crm/reset', (c) => {
    reset();
    return c.json({ ok: true });
  });

  app.post('/__crm/faults', async (c) => {
    const result = v.safeParse(faultSchema, await c.req.json().catch(() => null));
    if (!result.success) return c.json({ error: 'invalid_fault', message: result.issues.map((i) => i.message).join('; ') }, 400);
    state.faults.push({ ...result.output, remaining: result.output.times });
    return c.json({ ok: true });
  });

  app.get('/__crm/calls', (c) => c.json({ calls: state.calls }));

  app.get('/__crm/writes', (c) => {
    const corpId = c.req.query('corp');
    const key = c.req.query('key');
    if (corpId !== undefined && key !== undefined) return c.json(state.counters.get(counterKey(corpId, key)) ?? { requests: 0, applied: 0 });
    return c.json({ writes: Object.fromEntries(state.counters) });
  });

  // ---- the contract ---------------------------------------------------------------------------------

  // Call log and faults wrap everything under /v1, before authentication, like a proxy or a crash would.
  app.use('/v1/*', async (c, next) => {
    const method = c.req.method;
    const path = c.req.path;
    const corpId = c.req.header('x-corp-id') ?? null;
    const key = c.req.header('idempotency-key') ?? null;
    const call: CallRecord = { method, path, corpId, idempotencyKey: key, outcome: 'aborted' };
    state.calls.push(call);
    if (corpId && key && method !== 'GET') counter(corpId, key).requests += 1;

    const index = state.faults.findIndex((f) => f.remaining > 0 && (!f.method || f.method === method) && (!f.path || path.startsWith(f.path)));
    const fault = index === -1 ? undefined : state.faults[index];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) state.faults.splice(index, 1);
    }
    const signal = c.req.raw.signal;
    if (fault?.phase === 'before' && fault.kind === 'hang') await sleep(fault.delayMs, signal);
    if (signal.aborted) return new Response(null, { status: 499 });
    if (!fault || fault.phase === 'after' || fault.kind === 'hang') await next();
    if (fault?.phase === 'after' && fault.kind === 'hang') await sleep(fault.delayMs, signal);

    let response: Response = c.res;
    if (fault?.kind === 'status') {
      response = new Response(JSON.stringify({ error: 'injected', message: `injected HTTP ${fault.status}` }), {
        status: fault.status,
        headers: { 'content-type': 'application/json' },
      });
    } else if (fault?.kind === 'garbage') {
      response = new Response(fault.body ?? '<!doctype html><title>Sign in</title><h1>Company SSO</h1>', {
        status: 200,
        headers: { 'content-type': fault.contentType ?? 'text/html; charset=utf-8' },
      });
    } else if (fault?.kind === 'drop') {
      response = new Response(null, { status: 499, headers: { [DROP_HEADER]: '1' } });
    }
    call.outcome = signal.aborted ? 'aborted' : fault?.kind === 'drop' ? 'dropped' : response.status;
    c.res = response;
    return response;
  });

  app.use('/v1/*', async (c, next) => {
    const auth = c.req.header('authorization') ?? '';
    if (auth !== `Bearer ${options.token}`) return error(c, 401, 'unauthorized', 'Missing or wrong bearer token');
    const corpId = c.req.header('x-corp-id') ?? '';
    if (corpId === '') return error(c, 400, 'corp_required', 'X-Corp-Id is required');
    if (c.req.method !== 'GET') {
      if (c.req.path !== '/v1/customers/search' && c.req.path !== '/v1/customers/batch-get') {
        if (!c.req.header('idempotency-key')) return error(c, 400, 'idempotency_key_required', 'Every write needs an Idempotency-Key');
        if (!c.req.header('x-actor')) return error(c, 400, 'invalid_request', 'Every write names its actor in X-Actor');
      }
    }
    c.set('corpId', corpId);
    c.set('corp', corpOf(corpId));
    return next();
  });

  app.post('/v1/customers/search', async (c) => {
    const body = await readBody(c, querySchema);
    if (!body.ok) return body.response;
    if (body.value.ownerUserids?.length === 0) return c.json({ customers: [] });
    const found = [...c.var.corp.customers.values()]
      .filter((customer) => matches(customer, body.value))
      .sort((a, b) => b.updatedAt - a.updatedAt || (a.id < b.id ? -1 : 1))
      .slice(0, body.value.limit);
    return c.json({ customers: found });
  });

  app.post('/v1/customers/batch-get', async (c) => {
    const body = await readBody(c, batchSchema);
    if (!body.ok) return body.response;
    const customers = c.var.corp.customers;
    // Reversed on purpose: the contract says order is not significant, so clients must not rely on it.
    return c.json({ customers: [...new Set(body.value.ids)].reverse().flatMap((id) => customers.get(id) ?? []) });
  });

  app.post('/v1/customers', async (c) => {
    const body = await readBody(c, draftSchema);
    if (!body.ok) return body.response;
    const draft = body.value;
    return idempotent(c, `create ${canonical(draft)}`, () => {
      const at = now();
      const customer: Customer = {
        id: randomId('cus'),
        name: draft.name,
        company: draft.company ?? '',
        stage: draft.stage ?? 'lead',
        ownerUserid: draft.ownerUserid || null,
        mobiles: draft.mobiles ?? [],
        unionid: draft.unionid || null,
        tags: draft.tags ?? [],
        customFields: draft.customFields ?? {},
        version: 1,
        createdAt: at,
        updatedAt: at,
      };
      c.var.corp.customers.set(customer.id, customer);
      record(c.var.corp, { customerId: customer.id, kind: 'customer_created', at, actorUserid: c.req.header('x-actor') ?? null, detail: { name: customer.name } });
      return customerAnswer(customer, 201);
    });
  });

  app.get('/v1/customers/:id', (c) => {
    const customer = c.var.corp.customers.get(c.req.param('id'));
    return respond(customer ? customerAnswer(customer, 200) : notFound);
  });

  app.patch('/v1/customers/:id', async (c) => {
    const match = /^"([0-9]+)"$/.exec(c.req.header('if-match') ?? '');
    if (!match?.[1]) return error(c, 428, 'precondition_required', 'PATCH needs If-Match: "<version>"');
    const expected = Number(match[1]);
    const body = await readBody(c, patchSchema);
    if (!body.ok) return body.response;
    const patch = body.value;
    const id = c.req.param('id');
    return idempotent(c, `update ${id} ${expected} ${canonical(patch)}`, () => {
      const current = c.var.corp.customers.get(id);
      if (!current) return notFound;
      if (current.version !== expected) {
        return { status: 412, payload: { error: 'version_conflict', message: `The customer is at version ${current.version}`, current }, etag: `"${current.version}"` };
      }
      const at = now();
      const next: Customer = { ...current, version: current.version + 1, updatedAt: Math.max(at, current.updatedAt) };
      if (patch.name !== undefined) next.name = patch.name;
      if (patch.company !== undefined) next.company = patch.company;
      if (patch.stage !== undefined) next.stage = patch.stage;
      if (patch.ownerUserid !== undefined) next.ownerUserid = patch.ownerUserid || null;
      if (patch.mobiles !== undefined) next.mobiles = patch.mobiles;
      if (patch.unionid !== undefined) next.unionid = patch.unionid || null;
      if (patch.tags !== undefined) next.tags = patch.tags;
      if (patch.customFields !== undefined) next.customFields = patch.customFields;
      c.var.corp.customers.set(id, next);
      const changes = (Object.keys(patch) as Array<keyof typeof patch>).map((field) => ({ field, from: valueOf(current[field]), to: valueOf(next[field]) }));
      record(c.var.corp, { customerId: id, kind: 'customer_edited', at, actorUserid: c.req.header('x-actor') ?? null, detail: { changes } });
      return customerAnswer(next, 200);
    });
  });

  app.get('/v1/customers/:id/notes', (c) => {
    const id = c.req.param('id');
    if (!c.var.corp.customers.has(id)) return error(c, 404, 'not_found', 'No such customer');
    const notes = c.var.corp.notes
      .filter((note) => note.customerId === id)
      .sort((a, b) => b.createdAt - a.createdAt || b.seq - a.seq)
      .map(({ seq: _seq, ...note }) => note);
    return c.json({ notes });
  });

  app.post('/v1/customers/:id/notes', async (c) => {
    const body = await readBody(c, noteSchema);
    if (!body.ok) return body.response;
    const id = c.req.param('id');
    return idempotent(c, `note ${id} ${canonical(body.value)}`, () => {
      if (!c.var.corp.customers.has(id)) return notFound;
      const at = now();
      const actor = c.req.header('x-actor') ?? '';
      const note: Note = { id: randomId('note'), customerId: id, body: body.value.body, authorUserid: actor, createdAt: at };
      c.var.corp.notes.push({ ...note, seq: ++seq });
      record(c.var.corp, { customerId: id, kind: 'note', at, actorUserid: actor, detail: { text: note.body.length > 140 ? `${note.body.slice(0, 139)}…` : note.body } });
      return { status: 201, payload: { note } };
    });
  });

  app.get('/v1/customers/:id/history', (c) => {
    const id = c.req.param('id');
    if (!c.var.corp.customers.has(id)) return error(c, 404, 'not_found', 'No such customer');
    const items = c.var.corp.history
      .filter((item) => item.customerId === id)
      .sort((a, b) => b.at - a.at || b.seq - a.seq)
      .map(({ seq: _seq, ...item }) => item);
    return c.json({ items });
  });

  app.notFound((c) => c.text('Not Found', 404));

  return { app, reset, state };
}
