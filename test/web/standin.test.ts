import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { demoIds } from '../fixtures/demo-corp.ts';
import { chatChoices, contactChoices, readScene, sceneUrl } from '../../web/wecom/standin/scene.ts';
import { createStandIn, playsAChat, STANDIN_MARKER, type VerifyAnswer, type VerifyRequest } from '../../web/wecom/standin/ww.ts';
import type { WwRegisterOptions } from '../../web/wecom/types.ts';
import { contactDetail, ids, signatures } from './fixtures.ts';
import { settle } from './fake-api.ts';
import { locale } from '../../web/i18n/index.ts';
import { useContextStore } from '../../web/stores/context.ts';
import { useContactStore } from '../../web/stores/contact.ts';
import { baseRoutes, freshPage } from './harness.ts';
import { fakeApi } from './fake-api.ts';

const SIM = 'http://sim.test:8788';
const ok = { ok: true, errMsg: '' };

/** The simulator's verify endpoint, answering from a queue of verdicts. */
function simulator(answers: VerifyAnswer[] = [{ config: ok, agentConfig: ok }]) {
  const requests: VerifyRequest[] = [];
  const send = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    expect(String(input)).toBe(`${SIM}/__sim/jssdk/verify`);
    requests.push(JSON.parse(String(init?.body)) as VerifyRequest);
    const answer = answers[Math.min(requests.length, answers.length) - 1];
    return new Response(JSON.stringify(answer), { status: 200 });
  });
  return { requests, send: send as unknown as typeof fetch };
}

function registerOptions(overrides: Partial<WwRegisterOptions> = {}): WwRegisterOptions {
  const signed = signatures();
  return {
    corpId: signed.corpId,
    agentId: signed.agentId,
    jsApiList: ['getContext', 'getCurExternalContact', 'getCurExternalChat', 'openUserProfile'],
    getConfigSignature: vi.fn(async () => signed.config),
    getAgentConfigSignature: vi.fn(async () => signed.agentConfig),
    ...overrides,
  };
}

