/**
 * @module
 * The sidebar's WeCom client over a `ww` surface (the real SDK or the stand-in). It owns the two
 * behaviours of `@wecom/jssdk` 2.4.4 that break pages (reference §3.2):
 * - outside WeCom every `ww.*` API call waits forever, so nothing here touches `ww` unless
 *   `ww.env.isWeCom` is true;
 * - a failed registration re-runs the signer and agentConfig on every later API call, so a
 *   signature failure gets one deliberate retry with fresh tickets and then the client stops
 *   calling `ww` altogether.
 */
import type { Signatures } from '../api/types.ts';
import { JS_API_LIST, type WwResult, type WwSurface } from './types.ts';

/** What WeCom said, from a rejected result (`errMsg`, `errCode`) or an SDK `Error`. */
export interface WeComFailure {
  errMsg: string;
  errCode: number | undefined;
}

export type RegistrationFailureKind = 'signature_rejected' | 'untrusted_domain' | 'failed';

export type Registration = { ok: true } | { ok: false; kind: RegistrationFailureKind; failure: WeComFailure; refreshed: boolean };

/**
 * - `unavailable`: not inside WeCom, or registration failed or has not finished: `ww` was not called.
 * - `no_permission`: the app is not allowed (客户联系 permission) or its identity was not verified.
 * - `no_context`: the page was not opened from a place that has this context (wrong entry).
 * - `unsupported`: the WeCom client is too old for the API.
 */
export type WeComCallFailureKind = 'unavailable' | 'no_permission' | 'no_context' | 'unsupported' | 'cancelled' | 'failed';

export class WeComCallError extends Error {
  readonly api: string;
  readonly kind: WeComCallFailureKind;
  readonly errMsg: string;
  readonly errCode: number | undefined;

  constructor(api: string, kind: WeComCallFailureKind, failure: WeComFailure) {
    super(failure.errMsg);
    this.name = 'WeComCallError';
    this.api = api;
    this.kind = kind;
    this.errMsg = failure.errMsg;
    this.errCode = failure.errCode;
  }
}

/** Fetches both signatures for a page URL; `refresh` asks the worker for fresh tickets. */
export type Signer = (url: string, refresh: boolean) => Promise<Signatures>;

export interface WeComClient {
  readonly isWeCom: boolean;
  /** Starts signing at once (one call for both signers), registers, and retries once on a signature failure. */
  register(sign: Signer): Promise<Registration>;
  getContext(): Promise<string>;
  getCurExternalContact(): Promise<string>;
  getCurExternalChat(): Promise<string>;
  openUserProfile(externalUserId: string): Promise<void>;
}

export function describeFailure(value: unknown): WeComFailure {
  if (typeof value === 'object' && value !== null) {
    const record = value as Partial<WwResult> & { message?: unknown };
    const errCode = typeof record.errCode === 'number' ? record.errCode : undefined;
    if (typeof record.errMsg === 'string') return { errMsg: record.errMsg, errCode };
    if (typeof record.message === 'string') return { errMsg: record.message, errCode };
  }
  return { errMsg: String(value), errCode: undefined };
}

/** 40093 invalid signature; 42012 the ticket expired or is not the one this signature was made with. */
export function isSignatureFailure(failure: WeComFailure): boolean {
  return /invalid signature/i.test(failure.errMsg) || failure.errCode === 40093 || failure.errCode === 42012;
}

/** The page's host is not a trusted domain (可信域名) of the app: fresh tickets cannot help. */
export function isDomainFailure(failure: WeComFailure): boolean {
  return /invalid url domain|not match any reliable domain/i.test(failure.errMsg);
}

function callFailureKind(failure: WeComFailure): WeComCallFailureKind {
  const text = failure.errMsg.toLowerCase();
  if (/no ?permission|permission denied|nopermission/.test(text)) return 'no_permission';
  if (text.includes('without context')) return 'no_context';
  if (/function not exist|not support/.test(text)) return 'unsupported';
  if (/:cancel\b/.test(text)) return 'cancelled';
  return 'failed';
}

/** The URL WeCom checks a signature against: the page without its fragment, neither encoded nor decoded. */
export function pageUrl(href: string = location.href): string {
  return href.split('#')[0] ?? href;
}

let rejectionsSilenced = false;

