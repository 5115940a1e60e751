/**
 * @module
 * The sidebar's WeCom client over `@wecom/jssdk` (sdk.ts). It owns the behaviours of the SDK that
 * break pages (README, "The WeCom client"):
 * - outside WeCom (the user agent carries no `wxwork/`) every `ww.*` API call waits forever, so
 *   nothing here touches `ww` unless `ww.env.isWeCom` is true;
 * - inside WeCom the SDK waits for the native bridge without a timeout too, so every wait here is
 *   bounded: the bridge's arrival, the registration, and each call;
 * - a failed registration re-runs the signer and agentConfig on every later API call, so a
 *   signature failure gets one deliberate retry with fresh tickets and then the client stops
 *   calling `ww` altogether.
 * What a failure means comes from failures.ts, the one table of WeCom's wordings.
 */
import type { Signatures } from '../api/types.ts';
import { meaningOf } from './failures.ts';
import { JS_API_LIST, type ChatMessage, type WwResult, type WwSurface } from './types.ts';

/** What WeCom said, from a rejected result (`errMsg`, `errCode`) or an SDK `Error`. */
export interface WeComFailure {
  errMsg: string;
  errCode: number | undefined;
}

/**
 * - `no_bridge`: the user agent says WeCom but the client's bridge never arrived (the page was not
 *   opened by WeCom's own browser, or the client is broken): open it from the sidebar.
 * - `no_answer`: the bridge is there but WeCom did not answer in time: retrying may help.
 */
export type RegistrationFailureKind = 'signature_rejected' | 'untrusted_domain' | 'no_bridge' | 'no_answer' | 'failed';

export type Registration =
  | { ok: true }
  | {
      ok: false;
      kind: RegistrationFailureKind;
      failure: WeComFailure;
      refreshed: boolean;
      /** The refused retry used tickets the worker would not refetch yet: seconds until it would. */
      retryAfter?: number;
    };

/**
 * - `unavailable`: not inside WeCom, or registration failed or has not finished: `ww` was not called.
 * - `no_permission`: the app is not allowed (客户联系 permission) or its identity was not verified.
 * - `no_context`: the page was not opened from a place that has this context (wrong entry).
 * - `unsupported`: the WeCom client is too old for the API.
 */
export type WeComCallFailureKind = 'unavailable' | 'no_permission' | 'no_context' | 'unsupported' | 'cancelled' | 'no_answer' | 'failed';

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
  /** Sends into the chat the sidebar is open in; only chat toolbars allow it (`no_context` elsewhere). */
  sendChatMessage(message: ChatMessage): Promise<void>;
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

export function isSignatureFailure(failure: WeComFailure): boolean {
  return meaningOf(failure) === 'signature';
}

/** The page's host is not a trusted domain (可信域名) of the app: fresh tickets cannot help. */
export function isDomainFailure(failure: WeComFailure): boolean {
  return meaningOf(failure) === 'domain';
}

function callFailureKind(failure: WeComFailure): WeComCallFailureKind {
  switch (meaningOf(failure)) {
    case 'no_permission':
      return 'no_permission';
    case 'no_context':
      return 'no_context';
    case 'unsupported':
      return 'unsupported';
    case 'cancelled':
      return 'cancelled';
    default:
      return 'failed';
  }
}

/** How long the client waits for WeCom. Real clients answer in well under a second; Android's config chain can take a few. */
export interface WeComWaits {
  /** For the native bridge to appear, counted from register(). */
  bridgeMs: number;
  /** For config/agentConfig, once the bridge is there. */
  registrationMs: number;
  /** For each API call. */
  callMs: number;
}

export const DEFAULT_WAITS: WeComWaits = { bridgeMs: 5000, registrationMs: 10_000, callMs: 8000 };

const TIMED_OUT = Symbol('timed out');

