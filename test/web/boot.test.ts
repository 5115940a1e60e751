import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { navigation } from '../../web/navigation.ts';
import { route } from '../../web/router.ts';
import { writeCachedContact } from '../../web/stores/cache.ts';
import { useContactStore } from '../../web/stores/contact.ts';
import { useContextStore } from '../../web/stores/context.ts';
import { useSessionStore } from '../../web/stores/session.ts';
import { JS_API_LIST } from '../../web/wecom/types.ts';
import { deferred, fakeApi, settle, type Reply } from './fake-api.ts';
import { fakeWw, invalidSignature } from './fake-ww.ts';
import { adminMe, chatDetail, contactDetail, ids, me, signatures } from './fixtures.ts';
import { baseRoutes, freshPage } from './harness.ts';

const PAGE = '/?entry=single_chat_tools#/';
const pageUrl = () => location.href.split('#')[0];

function wecomApis(log: string[]): string[] {
  return log.filter((name) => name !== 'register' && name !== 'ensureConfigReady');
}

describe('the boot sequence', () => {
  let assign: ReturnType<typeof vi.fn>;

  beforeEach(() => {
    ({ assign } = freshPage(PAGE));
  });
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('starts signing and the session check together, registers as soon as the signatures arrive, and reads the context only after login', async () => {
    const signing = deferred<Reply>();
    const session = deferred<Reply>();
    const api = fakeApi({
      'POST /api/jssdk/signatures': () => signing.promise,
      'GET /api/me': () => session.promise,
      [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() },
    });
    const ww = fakeWw();
    const booting = useContextStore().boot(Promise.resolve(ww));
    await settle();

    expect(api.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /api/jssdk/signatures', 'GET /api/me']);
    expect(ww.log).toEqual([]);

    signing.resolve({ body: signatures() });
    await settle();
    expect(ww.log[0]).toBe('register');
    expect(wecomApis(ww.log)).toEqual([]);

    session.resolve({ body: me() });
    await booting;
    await settle();
    expect(wecomApis(ww.log)).toEqual(['getContext', 'getCurExternalContact']);
    expect(api.count(`GET /api/contacts/${ids.chenJing}`)).toBe(1);
    expect(useContactStore().detail?.contact.name).toBe('陈静');
  });

  it('has both requests on their way before boot() returns, so they leave before Vue mounts', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const booting = useContextStore().boot(fakeWw());
    expect(api.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /api/jssdk/signatures', 'GET /api/me']);
    await booting;
  });

  it('feeds both signers from one signatures request for the page URL without its fragment', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const ww = fakeWw();
    await useContextStore().boot(Promise.resolve(ww));

    expect(api.find('POST /api/jssdk/signatures').map((call) => call.body)).toEqual([{ url: pageUrl() }]);
    expect(pageUrl()).not.toContain('#');
    const [options] = ww.registered;
    expect(options?.corpId).toBe(signatures().corpId);
    expect(options?.agentId).toBe(signatures().agentId);
    expect(options?.jsApiList).toEqual(expect.arrayContaining(['getContext', 'getCurExternalContact', 'getCurExternalChat', 'openUserProfile']));
    expect(options?.jsApiList).toEqual(JS_API_LIST);
    expect(ww.signed).toEqual([
      { signer: 'config', url: pageUrl(), signature: signatures().config },
      { signer: 'agentConfig', url: pageUrl(), signature: signatures().agentConfig },
    ]);
  });

  it('asks once for fresh signatures after an invalid signature and goes on when the retry passes', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const ww = fakeWw({ registrations: [invalidSignature, 'ok'] });
    await useContextStore().boot(Promise.resolve(ww));
    await settle();

    expect(api.find('POST /api/jssdk/signatures').map((call) => call.body)).toEqual([{ url: pageUrl() }, { url: pageUrl(), refresh: true }]);
    expect(ww.attempts).toBe(2);
    expect(ww.signed.slice(2).map((entry) => entry.signature)).toEqual([signatures('fresh').config, signatures('fresh').agentConfig]);
    expect(useContextStore().problem).toBeNull();
    expect(useContactStore().detail?.contact.externalUserId).toBe(ids.chenJing);
  });

  it('treats 42012 (ticket not available) as a signature failure worth one refresh', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const ww = fakeWw({ registrations: [{ errMsg: 'agentConfig:fail', errCode: 42012 }, 'ok'] });
    await useContextStore().boot(Promise.resolve(ww));
    expect(api.count('POST /api/jssdk/signatures')).toBe(2);
    expect(useContextStore().phase).toBe('ready');
  });

  it('shows the signature-rejected screen after the one retry fails, and never calls ww again', async () => {
    const api = fakeApi(baseRoutes());
    const ww = fakeWw({ registrations: [invalidSignature] });
    const context = useContextStore();
    await context.boot(Promise.resolve(ww));
    await settle();

    expect(context.problem).toMatchObject({ kind: 'signature_rejected', errCode: 40093, detail: 'agentConfig:fail invalid signature' });
    expect(api.count('POST /api/jssdk/signatures')).toBe(2);
    expect(ww.attempts).toBe(2);
    const before = ww.log.length;

    // The sidebar coming back into view must not wake the SDK (it would re-sign on every call).
    await context.refresh(Date.now() + 60_000);
    await expect(context.client?.getContext()).rejects.toMatchObject({ kind: 'unavailable' });
    await settle();
    expect(ww.log.length).toBe(before);
    expect(wecomApis(ww.log)).toEqual([]);
    expect(api.count('POST /api/jssdk/signatures')).toBe(2);
  });

  it('does not refresh tickets when the page domain is not trusted, which new tickets cannot fix', async () => {
    const api = fakeApi(baseRoutes());
    const ww = fakeWw({ registrations: [{ errMsg: 'agentConfig:fail invalid url domain', errCode: -1 }] });
    await useContextStore().boot(Promise.resolve(ww));
    expect(useContextStore().problem?.kind).toBe('untrusted_domain');
    expect(api.count('POST /api/jssdk/signatures')).toBe(1);
  });

  it('reports any other registration failure without retrying', async () => {
    const api = fakeApi(baseRoutes());
    const ww = fakeWw({ registrations: [{ errMsg: 'agentConfig:fail function not exist', errCode: -1 }] });
    await useContextStore().boot(Promise.resolve(ww));
    expect(useContextStore().problem).toMatchObject({ kind: 'registration_failed', detail: 'agentConfig:fail function not exist' });
    expect(api.count('POST /api/jssdk/signatures')).toBe(1);
    expect(wecomApis(ww.log)).toEqual([]);
  });

  it('shows why the worker refused to sign', async () => {
    fakeApi({ ...baseRoutes(), 'POST /api/jssdk/signatures': { status: 400, body: { error: 'untrusted_origin', message: 'Only pages on this worker’s own origin are signed.' } } });
    const ww = fakeWw();
    await useContextStore().boot(Promise.resolve(ww));
    expect(useContextStore().problem).toMatchObject({ kind: 'registration_failed', code: 'untrusted_origin' });
    expect(ww.log).toEqual([]);
  });

  it('never calls ww in a plain browser, where its calls wait forever', async () => {
    const api = fakeApi(baseRoutes());
    const ww = fakeWw({ isWeCom: false });
    await useContextStore().boot(Promise.resolve(ww));
    expect(useContextStore().problem).toEqual({ kind: 'not_in_wecom' });
    expect(ww.log).toEqual([]);
    expect(api.calls).toEqual([]);
  });

  it('still opens the admin pages in a plain browser, without ww', async () => {
    route.value = { name: 'admin-users' };
    const api = fakeApi(baseRoutes(adminMe()));
    const ww = fakeWw({ isWeCom: false });
    await useContextStore().boot(Promise.resolve(ww));
    expect(useContextStore().phase).toBe('ready');
    expect(useSessionStore().isAdmin).toBe(true);
    expect(ww.log).toEqual([]);
    expect(api.calls.map((call) => call.path)).toEqual(['/api/me']);
  });

  it('sends a member without a session to log in, coming back to this page', async () => {
    const api = fakeApi({ ...baseRoutes(), 'GET /api/me': { status: 401, body: { error: 'unauthenticated', message: 'Not logged in' } } });
    const ww = fakeWw();
    await useContextStore().boot(Promise.resolve(ww));
    await settle();
    expect(assign).toHaveBeenCalledExactlyOnceWith(`/auth/login?return=${encodeURIComponent('/?entry=single_chat_tools#/')}`);
    expect(wecomApis(ww.log)).toEqual([]);
    expect(api.calls.some((call) => call.path.startsWith('/api/contacts'))).toBe(false);
  });

  it.each([
    ['contact_profile', `GET /api/contacts/${ids.chenJing}`, 'getCurExternalContact'],
    ['single_chat_tools', `GET /api/contacts/${ids.chenJing}`, 'getCurExternalContact'],
    ['group_chat_tools', `GET /api/chats/${ids.chat}`, 'getCurExternalChat'],
  ])('opened from %s, asks WeCom who is there and fills the screen with one %s', async (entry, request, wecomCall) => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() }, [`GET /api/chats/${ids.chat}`]: { body: chatDetail() } });
    const ww = fakeWw({ entry });
    await useContextStore().boot(Promise.resolve(ww));
    await settle();
    expect(wecomApis(ww.log)).toEqual(['getContext', wecomCall]);
    expect(api.count(request)).toBe(1);
    expect(api.calls.filter((call) => /^\/api\/(contacts|chats)\//.test(call.path))).toHaveLength(1);
  });

  it('opened from elsewhere (the workbench), names the entry and loads no customer', async () => {
    const api = fakeApi(baseRoutes());
    const ww = fakeWw({ entry: 'normal' });
    await useContextStore().boot(Promise.resolve(ww));
    expect(useContextStore().target).toEqual({ kind: 'none', entry: 'normal' });
    expect(wecomApis(ww.log)).toEqual(['getContext']);
    expect(api.calls.some((call) => /^\/api\/(contacts|chats)\//.test(call.path))).toBe(false);
  });

  it('turns getCurExternalContact "no permission" into the permission screen', async () => {
    fakeApi(baseRoutes());
    const ww = fakeWw({ contactFailure: { errMsg: 'getCurExternalContact:fail no permission', errCode: -1 } });
    await useContextStore().boot(Promise.resolve(ww));
    expect(useContextStore().targetProblem).toMatchObject({ kind: 'no_permission', detail: 'getCurExternalContact:fail no permission' });
  });

  it('falls back to asking for the contact on clients too old for getContext', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const ww = fakeWw({ contextFailure: { errMsg: 'getContext:fail function not exist', errCode: -1 } });
    await useContextStore().boot(Promise.resolve(ww));
    await settle();
    expect(useContextStore().target).toEqual({ kind: 'contact', externalUserId: ids.chenJing });
    expect(api.count(`GET /api/contacts/${ids.chenJing}`)).toBe(1);
  });

  it('follows the client to another chat when the sidebar comes back into view', async () => {
    const api = fakeApi({
      ...baseRoutes(),
      [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() },
      [`GET /api/contacts/${ids.liuYang}`]: { body: contactDetail({ contact: { ...contactDetail().contact, externalUserId: ids.liuYang, name: '刘洋' } }) },
    });
    const ww = fakeWw();
    const context = useContextStore();
    await context.boot(Promise.resolve(ww));
    ww.scene.contact = ids.liuYang;
    await context.refresh(Date.now() + 60_000);
    await settle();
    expect(api.count(`GET /api/contacts/${ids.liuYang}`)).toBe(1);
    expect(useContactStore().detail?.contact.name).toBe('刘洋');
    expect(api.count('POST /api/jssdk/signatures')).toBe(1);
  });

  it('drops everything cached and logs in again when the account changed', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const ww = fakeWw();
    const context = useContextStore();
    await context.boot(Promise.resolve(ww));
    await settle();
    writeCachedContact('wangwu', ids.liuYang, contactDetail());
    expect(sessionStorage.length).toBeGreaterThan(0);

    api.set('GET /api/me', { body: me('zhaoliu') });
    await context.refresh(Date.now() + 60_000);
    expect(sessionStorage.length).toBe(0);
    expect(useContactStore().detail).toBeNull();
    expect(useSessionStore().me).toBeNull();
    expect(vi.mocked(navigation.assign)).toHaveBeenLastCalledWith(`/auth/login?return=${encodeURIComponent('/?entry=single_chat_tools#/')}`);
  });

  it('keeps the screen when /api/me names the same member again', async () => {
    fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const context = useContextStore();
    await context.boot(Promise.resolve(fakeWw()));
    await settle();
    await context.refresh(Date.now() + 60_000);
    expect(assign).not.toHaveBeenCalled();
    expect(useContactStore().detail?.contact.name).toBe('陈静');
  });
});