/**
 * `ww.register` starts config without catching it, so a refused signature also surfaces as an
 * unhandled rejection. The client handles that failure itself; only those rejections are muted.
 */
function silenceConfigRejections(): void {
  if (rejectionsSilenced || typeof window === 'undefined') return;
  rejectionsSilenced = true;
  window.addEventListener('unhandledrejection', (event) => {
    const { errMsg } = describeFailure(event.reason);
    if (/^(agentConfig|config|preVerifyJSAPI):|^SDK Error:/.test(errMsg)) event.preventDefault();
  });
}

async function settle(promise: Promise<unknown>): Promise<{ ok: true } | { ok: false; failure: WeComFailure }> {
  try {
    await promise;
    return { ok: true };
  } catch (error) {
    return { ok: false, failure: describeFailure(error) };
  }
}

export function createWeComClient(ww: WwSurface): WeComClient {
  const isWeCom = ww.env.isWeCom;
  let state: 'new' | 'registering' | 'ready' | 'failed' = 'new';

  function guard(api: string): void {
    if (!isWeCom) throw new WeComCallError(api, 'unavailable', { errMsg: `${api}:fail not inside WeCom`, errCode: undefined });
    if (state !== 'ready') throw new WeComCallError(api, 'unavailable', { errMsg: `${api}:fail JS-SDK not registered`, errCode: undefined });
  }

  async function call<T extends WwResult>(api: string, run: () => Promise<T>): Promise<T> {
    guard(api);
    try {
      return await run();
    } catch (error) {
      const failure = describeFailure(error);
      throw new WeComCallError(api, callFailureKind(failure), failure);
    }
  }

  return {
    isWeCom,

    async register(sign) {
      if (!isWeCom) throw new WeComCallError('register', 'unavailable', { errMsg: 'register:fail not inside WeCom', errCode: undefined });
      if (state !== 'new') throw new Error('register() runs once per page');
      state = 'registering';
      const url = pageUrl();
      // One request feeds both signers; the SDK asks each signer separately.
      const byUrl = new Map<string, Promise<Signatures>>([[url, sign(url, false)]]);
      const signaturesFor = (asked: string): Promise<Signatures> => {
        let signatures = byUrl.get(asked);
        if (!signatures) {
          signatures = sign(asked, false);
          byUrl.set(asked, signatures);
        }
        return signatures;
      };

      let first: Signatures;
      try {
        first = await signaturesFor(url);
      } catch (error) {
        state = 'failed';
        throw error;
      }
      silenceConfigRejections();
      ww.register({
        corpId: first.corpId,
        agentId: first.agentId,
        jsApiList: JS_API_LIST,
        getConfigSignature: async (asked) => (await signaturesFor(asked)).config,
        getAgentConfigSignature: async (asked) => (await signaturesFor(asked)).agentConfig,
      });
      // Called right after register, this returns the task register started: no second signing.
      const attempt = await settle(ww.ensureConfigReady());
      if (attempt.ok) {
        state = 'ready';
        return { ok: true };
      }
      if (!isSignatureFailure(attempt.failure)) {
        state = 'failed';
        return { ok: false, kind: isDomainFailure(attempt.failure) ? 'untrusted_domain' : 'failed', failure: attempt.failure, refreshed: false };
      }

      // A stale or rotated ticket: ask once for signatures made with freshly fetched tickets.
      const fresh = sign(url, true);
      byUrl.set(url, fresh);
      try {
        await fresh;
      } catch {
        state = 'failed';
        return { ok: false, kind: 'signature_rejected', failure: attempt.failure, refreshed: true };
      }
      const retry = await settle(ww.ensureConfigReady());
      if (retry.ok) {
        state = 'ready';
        return { ok: true };
      }
      state = 'failed';
      return { ok: false, kind: isDomainFailure(retry.failure) ? 'untrusted_domain' : 'signature_rejected', failure: retry.failure, refreshed: true };
    },

    async getContext() {
      return (await call('getContext', () => ww.getContext())).entry;
    },

    async getCurExternalContact() {
      return (await call('getCurExternalContact', () => ww.getCurExternalContact())).userId;
    },

    async getCurExternalChat() {
      return (await call('getCurExternalChat', () => ww.getCurExternalChat())).chatId;
    },

    async openUserProfile(externalUserId) {
      await call('openUserProfile', () => ww.openUserProfile({ type: 2, userid: externalUserId }));
    },
  };
}
