/**
 * @module
 * A pretend WeCom client for `--mode simulator` builds (dev and e2e; never in production). It
 * behaves like `@wecom/jssdk` 2.4.4 inside a WeCom client, and checks every signature it is given
 * the way WeCom would, against the tickets the WeCom simulator issued, so a wrong URL, a wrong
 * ticket or an expired one fails here as it would in WeCom:
 * - `register` starts config at once; given both signers it runs config then agentConfig (as
 *   clients before 3.0.24 do), so both signatures must be right;
 * - a failed or stale (URL changed) registration is run again, signer included, by every later
 *   API call, with no backoff: the same trap as the real SDK;
 * - results and failures carry `errMsg` (`"<api>:ok"`, `"<api>:fail …"`) and `errCode`.
 */
import { createApp, reactive } from 'vue';
import type { WwRegisterOptions, WwResult, WwSignature, WwSurface } from '../types.ts';
import { readScene, type Scene } from './scene.ts';
import SimulatorToolbar from './SimulatorToolbar.vue';

/** Only this chunk contains it: the production-build test looks for it. */
export const STANDIN_MARKER = 'wecom-simulator-standin';

const CONTACT_ENTRIES = ['contact_profile', 'single_chat_tools', 'single_kf_tools'];

export interface VerifyRequest {
  url: string;
  corpId: string;
  agentId: string;
  config?: WwSignature;
  agentConfig?: WwSignature;
}

export interface VerifyVerdict {
  ok: boolean;
  errMsg: string;
  errCode?: number;
}

export interface VerifyAnswer {
  config?: VerifyVerdict;
  agentConfig?: VerifyVerdict;
}

/** What the toolbar shows about the pretend client. */
export interface StandInStatus {
  scene: Scene;
  registration: 'idle' | 'pending' | 'ok' | 'failed';
  lastError: string;
  signerCalls: number;
  calls: string[];
}

export interface StandInOptions {
  simulatorUrl?: string;
  fetch?: typeof fetch;
  /** Tests leave the toolbar out. */
  toolbar?: boolean;
}

interface ConfigTask {
  url: string;
  promise: Promise<void>;
  failed: boolean;
}

function freshStatus(): StandInStatus {
  return reactive<StandInStatus>({ scene: readScene(location.search), registration: 'idle', lastError: '', signerCalls: 0, calls: [] });
}

function pageUrl(): string {
  return location.href.split('#')[0] ?? location.href;
}

function result<T extends object>(api: string, extra: T): WwResult & T {
  return { errMsg: `${api}:ok`, errCode: 0, ...extra };
}

function failure(api: string, reason: string, errCode = -1): WwResult {
  return { errMsg: `${api}:fail ${reason}`, errCode };
}

