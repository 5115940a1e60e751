import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWeComClient, describeFailure, isDomainFailure, isSignatureFailure, pageUrl } from '../../web/wecom/client.ts';
import { meaningOf, normaliseKeyword } from '../../web/wecom/failures.ts';
import type { Signatures } from '../../web/api/types.ts';
import { createNonce, signJsSdk } from '../../worker/wecom/jssdk.ts';
import { demoApp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { createSimulator } from '../../dev/simulator/app.ts';
import type { VerifyPort } from '../../dev/simulator/client.ts';
import { ids, signatures } from './fixtures.ts';
import { simulatedWeCom } from './wecom.ts';

afterEach(() => vi.restoreAllMocks());

/** happy-dom has no PromiseRejectionEvent; the listener only reads `reason`. */
function rejection(reason: unknown): Event {
  return Object.assign(new Event('unhandledrejection', { cancelable: true }), { reason });
}

/** The WeCom simulator in this process: tickets it issues, and its own signature check as the client's. */
async function simulatorTickets() {
  const { app } = createSimulator();
  const get = async (path: string) => (await (await app.fetch(new Request(`http://simulator.test${path}`))).json()) as Record<string, unknown>;
  const { access_token: token } = await get(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`);
  const corp = (await get(`/cgi-bin/get_jsapi_ticket?access_token=${String(token)}`)).ticket as string;
  const agent = (await get(`/cgi-bin/ticket/get?access_token=${String(token)}&type=agent_config`)).ticket as string;
  const verify: VerifyPort = async (request) => {
    const response = await app.fetch(new Request('http://simulator.test/__sim/jssdk/verify', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) }));
    return (await response.json()) as Awaited<ReturnType<VerifyPort>>;
  };
  /** What the worker would answer for `url`, signed with these tickets (or `wrong` ones). */
  const sign = async (url: string, wrong = false): Promise<Signatures> => {
    const timestamp = Math.floor(Date.now() / 1000);
    return {
      corpId: demoIds.corpId,
      agentId: String(demoIds.agentId),
      config: await signJsSdk({ ticket: wrong ? 'not-a-ticket' : corp, nonceStr: createNonce(), timestamp, url }),
      agentConfig: await signJsSdk({ ticket: wrong ? 'not-a-ticket' : agent, nonceStr: createNonce(), timestamp, url }),
    };
  };
  return { verify, sign };
}

describe('the WeCom client over the real SDK in the simulated client', () => {
  it('refuses every call outside WeCom (no wxwork in the user agent) without touching ww', async () => {
    const { ww } = await simulatedWeCom({ inWeCom: false });
    const touched = vi.fn();
    const client = createWeComClient({ ...ww, register: touched, ensureConfigReady: touched, getContext: touched, getCurExternalContact: touched, getCurExternalChat: touched, openUserProfile: touched });
    const sign = vi.fn(async () => signatures());
    expect(client.isWeCom).toBe(false);
    await expect(client.register(sign)).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.getContext()).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.getCurExternalContact()).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.getCurExternalChat()).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.openUserProfile('wm1')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(touched).not.toHaveBeenCalled();
    expect(sign).not.toHaveBeenCalled();
  });

  it('refuses API calls before registration finished, so the SDK never signs on its own', async () => {
    const wecom = await simulatedWeCom();
    const client = createWeComClient(wecom.ww);
    await expect(client.getContext()).rejects.toMatchObject({ kind: 'unavailable' });
    expect(wecom.invoked()).toEqual([]);
  });

  it('registers against the simulator’s own check with signatures made from its tickets, and reads the chat', async () => {
    const simulator = await simulatorTickets();
    const wecom = await simulatedWeCom({ verify: simulator.verify, version: '3.0.16', missing: [] });
    const client = createWeComClient(wecom.ww);
    const sign = vi.fn((url: string) => simulator.sign(url));
    expect(await client.register(sign)).toEqual({ ok: true });
    expect(sign).toHaveBeenCalledExactlyOnceWith(pageUrl(), false);
    expect(await client.getContext()).toBe('single_chat_tools');
    expect(await client.getCurExternalContact()).toBe(ids.chenJing);
    expect(wecom.invoked()).toEqual(['preVerifyJSAPI', 'agentConfig', 'getContext', 'getCurExternalContact']);
    await expect(client.register(sign)).rejects.toThrow('once');
  });

  it('gets its one refresh when the simulator’s check refuses the first signatures', async () => {
    const simulator = await simulatorTickets();
    const wecom = await simulatedWeCom({ verify: simulator.verify });
    const client = createWeComClient(wecom.ww);
    const sign = vi.fn((url: string, refresh: boolean) => simulator.sign(url, !refresh));
    expect(await client.register(sign)).toEqual({ ok: true });
    expect(sign.mock.calls).toEqual([[pageUrl(), false], [pageUrl(), true]]);
    expect(await client.getCurExternalContact()).toBe(ids.chenJing);
  });

  it('classifies the client’s native answers as the SDK hands them on', async () => {
    const wecom = await simulatedWeCom({ entry: 'group_chat_tools', permission: 'none', missing: ['getContext'] });
    const client = createWeComClient(wecom.ww);
    await client.register(async () => signatures());
    await expect(client.getContext()).rejects.toMatchObject({ kind: 'unsupported', errMsg: 'getContext:functionnotexist', errCode: -1 });
    await expect(client.getCurExternalContact()).rejects.toMatchObject({ kind: 'no_permission', errMsg: 'getCurExternalContact:nopermission' });
  });

  it('says WeCom did not answer when a call hangs, instead of waiting forever', async () => {
    const wecom = await simulatedWeCom();
    const client = createWeComClient({ ...wecom.ww, getContext: () => new Promise<never>(() => undefined) }, { bridgeMs: 50, registrationMs: 50, callMs: 30 });
    await client.register(async () => signatures());
    await expect(client.getContext()).rejects.toMatchObject({ kind: 'no_answer', api: 'getContext' });
  });

  it('mutes only the unhandled config rejections the SDK leaves behind', async () => {
    const wecom = await simulatedWeCom();
    await createWeComClient(wecom.ww).register(async () => signatures());
    const configFailure = rejection({ err_msg: 'agentConfig:fail_invalid_signature', errMsg: 'agentConfig:invalidsignature', errCode: -1 });
    window.dispatchEvent(configFailure);
    expect(configFailure.defaultPrevented).toBe(true);
    const other = rejection(new Error('something else'));
    window.dispatchEvent(other);
    expect(other.defaultPrevented).toBe(false);
  });
});

describe('what a WeCom failure means (one table)', () => {
  it.each([
    // The client's own words, the SDK's rewrite of them, and older texts are one thing.
    [{ errMsg: 'agentConfig:invalidsignature', errCode: -1 }, 'signature'],
    [{ errMsg: 'agentConfig:fail_invalid_signature', errCode: undefined }, 'signature'],
    [{ errMsg: 'agentConfig:fail invalid signature', errCode: -1 }, 'signature'],
    [{ errMsg: 'config:invalid signature', errCode: 40093 }, 'signature'],
    [{ errMsg: 'agentConfig:fail', errCode: 42012 }, 'signature'],
    [{ errMsg: 'agentConfig:ticket no available', errCode: -1 }, 'signature'],
    [{ errMsg: 'config:fail invalid url domain', errCode: -1 }, 'domain'],
    [{ errMsg: 'agentConfig:invalidurldomain', errCode: -1 }, 'domain'],
    [{ errMsg: 'agentConfig:fail not match any reliable domain', errCode: 80001 }, 'domain'],
    [{ errMsg: 'getCurExternalContact:nopermission', errCode: -1 }, 'no_permission'],
    [{ errMsg: 'getCurExternalContact:fail no permission', errCode: -1 }, 'no_permission'],
    [{ errMsg: 'getCurExternalContact:permission denied', errCode: -1 }, 'no_permission'],
    [{ errMsg: 'getCurExternalContact:fail_NoPermission', errCode: -1 }, 'no_permission'],
    [{ errMsg: 'getCurExternalChat:withoutcontext', errCode: -1 }, 'no_context'],
    [{ errMsg: 'getCurExternalChat:fail without context of external contact', errCode: -1 }, 'no_context'],
    [{ errMsg: 'getContext:functionnotexist', errCode: -1 }, 'unsupported'],
    [{ errMsg: 'getContext:fail function not exist', errCode: -1 }, 'unsupported'],
    [{ errMsg: 'openUserProfile:cancel', errCode: -1 }, 'cancelled'],
    [{ errMsg: 'agentConfig:fail', errCode: -1 }, 'unknown'],
  ])('reads %o as %s', (failure, meaning) => {
    expect(meaningOf(failure)).toBe(meaning);
  });

  it('normalises separators, case and a leading fail', () => {
    expect(normaliseKeyword('agentConfig:fail_invalid_signature')).toBe('invalidsignature');
    expect(normaliseKeyword('agentConfig:Invalid Signature')).toBe('invalidsignature');
  });

  it('keeps signature and domain failures apart', () => {
    expect(isSignatureFailure(describeFailure({ errMsg: 'agentConfig:invalidsignature', errCode: -1 }))).toBe(true);
    expect(isDomainFailure(describeFailure({ errMsg: 'agentConfig:invalidsignature', errCode: -1 }))).toBe(false);
    expect(isDomainFailure(describeFailure({ errMsg: 'agentConfig:invalidurldomain', errCode: -1 }))).toBe(true);
  });

  it('reads SDK errors by their message', () => {
    expect(describeFailure(new Error('SDK Error: Aborted'))).toEqual({ errMsg: 'SDK Error: Aborted', errCode: undefined });
  });
});

