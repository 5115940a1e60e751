/**
 * @module
 * A `ww` that behaves like `@wecom/jssdk` 2.4.4 in the ways that matter to the boot (reference
 * §3.2): `register` starts config at once; a failed registration is run again, signers included,
 * by every later API call; outside WeCom every API call waits forever. Everything it is asked is
 * written to `log`, so tests can prove what was (not) called.
 */
import type { WwRegisterOptions, WwResult, WwSignature, WwSurface } from '../../web/wecom/types.ts';

export interface FakeWwOptions {
  isWeCom?: boolean;
  /** Outcome of each successive registration attempt; the last one repeats. */
  registrations?: Array<'ok' | WwResult>;
  entry?: string;
  contact?: string;
  chat?: string;
  contextFailure?: WwResult;
  contactFailure?: WwResult;
  chatFailure?: WwResult;
}

export interface FakeWw extends WwSurface {
  log: string[];
  registered: WwRegisterOptions[];
  /** Every signature a signer returned, by signer. */
  signed: Array<{ signer: 'config' | 'agentConfig'; url: string; signature: WwSignature }>;
  attempts: number;
  /** Simulates the client moving to another chat. */
  scene: { entry: string; contact: string; chat: string };
}

const never = <T>() => new Promise<T>(() => undefined);

export function fakeWw(options: FakeWwOptions = {}): FakeWw {
  const isWeCom = options.isWeCom ?? true;
  const registrations = options.registrations ?? ['ok'];
  let task: { promise: Promise<void>; failed: boolean } | undefined;

  const fake: FakeWw = {
    env: { isWeCom },
    log: [],
    registered: [],
    signed: [],
    attempts: 0,
    scene: { entry: options.entry ?? 'single_chat_tools', contact: options.contact ?? 'wmDemoChenJing000000000000000001', chat: options.chat ?? 'wrDemoXingheProjectChat00000001' },

    register(registerOptions) {
      fake.log.push('register');
      fake.registered.push(registerOptions);
      if (isWeCom) void start().promise.catch(() => undefined);
    },

    ensureConfigReady() {
      fake.log.push('ensureConfigReady');
      if (!isWeCom) return never();
      return ready();
    },

    getContext: () => api('getContext', () => (options.contextFailure ? Promise.reject(options.contextFailure) : ok('getContext', { entry: fake.scene.entry }))),
    getCurExternalContact: () => api('getCurExternalContact', () => (options.contactFailure ? Promise.reject(options.contactFailure) : ok('getCurExternalContact', { userId: fake.scene.contact }))),
    getCurExternalChat: () => api('getCurExternalChat', () => (options.chatFailure ? Promise.reject(options.chatFailure) : ok('getCurExternalChat', { chatId: fake.scene.chat }))),
    openUserProfile: () => api('openUserProfile', () => ok('openUserProfile', {})),
  };

  function ok<T extends object>(name: string, extra: T): Promise<WwResult & T> {
    return Promise.resolve({ errMsg: `${name}:ok`, errCode: 0, ...extra });
  }

  function start(): { promise: Promise<void>; failed: boolean } {
    const attempt = fake.attempts++;
    const outcome = registrations[Math.min(attempt, registrations.length - 1)] ?? 'ok';
    const options = fake.registered.at(-1);
    const url = location.href.split('#')[0] ?? '';
    const current = { failed: false, promise: Promise.resolve() };
    current.promise = (async () => {
      if (!options) throw new Error('SDK Error: no register options');
      const [config, agentConfig] = await Promise.all([options.getConfigSignature?.(url), options.getAgentConfigSignature?.(url)]);
      if (config) fake.signed.push({ signer: 'config', url, signature: config });
      if (agentConfig) fake.signed.push({ signer: 'agentConfig', url, signature: agentConfig });
      if (outcome !== 'ok') {
        options.onAgentConfigFail?.(outcome);
        throw outcome;
      }
    })();
    current.promise.catch(() => (current.failed = true));
    task = current;
    return current;
  }

  function ready(): Promise<void> {
    if (task && !task.failed) return task.promise;
    return start().promise;
  }

  async function api<T>(name: string, run: () => Promise<T>): Promise<T> {
    fake.log.push(name);
    if (!isWeCom) return never();
    await ready();
    return run();
  }

  return fake;
}

export const invalidSignature: WwResult = { errMsg: 'agentConfig:fail invalid signature', errCode: 40093 };