describe('the WeCom stand-in', () => {
  beforeEach(() => history.replaceState(null, '', `/?entry=single_chat_tools&contact=${ids.liuYang}#/`));
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
    document.querySelectorAll('[data-wecom-standin]').forEach((node) => node.remove());
  });

  it('says it is WeCom and sends both signatures with the page URL to the simulator', async () => {
    const sim = simulator();
    const ww = createStandIn({ simulatorUrl: SIM, fetch: sim.send, toolbar: false });
    expect(ww.env.isWeCom).toBe(true);
    const options = registerOptions({ onAgentConfigSuccess: vi.fn(), onConfigSuccess: vi.fn() });
    ww.register(options);
    await ww.ensureConfigReady();
    expect(sim.requests).toEqual([
      { url: `${location.origin}/?entry=single_chat_tools&contact=${ids.liuYang}`, corpId: demoIds.corpId, agentId: String(demoIds.agentId), config: signatures().config, agentConfig: signatures().agentConfig },
    ]);
    expect(options.onConfigSuccess).toHaveBeenCalledOnce();
    expect(options.onAgentConfigSuccess).toHaveBeenCalledOnce();
    expect(await ww.getContext()).toEqual({ errMsg: 'getContext:ok', errCode: 0, entry: 'single_chat_tools' });
    expect(await ww.getCurExternalContact()).toEqual({ errMsg: 'getCurExternalContact:ok', errCode: 0, userId: ids.liuYang });
    expect(sim.requests).toHaveLength(1);
  });

  it('fails like WeCom on a refused signature, and re-signs on every later call as the SDK does', async () => {
    const refused = { ok: false, errMsg: 'agentConfig:fail invalid signature' };
    const sim = simulator([{ config: ok, agentConfig: refused }]);
    const ww = createStandIn({ simulatorUrl: SIM, fetch: sim.send, toolbar: false });
    const options = registerOptions({ onAgentConfigFail: vi.fn() });
    ww.register(options);
    await expect(ww.ensureConfigReady()).rejects.toEqual({ errMsg: 'agentConfig:fail invalid signature', errCode: 40093 });
    expect(options.onAgentConfigFail).toHaveBeenCalledWith({ errMsg: 'agentConfig:fail invalid signature', errCode: 40093 });

    await expect(ww.getContext()).rejects.toMatchObject({ errMsg: 'agentConfig:fail invalid signature' });
    await expect(ww.getContext()).rejects.toMatchObject({ errCode: 40093 });
    expect(sim.requests).toHaveLength(3);
    expect(options.getAgentConfigSignature).toHaveBeenCalledTimes(3);
    expect(ww.status.signerCalls).toBe(6);
  });

  it('fails config first when the corp signature is wrong, reporting it to both callbacks', async () => {
    const sim = simulator([{ config: { ok: false, errMsg: 'config:fail invalid signature', errCode: 40093 }, agentConfig: ok }]);
    const ww = createStandIn({ simulatorUrl: SIM, fetch: sim.send, toolbar: false });
    const options = registerOptions({ onConfigFail: vi.fn(), onAgentConfigFail: vi.fn(), onAgentConfigSuccess: vi.fn() });
    ww.register(options);
    await expect(ww.ensureConfigReady()).rejects.toMatchObject({ errMsg: 'config:fail invalid signature' });
    expect(options.onConfigFail).toHaveBeenCalledOnce();
    expect(options.onAgentConfigFail).toHaveBeenCalledOnce();
    expect(options.onAgentConfigSuccess).not.toHaveBeenCalled();
  });

  it('signs again when the page URL changed since it was signed', async () => {
    const sim = simulator();
    const ww = createStandIn({ simulatorUrl: SIM, fetch: sim.send, toolbar: false });
    ww.register(registerOptions());
    await ww.ensureConfigReady();
    history.replaceState(null, '', '/other-page#/');
    await ww.getContext();
    expect(sim.requests.map((request) => request.url)).toEqual([`${location.origin}/?entry=single_chat_tools&contact=${ids.liuYang}`, `${location.origin}/other-page`]);
  });

  it('reports an unreachable simulator as a failed registration, not a hang', async () => {
    const ww = createStandIn({ simulatorUrl: SIM, fetch: (async () => Promise.reject(new TypeError('Failed to fetch'))) as typeof fetch, toolbar: false });
    ww.register(registerOptions());
    await expect(ww.ensureConfigReady()).rejects.toMatchObject({ errMsg: expect.stringContaining('WeCom simulator unreachable') });
  });

  it('answers the contact APIs only from an entry that has that context', async () => {
    history.replaceState(null, '', `/?entry=group_chat_tools&chat=${ids.chat}#/`);
    const ww = createStandIn({ simulatorUrl: SIM, fetch: simulator().send, toolbar: false });
    ww.register(registerOptions());
    await expect(ww.getCurExternalContact()).rejects.toEqual({ errMsg: 'getCurExternalContact:fail without context of external contact', errCode: -1 });
    expect(await ww.getCurExternalChat()).toMatchObject({ chatId: ids.chat });
  });

  it('answers "no permission" without the customer-contact permission or without the app identity', async () => {
    history.replaceState(null, '', `/?entry=single_chat_tools&contact=${ids.liuYang}&perm=none#/`);
    const noPermission = createStandIn({ simulatorUrl: SIM, fetch: simulator().send, toolbar: false });
    noPermission.register(registerOptions());
    await expect(noPermission.getCurExternalContact()).rejects.toMatchObject({ errMsg: 'getCurExternalContact:fail no permission' });

    history.replaceState(null, '', `/?entry=single_chat_tools&contact=${ids.liuYang}#/`);
    const corpOnly = createStandIn({ simulatorUrl: SIM, fetch: simulator([{ config: ok }]).send, toolbar: false });
    const { getAgentConfigSignature: _agent, ...withoutAgent } = registerOptions();
    corpOnly.register(withoutAgent);
    expect(await corpOnly.getContext()).toMatchObject({ entry: 'single_chat_tools' });
    await expect(corpOnly.getCurExternalContact()).rejects.toMatchObject({ errMsg: 'getCurExternalContact:fail no permission' });
  });

  it('refuses an API missing from jsApiList', async () => {
    const ww = createStandIn({ simulatorUrl: SIM, fetch: simulator().send, toolbar: false });
    ww.register(registerOptions({ jsApiList: ['getContext'] }));
    await expect(ww.getCurExternalContact()).rejects.toMatchObject({ errMsg: 'getCurExternalContact:fail no permission' });
  });

  it('shows a toolbar clearly labelled as the simulator, listing the demo corp', async () => {
    locale.value = 'zh-CN';
    sessionStorage.clear();
    createStandIn({ simulatorUrl: SIM, fetch: simulator().send });
    await settle();
    const toolbar = document.querySelector(`[data-wecom-standin="${STANDIN_MARKER}"]`);
    // Collapsed at first, so it does not cover the sidebar; one tap opens it.
    expect(toolbar?.textContent).toContain('模拟器');
    toolbar?.querySelector('button')?.click();
    await settle();
    expect(toolbar?.textContent).toContain('企业微信模拟器（仅开发）');
    const options = [...(toolbar?.querySelectorAll('select[name="contact"] option') ?? [])].map((option) => option.textContent);
    expect(options).toEqual(expect.arrayContaining(['陈静', '刘洋', '周敏', '小林 (仅在群里)']));
  });

  it('drives the real boot: registration, context and the contact, through the simulator check', async () => {
    freshPage(`/?entry=single_chat_tools&contact=${ids.chenJing}#/`);
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const sim = simulator();
    await useContextStore().boot(Promise.resolve(createStandIn({ simulatorUrl: SIM, fetch: sim.send, toolbar: false })));
    await settle();
    expect(sim.requests).toHaveLength(1);
    expect(api.count('POST /api/jssdk/signatures')).toBe(1);
    expect(useContactStore().detail?.contact.externalUserId).toBe(ids.chenJing);
  });
});