/** The promise's value, or TIMED_OUT after `ms`; the timer never outlives the race. */
async function within<T>(promise: Promise<T>, ms: number): Promise<T | typeof TIMED_OUT> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<typeof TIMED_OUT>((resolve) => {
    timer = setTimeout(() => resolve(TIMED_OUT), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function hasBridge(): boolean {
  return typeof window !== 'undefined' && 'WeixinJSBridge' in window && Boolean((window as { WeixinJSBridge?: unknown }).WeixinJSBridge);
}

/** Whether WeCom's bridge is there or arrives (the `WeixinJSBridgeReady` event) within `ms`. */
function bridgeArrives(ms: number): Promise<boolean> {
  if (hasBridge()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const done = (arrived: boolean) => {
      clearTimeout(timer);
      document.removeEventListener('WeixinJSBridgeReady', onReady);
      resolve(arrived);
    };
    const onReady = () => done(true);
    const timer = setTimeout(() => done(hasBridge()), ms);
    document.addEventListener('WeixinJSBridgeReady', onReady);
  });
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

type Attempt = { ok: true } | { ok: false; failure: WeComFailure } | { ok: false; timedOut: true };

async function settle(promise: Promise<unknown>, ms: number): Promise<Attempt> {
  try {
    if ((await within(promise, ms)) === TIMED_OUT) return { ok: false, timedOut: true };
    return { ok: true };
  } catch (error) {
    return { ok: false, failure: describeFailure(error) };
  }
}

export function createWeComClient(ww: WwSurface, waits: WeComWaits = DEFAULT_WAITS): WeComClient {
  const isWeCom = ww.env.isWeCom;
  let state: 'new' | 'registering' | 'ready' | 'failed' = 'new';

  function guard(api: string): void {
    if (!isWeCom) throw new WeComCallError(api, 'unavailable', { errMsg: `${api}:fail not inside WeCom`, errCode: undefined });
    if (state !== 'ready') throw new WeComCallError(api, 'unavailable', { errMsg: `${api}:fail JS-SDK not registered`, errCode: undefined });
  }

  async function call<T extends WwResult>(api: string, run: () => Promise<T>): Promise<T> {
    guard(api);
    let result: T | typeof TIMED_OUT;
    try {
      result = await within(run(), waits.callMs);
    } catch (error) {
      const failure = describeFailure(error);
      throw new WeComCallError(api, callFailureKind(failure), failure);
    }
    if (result === TIMED_OUT) throw new WeComCallError(api, 'no_answer', { errMsg: `${api}:fail no answer within ${waits.callMs} ms`, errCode: undefined });
    return result;
  }

  return {
    isWeCom,

    async register(sign) {
      if (!isWeCom) throw new WeComCallError('register', 'unavailable', { errMsg: 'register:fail not inside WeCom', errCode: undefined });
      if (state !== 'new') throw new Error('register() runs once per page');
      state = 'registering';
      const url = pageUrl();
      const bridge = bridgeArrives(waits.bridgeMs);
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
      if (!(await bridge)) {
        state = 'failed';
        return { ok: false, kind: 'no_bridge', failure: { errMsg: `register:fail no WeixinJSBridge within ${waits.bridgeMs} ms`, errCode: undefined }, refreshed: false };
      }
      // Called right after register, this returns the task register started: no second signing.
      const attempt = await settle(ww.ensureConfigReady(), waits.registrationMs);
      if (attempt.ok) {
        state = 'ready';
        return { ok: true };
      }
      if ('timedOut' in attempt) {
        state = 'failed';
        return { ok: false, kind: 'no_answer', failure: { errMsg: `register:fail no answer within ${waits.registrationMs} ms`, errCode: undefined }, refreshed: false };
      }
      if (!isSignatureFailure(attempt.failure)) {
        state = 'failed';
        return { ok: false, kind: isDomainFailure(attempt.failure) ? 'untrusted_domain' : 'failed', failure: attempt.failure, refreshed: false };
      }

      // A stale or rotated ticket: ask once for signatures made with freshly fetched tickets.
      const fresh = sign(url, true);
      byUrl.set(url, fresh);
      let freshSignatures: Signatures;
      try {
        freshSignatures = await fresh;
      } catch {
        state = 'failed';
        return { ok: false, kind: 'signature_rejected', failure: attempt.failure, refreshed: true };
      }
      const retry = await settle(ww.ensureConfigReady(), waits.registrationMs);
      if (retry.ok) {
        state = 'ready';
        return { ok: true };
      }
      state = 'failed';
      if ('timedOut' in retry) {
        return { ok: false, kind: 'no_answer', failure: { errMsg: `register:fail no answer within ${waits.registrationMs} ms`, errCode: undefined }, refreshed: true };
      }
      if (isSignatureFailure(retry.failure) && freshSignatures.retryAfter !== undefined) {
        // The worker refetched tickets less than a minute ago and WeCom refuses those too: say when a reload can help.
        return { ok: false, kind: 'signature_rejected', failure: retry.failure, refreshed: true, retryAfter: freshSignatures.retryAfter };
      }
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

    async sendChatMessage(message) {
      await call('sendChatMessage', () => ww.sendChatMessage(message));
    },
  };
}
