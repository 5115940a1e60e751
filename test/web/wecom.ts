/**
 * @module
 * The real `@wecom/jssdk` inside the simulated WeCom client (dev/simulator/client.ts), on the
 * test's DOM window: the same bridge the e2e suite injects into Chromium. Each call loads a fresh
 * copy of the SDK package (it reads the user agent and the bridge when it loads and keeps its
 * tasks in module state) and wraps it as the SPA does (web/wecom/sdk.ts), so tests do not leak
 * registrations into each other.
 *
 * The bridge's signature check is a port: here it answers from a script of verdicts (the e2e
 * suite and wecom-client.test.ts use the WeCom simulator's own verifier), in the simulator's
 * terms, which the bridge turns into WeCom's native answers.
 */
import { afterEach } from 'vitest';
import { installWeComClient, type SimulatedWeCom, type VerifyRequest, type VerifyPort, type VerifyVerdict, type WeComClientConfig } from '../../dev/simulator/client.ts';
import { surfaceOf, type JsSdk } from '../../web/wecom/sdk.ts';
import type { WwSurface } from '../../web/wecom/types.ts';
import { ids } from './fixtures.ts';

export type Verdict = 'ok' | 'invalid' | 'expired' | 'domain';

export interface SimulatedOptions extends Partial<Omit<WeComClientConfig, 'verifyUrl' | 'setUserAgent'>> {
  /** false: a plain browser (no `wxwork/` in the user agent, no bridge). */
  inWeCom?: boolean;
  /** What the client says of each successive agentConfig; the last repeats. */
  agentConfig?: Verdict[];
  /** The client's signature check itself, instead of the script. */
  verify?: VerifyPort;
}

export interface Simulated {
  ww: WwSurface;
  client: SimulatedWeCom | undefined;
  /** Every signature check the client made, in order. */
  checks: VerifyRequest[];
  /** Native names the page invoked, in order. */
  invoked(): string[];
  /** Invoked names other than the registration's. */
  apis(): string[];
}

const installed: SimulatedWeCom[] = [];
let copies = 0;
afterEach(() => {
  for (const client of installed.splice(0)) client.uninstall();
});

function verdict(kind: 'config' | 'agentConfig', of: Verdict): VerifyVerdict {
  if (of === 'ok') return { ok: true, errMsg: `${kind}:ok` };
  if (of === 'expired') return { ok: false, errMsg: `${kind}:fail invalid signature`, errCode: 42012, reason: 'ticket_expired' };
  if (of === 'domain') return { ok: false, errMsg: `${kind}:fail invalid url domain`, reason: 'untrusted_domain' };
  return { ok: false, errMsg: `${kind}:fail invalid signature`, errCode: 40093, reason: 'no_matching_ticket' };
}

export async function simulatedWeCom(options: SimulatedOptions = {}): Promise<Simulated> {
  const checks: VerifyRequest[] = [];
  let client: SimulatedWeCom | undefined;
  if (options.inWeCom !== false) {
    const script = options.agentConfig ?? ['ok'];
    let agentChecks = 0;
    const verify: VerifyPort =
      options.verify ??
      (async (request) => {
        checks.push(request);
        if (request.config) return { config: verdict('config', 'ok') };
        const next = script[Math.min(agentChecks++, script.length - 1)] ?? 'ok';
        return { agentConfig: verdict('agentConfig', next) };
      });
    const { inWeCom: _inWeCom, agentConfig: _agentConfig, verify: _verify, ...config } = options;
    client = installWeComClient(
      window,
      {
        version: '4.1.20',
        platform: 'desktop',
        bridge: 'ready',
        lateMs: 1000,
        entry: 'single_chat_tools',
        contact: ids.chenJing,
        chat: ids.chat,
        permission: 'granted',
        missing: [],
        ...config,
        verifyUrl: 'http://simulator.invalid/__sim/jssdk/verify',
        setUserAgent: true,
      },
      verify,
    );
    installed.push(client);
  }
  // A distinct module id is a distinct instance of the package.
  const sdk = surfaceOf((await import(/* @vite-ignore */ `@wecom/jssdk?copy=${++copies}`)) as JsSdk);
  const registration = new Set(['preVerifyJSAPI', 'agentConfig']);
  const invoked = () => client?.invokes.map((call) => call.name) ?? [];
  return { ww: sdk, client, checks, invoked, apis: () => invoked().filter((name) => !registration.has(name)) };
}