export function createStandIn(options: StandInOptions = {}): WwSurface & { status: StandInStatus } {
  // An empty value (a build without the simulator) falls back to the simulator's usual address.
  const simulatorUrl = options.simulatorUrl ?? (import.meta.env.VITE_WECOM_SIMULATOR_URL || 'http://127.0.0.1:8788');
  const send = options.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const status = freshStatus();
  let registered: WwRegisterOptions | undefined;
  let task: ConfigTask | undefined;

  function log(line: string): void {
    status.calls = [line, ...status.calls].slice(0, 8);
  }

  async function verify(request: VerifyRequest): Promise<VerifyAnswer> {
    let response: Response;
    try {
      response = await send(`${simulatorUrl}/__sim/jssdk/verify`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(request),
      });
    } catch (error) {
      throw failure(request.agentConfig ? 'agentConfig' : 'config', `WeCom simulator unreachable at ${simulatorUrl} (${String(error)})`);
    }
    if (!response.ok) throw failure(request.agentConfig ? 'agentConfig' : 'config', `WeCom simulator answered ${response.status}`);
    return (await response.json()) as VerifyAnswer;
  }

  function verdictResult(api: 'config' | 'agentConfig', verdict: VerifyVerdict | undefined): WwResult {
    if (!verdict) return failure(api, 'no verdict from the WeCom simulator');
    if (verdict.ok) return { errMsg: `${api}:ok`, errCode: 0 };
    return { errMsg: verdict.errMsg, errCode: verdict.errCode ?? (/invalid signature/.test(verdict.errMsg) ? 40093 : -1) };
  }

  function startTask(): ConfigTask {
    const options = registered;
    const url = pageUrl();
    const current: ConfigTask = { url, failed: false, promise: Promise.resolve() };
    // Which step a failure belongs to: the SDK reports a config failure to both callbacks.
    let stage: 'config' | 'agentConfig' = options?.getConfigSignature ? 'config' : 'agentConfig';
    current.promise = (async () => {
      if (!options) throw new Error('SDK Error: Missing register options');
      const [config, agentConfig] = await Promise.all([
        options.getConfigSignature ? (status.signerCalls++, options.getConfigSignature(url)) : undefined,
        options.getAgentConfigSignature ? (status.signerCalls++, options.getAgentConfigSignature(url)) : undefined,
      ]);
      if (!config && !agentConfig) throw new Error('SDK Error: Missing getConfigSignature');
      const request: VerifyRequest = { url, corpId: options.corpId, agentId: String(options.agentId) };
      if (config) request.config = config;
      if (agentConfig) request.agentConfig = agentConfig;
      const answer = await verify(request);
      if (config) {
        const outcome = verdictResult('config', answer.config);
        if (outcome.errCode !== 0) throw outcome;
        options.onConfigSuccess?.(outcome);
        stage = 'agentConfig';
      }
      if (agentConfig) {
        const outcome = verdictResult('agentConfig', answer.agentConfig);
        if (outcome.errCode !== 0) throw outcome;
        options.onAgentConfigSuccess?.(outcome);
      }
    })();
    current.promise.then(
      () => {
        status.registration = 'ok';
        status.lastError = '';
      },
      (error: unknown) => {
        current.failed = true;
        status.registration = 'failed';
        status.lastError = typeof error === 'object' && error !== null && 'errMsg' in error ? String(error.errMsg) : String(error);
        const reported = error instanceof Error || (typeof error === 'object' && error !== null && 'errMsg' in error) ? (error as WwResult | Error) : new Error(String(error));
        if (stage === 'config') options?.onConfigFail?.(reported);
        if (options?.getAgentConfigSignature) options.onAgentConfigFail?.(reported);
      },
    );
    status.registration = 'pending';
    task = current;
    return current;
  }

  /** A task stays usable while it has not failed and the page URL is still the one signed. */
  function ensureConfigReady(): Promise<void> {
    if (task && !task.failed && task.url === pageUrl()) return task.promise;
    return startTask().promise;
  }

  async function api<T extends object>(name: string, run: () => (WwResult & T) | Promise<WwResult & T>): Promise<WwResult & T> {
    log(name);
    await ensureConfigReady();
    if (registered?.jsApiList && !registered.jsApiList.includes(name)) throw failure(name, 'no permission');
    return run();
  }

  function requireAppIdentity(name: string): void {
    // These APIs need agentConfig (本接口必须使用应用身份进行注册) and 客户联系 permission.
    if (!registered?.getAgentConfigSignature || status.scene.permission === 'none') throw failure(name, 'no permission');
  }

  const surface: WwSurface & { status: StandInStatus } = {
    env: { isWeCom: true },
    status,

    register(next) {
      if (!next.corpId) throw new Error('Missing corpId');
      registered = next;
      log('register');
      // The SDK does not catch its own config promise either.
      void startTask().promise;
    },

    ensureConfigReady,

    getContext: () => api('getContext', () => result('getContext', { entry: status.scene.entry })),

    getCurExternalContact: () =>
      api('getCurExternalContact', () => {
        requireAppIdentity('getCurExternalContact');
        if (!CONTACT_ENTRIES.includes(status.scene.entry)) throw failure('getCurExternalContact', 'without context of external contact');
        return result('getCurExternalContact', { userId: status.scene.contact });
      }),

    getCurExternalChat: () =>
      api('getCurExternalChat', () => {
        requireAppIdentity('getCurExternalChat');
        if (status.scene.entry !== 'group_chat_tools') throw failure('getCurExternalChat', 'without context of external contact');
        return result('getCurExternalChat', { chatId: status.scene.chat });
      }),

    openUserProfile: (params) =>
      api('openUserProfile', () => {
        log(`openUserProfile(${params.type}, ${params.userid})`);
        return result('openUserProfile', {});
      }),
  };

  if (options.toolbar !== false) mountToolbar(status);
  return surface;
}

/** Whether the page URL plays a chat (`entry`, `contact` or `chat` in the query). */
export function playsAChat(search: string): boolean {
  const query = new URLSearchParams(search);
  return query.has('entry') || query.has('contact') || query.has('chat');
}

/** The toolbar alone: on a bare URL the page stays a plain browser, and the toolbar opens a chat. */
export function mountToolbar(status: StandInStatus = freshStatus()): void {
  if (typeof document === 'undefined') return;
  const host = document.createElement('div');
  host.setAttribute('data-wecom-standin', STANDIN_MARKER);
  document.body.appendChild(host);
  createApp(SimulatorToolbar, { status }).mount(host);
}
