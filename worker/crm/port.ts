/**
 * @module
 * The one CRM interface the rest of the worker talks to. Two implementations sit behind it,
 * chosen by `CRM`: `builtin` (D1, the default) and `http` (the company's own CRM over a small
 * JSON contract, docs/crm-openapi.yaml). Every call is scoped to a corp; every write names the
 * acting member and carries an idempotency key, so a retried write never applies twice.
 */
import { AppError } from '../errors.ts';
import { STAGES, type CustomerView, type Stage, type TimelineDetail } from '../wire.ts';

export { STAGES, type Stage };

/**
 * The CRM's record: the fields the wire's `CustomerView` shows, with the owner as a WeCom userid
 * (the view adds the name) and no scope flag (the view says whether the reader sees all of it).
 */
export type Customer = Omit<CustomerView, 'owner' | 'full'> & {
  /** WeCom userid of the owning member. */
  ownerUserid: string | null;
};

export interface CustomerDraft {
  name: string;
  company?: string;
  stage?: Stage;
  ownerUserid?: string | null;
  mobiles?: string[];
  unionid?: string | null;
  tags?: string[];
  customFields?: Record<string, string>;
}

export type CustomerPatch = Partial<Pick<Customer, 'name' | 'company' | 'stage' | 'ownerUserid' | 'mobiles' | 'unionid' | 'tags' | 'customFields'>>;

export interface Note {
  id: string;
  customerId: string;
  body: string;
  authorUserid: string;
  createdAt: number;
}

/** Customer-level history the CRM keeps itself (creation, edits, notes). Contact touchpoints live in D1 beside the bindings. */
export interface CrmHistoryItem {
  id: string;
  customerId: string;
  kind: 'customer_created' | 'customer_edited' | 'note';
  at: number;
  actorUserid: string | null;
  detail: RecordedDetail;
}

/** A timeline item's detail as written down: members by userid (the view adds their names). */
export type RecordedDetail = Omit<TimelineDetail, 'members'> & { members?: string[] };

export interface WriteContext {
  corpId: string;
  /** WeCom userid of the member acting, or `system:<job>` for event handlers and reconciliation. */
  actor: string;
  /** Same key, same effect: a retry after a timeout must not create a second customer or note. */
  idempotencyKey: string;
}

export type UpdateResult =
  | { ok: true; customer: Customer }
  | { ok: false; reason: 'version_conflict'; current: Customer }
  | { ok: false; reason: 'not_found' };

export interface CustomerQuery {
  /** Free text: name, company, mobile. */
  text?: string;
  unionid?: string;
  mobile?: string;
  /** Only customers owned by one of these members. */
  ownerUserids?: string[];
  limit?: number;
}

export interface Crm {
  find(corpId: string, query: CustomerQuery): Promise<Customer[]>;
  get(corpId: string, id: string): Promise<Customer | undefined>;
  getMany(corpId: string, ids: string[]): Promise<Customer[]>;
  create(draft: CustomerDraft, context: WriteContext): Promise<Customer>;
  update(id: string, expectedVersion: number, patch: CustomerPatch, context: WriteContext): Promise<UpdateResult>;
  listNotes(corpId: string, customerId: string): Promise<Note[]>;
  addNote(customerId: string, body: string, context: WriteContext): Promise<Note>;
  history(corpId: string, customerId: string): Promise<CrmHistoryItem[]>;
}

/**
 * The CRM could not answer: down, slow or talking nonsense. Routes turn it into 502/504 with what
 * failed; nothing is written on our side when a CRM write fails this way.
 */
export class CrmUnavailableError extends AppError {
  declare readonly code: 'crm_timeout' | 'crm_unreachable' | 'crm_bad_response' | 'crm_error';
  declare readonly status: 502 | 504;
  readonly operation: string;

  constructor(code: CrmUnavailableError['code'], operation: string, message: string) {
    super(code === 'crm_timeout' ? 504 : 502, code, message, { operation });
    this.name = 'CrmUnavailableError';
    this.operation = operation;
  }

  override logged() {
    return { level: 'error' as const, event: 'crm.failed', fields: { code: this.code, operation: this.operation } };
  }
}

/** The CRM refused the request itself (validation, unknown id): the caller's input, not an outage. */
export class CrmRejectedError extends AppError {
  declare readonly code: 'crm_rejected';
  declare readonly status: 400 | 404 | 409;
  readonly operation: string;

  constructor(status: 400 | 404 | 409, operation: string, message: string) {
    super(status, 'crm_rejected', message, { operation });
    this.name = 'CrmRejectedError';
    this.operation = operation;
  }

  override logged() {
    return { level: 'warn' as const, event: 'crm.failed', fields: { code: this.code, operation: this.operation } };
  }
}
