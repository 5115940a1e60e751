/**
 * @module
 * Every way the sidebar can fail to show a customer, as one `Problem` the screens render.
 * Each step of the boot (client, registration, session, context, API) maps its failure here,
 * keeping the WeCom error code and the admin hint the worker sends.
 */
import { ApiError } from './api/http.ts';
import type { Registration, WeComCallError } from './wecom/client.ts';

export type ProblemKind =
  | 'not_in_wecom'
  | 'signature_rejected'
  | 'signature_retry_later'
  | 'untrusted_domain'
  | 'registration_failed'
  | 'no_bridge'
  | 'no_answer'
  | 'no_permission'
  | 'no_context'
  | 'wecom_failed'
  | 'not_your_contact'
  | 'customer_not_yours'
  | 'crm_unreachable'
  | 'session_expired'
  | 'forbidden'
  | 'not_found'
  | 'service_unavailable'
  | 'network'
  | 'unexpected';

export interface Problem {
  kind: ProblemKind;
  /** The WeCom error code: the client's `errCode` or the API's `errcode`. */
  errCode?: number | undefined;
  /** The client's `errMsg` (JS-SDK) or the worker's message. */
  detail?: string | undefined;
  /** What an admin must change, as the worker words it. */
  hint?: string | undefined;
  /** The worker's stable error code. */
  code?: string | undefined;
  /** Seconds until retrying can help (fresh JS-SDK tickets can be fetched again). */
  retryAfter?: number | undefined;
}

/** 84061: not (or no longer) an external contact of this member. */
const NOT_A_CONTACT = 84061;

export function problemFromApiError(error: ApiError): Problem {
  const base = { errCode: error.errcode, detail: error.message, hint: error.hint, code: error.code };
  if (error.status === 401) return { ...base, kind: 'session_expired' };
  // The worker answers "not yours" and "no such contact" alike, so ids cannot be probed.
  if (error.errcode === NOT_A_CONTACT || error.code === 'contact_not_found' || error.code === 'chat_not_found') return { ...base, kind: 'not_your_contact' };
  if (error.code === 'customer_not_yours') return { ...base, kind: 'customer_not_yours' };
  if (error.code.startsWith('crm_') && (error.status === 502 || error.status === 504)) return { ...base, kind: 'crm_unreachable' };
  // 403 `forbidden` is the role (a viewer writing); other 403s are scope: not yours to see.
  if (error.status === 403) return { ...base, kind: error.code === 'forbidden' ? 'forbidden' : 'not_your_contact' };
  if (error.status === 404) return { ...base, kind: 'not_found' };
  if (error.status === 0) return { ...base, kind: 'network' };
  if (error.errcode !== undefined) return { ...base, kind: 'wecom_failed' };
  if (error.status === 503) return { ...base, kind: 'service_unavailable' };
  return { ...base, kind: 'unexpected' };
}

/** Admin pages: a 403 there means the role is missing, not a customer relation. */
export function problemFromAdminError(error: ApiError): Problem {
  const problem = problemFromApiError(error);
  return error.status === 403 ? { ...problem, kind: 'forbidden' } : problem;
}

export function problemFromRegistration(outcome: Extract<Registration, { ok: false }>): Problem {
  if (outcome.kind === 'signature_rejected' && outcome.retryAfter !== undefined) {
    return { kind: 'signature_retry_later', errCode: outcome.failure.errCode, detail: outcome.failure.errMsg, retryAfter: outcome.retryAfter };
  }
  const kind = outcome.kind === 'failed' ? 'registration_failed' : outcome.kind;
  return { kind, errCode: outcome.failure.errCode, detail: outcome.failure.errMsg };
}

export function problemFromWeCom(error: WeComCallError): Problem {
  const base = { errCode: error.errCode, detail: error.errMsg };
  switch (error.kind) {
    case 'no_permission':
      return { ...base, kind: 'no_permission' };
    case 'no_context':
      return { ...base, kind: 'no_context' };
    case 'no_answer':
      return { ...base, kind: 'no_answer' };
    default:
      return { ...base, kind: 'wecom_failed' };
  }
}

export function problemFromUnknown(error: unknown): Problem {
  if (error instanceof ApiError) return problemFromApiError(error);
  return { kind: 'unexpected', detail: error instanceof Error ? error.message : String(error) };
}
