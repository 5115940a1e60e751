/**
 * @module
 * The company's own CRM over HTTP (`CRM=http`), against the JSON contract in docs/crm-openapi.yaml.
 *
 * Rules every call follows:
 * - Each attempt has its own deadline (`timeoutMs`, default 5 s); a timeout is never retried, since
 *   the sidebar's member is already waiting and the CRM may still be working on it.
 * - A network error or a 5xx is retried once. For writes that is safe only because the retry
 *   carries the same `Idempotency-Key`, which the contract obliges the CRM to apply once.
 * - Every body is validated before anything reads it: a proxy's login page or a half-deployed CRM
 *   becomes `crm_bad_response`, never a customer with missing fields.
 * - Redirects are not followed: the bearer token goes only to `CRM_BASE_URL`.
 * - Messages name the operation and what failed, never the token or the URL (it may carry credentials).
 */
import * as v from 'valibot';
import { DEFAULT_CRM_TIMEOUT_MS } from '../env.ts';
import { isId } from '../ids.ts';
import { log } from '../log.ts';
import { clampLimit } from './builtin.ts';
import {
  CrmRejectedError,
  CrmUnavailableError,
  STAGES,
  type Crm,
  type CrmHistoryItem,
  type Customer,
  type CustomerQuery,
  type Note,
  type UpdateResult,
  type WriteContext,
} from './port.ts';

export interface HttpCrmOptions {
  /** `CRM_BASE_URL`: the contract's paths (`/v1/...`) are appended to it. */
  baseUrl: string;
  /** `CRM_API_TOKEN`, sent as `Authorization: Bearer`. */
  token: string;
  fetch?: typeof fetch;
  /** Per attempt. */
  timeoutMs?: number;
}

/** The contract's ceiling for one batch-get. */
export const BATCH_GET_MAX = 100;

// ---- response shapes: the contract's schemas, checked on every answer --------------------------------

const epochMs = v.pipe(v.number(), v.integer(), v.minValue(0));
const id = v.pipe(v.string(), v.minLength(1));

const customerSchema = v.object({
  id,
  name: v.string(),
  company: v.string(),
  stage: v.picklist(STAGES),
  ownerUserid: v.nullable(v.string()),
  mobiles: v.array(v.string()),
  unionid: v.nullable(v.string()),
  tags: v.array(v.string()),
  customFields: v.record(v.string(), v.string()),
  version: v.pipe(v.number(), v.integer(), v.minValue(1)),
  createdAt: epochMs,
  updatedAt: epochMs,
});

const noteSchema = v.object({ id, customerId: id, body: v.string(), authorUserid: v.string(), createdAt: epochMs });

const fieldValue = v.nullable(v.union([v.string(), v.array(v.string())]));

const historySchema = v.object({
  id,
  customerId: id,
  kind: v.picklist(['customer_created', 'customer_edited', 'note']),
  at: epochMs,
  actorUserid: v.nullable(v.string()),
  /** Its own words, shown as written when it sends no detail. */
  summary: v.optional(v.string()),
  detail: v.optional(
    v.object({
      name: v.optional(v.string()),
      changes: v.optional(v.array(v.object({ field: v.string(), from: v.optional(fieldValue), to: fieldValue }))),
      text: v.optional(v.string()),
    }),
  ),
});

const customerBody = v.object({ customer: customerSchema });
const customersBody = v.object({ customers: v.array(customerSchema) });
const noteBody = v.object({ note: noteSchema });
const notesBody = v.object({ notes: v.array(noteSchema) });
const historyBody = v.object({ items: v.array(historySchema) });
const errorBody = v.object({ error: v.string(), message: v.optional(v.string()) });
const conflictBody = v.object({ error: v.literal('version_conflict'), current: customerSchema });

// ---- transport -----------------------------------------------------------------------------------------

interface Call {
  /** For messages and logs: "create customer", "list notes". */
  operation: string;
  method: 'GET' | 'POST' | 'PATCH';
  path: string;
  corpId: string;
  body?: unknown;
  write?: WriteContext;
  ifMatch?: number;
}

interface Answer {
  status: number;
  text: string;
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message || error.name : String(error);
}

/** Rejects when `signal` aborts, so a fetch or body read that ignores the signal still ends on time. */
function deadline<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/**
 * A customer id as one path segment. Checked here too, not only at the routes: `.` or `..` would
 * resolve to a parent path of `/v1/customers/` and send the bearer token to another endpoint.
 */
function segment(value: string): string {
  if (!isId('customer', value)) throw new CrmRejectedError(400, 'build the CRM path', 'Malformed customer id: refused before calling the CRM');
  return encodeURIComponent(value);
}