describe('the stand-in scene', () => {
  it('plays a chat only when the URL names one, so a bare URL stays a plain browser', () => {
    expect(playsAChat('')).toBe(false);
    expect(playsAChat('?debug=1')).toBe(false);
    expect(playsAChat('?entry=normal')).toBe(true);
    expect(playsAChat(`?chat=${ids.chat}`)).toBe(true);
    expect(playsAChat('?contact=wm1')).toBe(true);
  });

  it('reads the entry and the contact or chat from the query, defaulting to a demo 1:1 chat', () => {
    expect(readScene('')).toEqual({ entry: 'single_chat_tools', contact: demoIds.externalUserIds.followedByTwo, chat: demoIds.chatId, permission: 'granted' });
    expect(readScene(`?chat=${ids.chat}`)).toMatchObject({ entry: 'group_chat_tools', chat: ids.chat });
    expect(readScene('?entry=contact_profile&contact=wm9&perm=none')).toMatchObject({ entry: 'contact_profile', contact: 'wm9', permission: 'none' });
  });

  it('builds the URL for another chat, keeping other query parameters', () => {
    const url = sceneUrl('http://127.0.0.1:8787/?debug=0&contact=wm1#/admin/users', { entry: 'group_chat_tools', contact: 'wm1', chat: ids.chat, permission: 'granted' });
    expect(url).toBe(`http://127.0.0.1:8787/?debug=0&entry=group_chat_tools&chat=${ids.chat}#/`);
  });

  it('lists every demo contact, the group-only guest and an id WeCom never issued', () => {
    const choices = contactChoices().map((choice) => choice.id);
    expect(choices).toEqual(expect.arrayContaining([ids.chenJing, ids.liuYang, ids.zhouMin, ids.guest, demoIds.unknownExternalUserId]));
    expect(chatChoices()).toEqual([{ id: ids.chat, label: '星河贸易项目群' }]);
  });
});