export function createHttpCrm(options: HttpCrmOptions): Crm {
  const base = options.baseUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? DEFAULT_CRM_TIMEOUT_MS;
  // Called as a plain function: workerd refuses `fetch` invoked as a method of another object.
  const doFetch = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));

  async function attempt(call: Call): Promise<Answer> {
    const headers = new Headers({ accept: 'application/json', authorization: `Bearer ${options.token}`, 'x-corp-id': call.corpId });
    if (call.write) {
      headers.set('idempotency-key', call.write.idempotencyKey);
      headers.set('x-actor', call.write.actor);
    }
    if (call.ifMatch !== undefined) headers.set('if-match', `"${call.ifMatch}"`);
    const signal = AbortSignal.timeout(timeoutMs);
    const init: RequestInit = { method: call.method, headers, signal, redirect: 'manual' };
    if (call.body !== undefined) {
      headers.set('content-type', 'application/json');
      init.body = JSON.stringify(call.body);
    }
    try {
      const response = await deadline(doFetch(`${base}${call.path}`, init), signal);
      const text = await deadline(response.text(), signal);
      return { status: response.status, text };
    } catch (error) {
      if (signal.aborted) throw new CrmUnavailableError('crm_timeout', call.operation, `CRM ${call.operation} timed out after ${timeoutMs} ms`);
      throw new CrmUnavailableError('crm_unreachable', call.operation, `CRM ${call.operation} failed: the CRM could not be reached (${describe(error)})`);
    }
  }

  /** One call with at most one retry, after a network error or a 5xx only. */
  async function send(call: Call): Promise<Answer> {
    for (let attemptNo = 1; ; attemptNo++) {
      const started = Date.now();
      let failure: CrmUnavailableError;
      try {
        const answer = await attempt(call);
        log(answer.status < 500 ? 'info' : 'warn', 'crm.call', { operation: call.operation, corpId: call.corpId, status: answer.status, ms: Date.now() - started, attempt: attemptNo });
        if (answer.status < 500) return answer;
        failure = new CrmUnavailableError('crm_unreachable', call.operation, `CRM ${call.operation} failed: the CRM answered HTTP ${answer.status}`);
      } catch (error) {
        if (!(error instanceof CrmUnavailableError)) throw error;
        log('warn', 'crm.call', { operation: call.operation, corpId: call.corpId, error: error.code, ms: Date.now() - started, attempt: attemptNo });
        if (error.code !== 'crm_unreachable') throw error;
        failure = error;
      }
      if (attemptNo >= 2) throw failure;
    }
  }

  function badResponse(call: Call, answer: Answer, what: string): CrmUnavailableError {
    return new CrmUnavailableError('crm_bad_response', call.operation, `CRM ${call.operation} answered HTTP ${answer.status} with ${what}`);
  }

  function parse<S extends v.GenericSchema>(call: Call, answer: Answer, schema: S): v.InferOutput<S> {
    let json: unknown;
    try {
      json = JSON.parse(answer.text);
    } catch {
      throw badResponse(call, answer, `a body that is not JSON (${answer.text.length} bytes)`);
    }
    const result = v.safeParse(schema, json);
    if (!result.success) {
      // The path only: values may be customer data, and messages reach logs and the wire.
      const issue = result.issues[0];
      const at = issue ? v.getDotPath(issue) : null;
      throw badResponse(call, answer, `a body that does not match the contract${at ? ` (at ${at})` : ''}`);
    }
    return result.output;
  }

  /** The answers every operation treats alike: success is the caller's, the rest becomes an error. */
  function refuse(call: Call, answer: Answer): never {
    const { status } = answer;
    if (status === 401 || status === 403) {
      throw new CrmUnavailableError(
        'crm_error',
        call.operation,
        `CRM ${call.operation} was refused with HTTP ${status}: the CRM does not accept CRM_API_TOKEN (check CRM_API_TOKEN and CRM_BASE_URL)`,
      );
    }
    let detail: v.InferOutput<typeof errorBody> | undefined;
    try {
      const result = v.safeParse(errorBody, JSON.parse(answer.text));
      if (result.success) detail = result.output;
    } catch {
      detail = undefined;
    }
    if (status === 404 && !detail) {
      // A contract 404 always says which error; a bare one means the URL is not the CRM's API.
      throw new CrmUnavailableError('crm_error', call.operation, `CRM ${call.operation} answered HTTP 404 without the contract's error body: check CRM_BASE_URL`);
    }
    const said = detail ? `: ${detail.error}${detail.message ? ` (${detail.message.slice(0, 200)})` : ''}` : '';
    if (status === 400 || status === 422) throw new CrmRejectedError(400, call.operation, `CRM refused ${call.operation}${said}`);
    if (status === 404) throw new CrmRejectedError(404, call.operation, `CRM ${call.operation}: not found${said}`);
    if (status === 409) throw new CrmRejectedError(409, call.operation, `CRM refused ${call.operation}${said}`);
    if (status >= 300 && status < 400) {
      throw new CrmUnavailableError('crm_error', call.operation, `CRM ${call.operation} answered with a redirect (HTTP ${status}): check CRM_BASE_URL`);
    }
    throw new CrmUnavailableError('crm_error', call.operation, `CRM ${call.operation} answered HTTP ${status}${said}`);
  }

  const ok = (answer: Answer) => answer.status >= 200 && answer.status < 300;
  const isNotFound = (answer: Answer) => {
    if (answer.status !== 404) return false;
    try {
      const result = v.safeParse(errorBody, JSON.parse(answer.text));
      return result.success && result.output.error === 'not_found';
    } catch {
      return false;
    }
  };

  async function getMany(corpId: string, ids: string[]): Promise<Customer[]> {
    const unique = [...new Set(ids)];
    const found = new Map<string, Customer>();
    for (let start = 0; start < unique.length; start += BATCH_GET_MAX) {
      const chunk = unique.slice(start, start + BATCH_GET_MAX);
      const call: Call = { operation: 'get customers', method: 'POST', path: '/v1/customers/batch-get', corpId, body: { ids: chunk } };
      const answer = await send(call);
      if (!ok(answer)) refuse(call, answer);
      const wanted = new Set(chunk);
      for (const customer of parse(call, answer, customersBody).customers) {
        if (!wanted.has(customer.id)) throw badResponse(call, answer, `customer ${customer.id}, which was not asked for`);
        found.set(customer.id, customer);
      }
    }
    return unique.flatMap((key) => found.get(key) ?? []);
  }

  return {
    async find(corpId, query: CustomerQuery) {
      if (query.ownerUserids !== undefined && query.ownerUserids.length === 0) return [];
      const limit = clampLimit(query.limit);
      const body: Record<string, unknown> = { limit };
      if (query.text !== undefined) body.text = query.text;
      if (query.unionid !== undefined) body.unionid = query.unionid;
      if (query.mobile !== undefined) body.mobile = query.mobile;
      if (query.ownerUserids !== undefined) body.ownerUserids = query.ownerUserids;
      const call: Call = { operation: 'find customers', method: 'POST', path: '/v1/customers/search', corpId, body };
      const answer = await send(call);
      if (!ok(answer)) refuse(call, answer);
      const { customers } = parse(call, answer, customersBody);
      if (customers.length > limit) throw badResponse(call, answer, `${customers.length} customers where at most ${limit} were asked for`);
      return customers;
    },

    async get(corpId, customerId) {
      const call: Call = { operation: 'get customer', method: 'GET', path: `/v1/customers/${segment(customerId)}`, corpId };
      const answer = await send(call);
      if (isNotFound(answer)) return undefined;
      if (!ok(answer)) refuse(call, answer);
      const { customer } = parse(call, answer, customerBody);
      if (customer.id !== customerId) throw badResponse(call, answer, `customer ${customer.id} instead of ${customerId}`);
      return customer;
    },

    getMany,

    async create(draft, context) {
      const call: Call = { operation: 'create customer', method: 'POST', path: '/v1/customers', corpId: context.corpId, body: draft, write: context };
      const answer = await send(call);
      if (!ok(answer)) refuse(call, answer);
      return parse(call, answer, customerBody).customer;
    },

    async update(customerId, expectedVersion, patch, context): Promise<UpdateResult> {
      const call: Call = {
        operation: 'update customer',
        method: 'PATCH',
        path: `/v1/customers/${segment(customerId)}`,
        corpId: context.corpId,
        body: patch,
        write: context,
        ifMatch: expectedVersion,
      };
      const answer = await send(call);
      if (answer.status === 412) return { ok: false, reason: 'version_conflict', current: parse(call, answer, conflictBody).current };
      if (isNotFound(answer)) return { ok: false, reason: 'not_found' };
      if (!ok(answer)) refuse(call, answer);
      const { customer } = parse(call, answer, customerBody);
      if (customer.id !== customerId) throw badResponse(call, answer, `customer ${customer.id} instead of ${customerId}`);
      return { ok: true, customer };
    },

    async listNotes(corpId, customerId): Promise<Note[]> {
      const call: Call = { operation: 'list notes', method: 'GET', path: `/v1/customers/${segment(customerId)}/notes`, corpId };
      const answer = await send(call);
      if (!ok(answer)) refuse(call, answer);
      const { notes } = parse(call, answer, notesBody);
      if (notes.some((note) => note.customerId !== customerId)) throw badResponse(call, answer, "another customer's notes");
      return notes;
    },

    async addNote(customerId, body, context) {
      const call: Call = {
        operation: 'add note',
        method: 'POST',
        path: `/v1/customers/${segment(customerId)}/notes`,
        corpId: context.corpId,
        body: { body },
        write: context,
      };
      const answer = await send(call);
      if (!ok(answer)) refuse(call, answer);
      const { note } = parse(call, answer, noteBody);
      if (note.customerId !== customerId) throw badResponse(call, answer, "another customer's note");
      return note;
    },

    async history(corpId, customerId): Promise<CrmHistoryItem[]> {
      const call: Call = { operation: 'read history', method: 'GET', path: `/v1/customers/${segment(customerId)}/history`, corpId };
      const answer = await send(call);
      if (!ok(answer)) refuse(call, answer);
      const { items } = parse(call, answer, historyBody);
      if (items.some((item) => item.customerId !== customerId)) throw badResponse(call, answer, "another customer's history");
      return items.map(({ summary, detail, ...item }) => ({ ...item, detail: detail ?? (summary ? { text: summary } : {}) }));
    },
  };
}
