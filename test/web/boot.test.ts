import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { navigation } from '../../web/navigation.ts';
import { route } from '../../web/router.ts';
import { writeCachedContact } from '../../web/stores/cache.ts';
import { useContactStore } from '../../web/stores/contact.ts';
import { useContextStore } from '../../web/stores/context.ts';
import { useSessionStore } from '../../web/stores/session.ts';
import { JS_API_LIST } from '../../web/wecom/types.ts';
import { deferred, fakeApi, settle, type Reply } from './fake-api.ts';
import { adminMe, chatDetail, contactDetail, ids, me, signatures } from './fixtures.ts';
import { baseRoutes, freshPage } from './harness.ts';
import { simulatedWeCom } from './wecom.ts';

const PAGE = '/?entry=single_chat_tools#/';
const pageUrl = () => location.href.split('#')[0];

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
    const wecom = await simulatedWeCom();
    const booting = useContextStore().boot(wecom.ww);
    await settle();

    expect(api.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /api/jssdk/signatures', 'GET /api/me']);
    expect(wecom.invoked()).toEqual([]);

    signing.resolve({ body: signatures() });
    await settle();
    // A current client: agentConfig alone, with the app signature.
    expect(wecom.invoked()).toEqual(['agentConfig']);

    session.resolve({ body: me() });
    await booting;
    await settle();
    expect(wecom.apis()).toEqual(['getContext', 'getCurExternalContact']);
    expect(api.count(`GET /api/contacts/${ids.chenJing}`)).toBe(1);
    expect(useContactStore().detail?.contact.name).toBe('陈静');
  });

  it('has both requests on their way before boot() returns, so they leave before Vue mounts', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const booting = useContextStore().boot((await simulatedWeCom()).ww);
    expect(api.calls.map((call) => `${call.method} ${call.path}`)).toEqual(['POST /api/jssdk/signatures', 'GET /api/me']);
    await booting;
  });

  it('feeds both signers from one signatures request for the page URL without its fragment', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom({ version: '3.0.16' });
    await useContextStore().boot(wecom.ww);

    expect(api.find('POST /api/jssdk/signatures').map((call) => call.body)).toEqual([{ url: pageUrl() }]);
    expect(pageUrl()).not.toContain('#');
    const agentConfig = wecom.client?.invokes.find((call) => call.name === 'agentConfig')?.params;
    expect(agentConfig).toMatchObject({ corpid: signatures().corpId, agentid: signatures().agentId });
    expect(agentConfig?.jsApiList).toEqual(expect.arrayContaining(['getContext', 'getCurExternalContact', 'getCurExternalChat', 'openUserProfile']));
    expect(agentConfig?.jsApiList).toEqual(JS_API_LIST);
    // A client before 3.0.24 checks config (corp ticket) first, then agentConfig (app ticket), both on the page URL.
    const { timestamp: corpTs, ...corp } = signatures().config;
    const { timestamp: agentTs, ...agent } = signatures().agentConfig;
    expect(wecom.checks).toEqual([
      { url: pageUrl(), corpId: signatures().corpId, config: { ...corp, timestamp: String(corpTs) } },
      { url: pageUrl(), corpId: signatures().corpId, agentId: signatures().agentId, agentConfig: { ...agent, timestamp: String(agentTs) } },
    ]);
  });

  it('runs agentConfig alone on a current client: the corp signature is never asked for', async () => {
    fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom();
    await useContextStore().boot(wecom.ww);
    expect(wecom.checks.map((check) => Object.keys(check).filter((key) => key === 'config' || key === 'agentConfig'))).toEqual([['agentConfig']]);
    expect(useContextStore().phase).toBe('ready');
  });

  it('asks once for fresh signatures after WeCom refuses one in its own words (fail_invalid_signature, no code) and goes on when the retry passes', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom({ agentConfig: ['invalid', 'ok'] });
    await useContextStore().boot(wecom.ww);
    await settle();

    expect(api.find('POST /api/jssdk/signatures').map((call) => call.body)).toEqual([{ url: pageUrl() }, { url: pageUrl(), refresh: true }]);
    expect(wecom.invoked().filter((name) => name === 'agentConfig')).toHaveLength(2);
    expect(wecom.checks.at(-1)?.agentConfig?.signature).toBe(signatures('fresh').agentConfig.signature);
    expect(useContextStore().problem).toBeNull();
    expect(useContactStore().detail?.contact.externalUserId).toBe(ids.chenJing);
  });

  it('treats an expired ticket (err_code 42012) as a signature failure worth one refresh', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom({ agentConfig: ['expired', 'ok'] });
    await useContextStore().boot(wecom.ww);
    expect(api.count('POST /api/jssdk/signatures')).toBe(2);
    expect(useContextStore().phase).toBe('ready');
  });

  it('shows the signature-rejected screen after the one retry fails, and never calls ww again', async () => {
    const api = fakeApi(baseRoutes());
    const wecom = await simulatedWeCom({ agentConfig: ['invalid'] });
    const context = useContextStore();
    await context.boot(wecom.ww);
    await settle();

    // The SDK's rewrite of the native answer: no code from WeCom, so -1.
    expect(context.problem).toMatchObject({ kind: 'signature_rejected', errCode: -1, detail: 'agentConfig:invalidsignature' });
    expect(api.count('POST /api/jssdk/signatures')).toBe(2);
    expect(wecom.invoked()).toEqual(['agentConfig', 'agentConfig']);

    // The sidebar coming back into view must not wake the SDK (it would re-sign on every call).
    await context.refresh(Date.now() + 60_000);
    await expect(context.client?.getContext()).rejects.toMatchObject({ kind: 'unavailable' });
    await settle();
    expect(wecom.invoked()).toEqual(['agentConfig', 'agentConfig']);
    expect(api.count('POST /api/jssdk/signatures')).toBe(2);
  });

  it('says precisely when to retry when the worker would not refetch tickets yet and WeCom refuses them again', async () => {
    const api = fakeApi({
      ...baseRoutes(),
      // Another page forced a refetch less than a minute ago: the worker answers from its cache and says so.
      'POST /api/jssdk/signatures': (call) => ({ body: (call.body as { refresh?: boolean }).refresh ? { ...signatures('fresh'), retryAfter: 42 } : signatures() }),
    });
    const wecom = await simulatedWeCom({ agentConfig: ['invalid'] });
    await useContextStore().boot(wecom.ww);
    expect(useContextStore().problem).toMatchObject({ kind: 'signature_retry_later', retryAfter: 42, detail: 'agentConfig:invalidsignature' });
    // Still one refresh only: the hourly ticket budget is the worker's to keep.
    expect(api.count('POST /api/jssdk/signatures')).toBe(2);
  });

  it('does not refresh tickets when the page domain is not trusted, which new tickets cannot fix', async () => {
    const api = fakeApi(baseRoutes());
    const wecom = await simulatedWeCom({ agentConfig: ['domain'] });
    await useContextStore().boot(wecom.ww);
    expect(useContextStore().problem).toMatchObject({ kind: 'untrusted_domain', detail: 'agentConfig:invalidurldomain' });
    expect(api.count('POST /api/jssdk/signatures')).toBe(1);
  });

  it('reports any other registration failure without retrying', async () => {
    const api = fakeApi(baseRoutes());
    const wecom = await simulatedWeCom({ missing: ['agentConfig'] });
    await useContextStore().boot(wecom.ww);
    expect(useContextStore().problem).toMatchObject({ kind: 'registration_failed', detail: 'agentConfig:functionnotexist', errCode: -1 });
    expect(api.count('POST /api/jssdk/signatures')).toBe(1);
    expect(wecom.apis()).toEqual([]);
  });

  it('shows why the worker refused to sign', async () => {
    fakeApi({ ...baseRoutes(), 'POST /api/jssdk/signatures': { status: 400, body: { error: 'untrusted_origin', message: 'Only pages on this worker’s own origin are signed.' } } });
    const wecom = await simulatedWeCom();
    await useContextStore().boot(wecom.ww);
    expect(useContextStore().problem).toMatchObject({ kind: 'registration_failed', code: 'untrusted_origin' });
    expect(wecom.invoked()).toEqual([]);
  });

  it('decides it is in a plain browser from the user agent, whatever the URL says, and never calls ww there', async () => {
    const api = fakeApi(baseRoutes());
    const register = vi.fn();
    const wecom = await simulatedWeCom({ inWeCom: false });
    await useContextStore().boot({ ...wecom.ww, register });
    expect(location.search).toBe('?entry=single_chat_tools');
    expect(useContextStore().problem).toEqual({ kind: 'not_in_wecom' });
    expect(register).not.toHaveBeenCalled();
    expect(api.calls).toEqual([]);
  });

  it('still opens the admin pages in a plain browser, without ww', async () => {
    route.value = { name: 'admin-users' };
    const api = fakeApi(baseRoutes(adminMe()));
    const register = vi.fn();
    const wecom = await simulatedWeCom({ inWeCom: false });
    await useContextStore().boot({ ...wecom.ww, register });
    expect(useContextStore().phase).toBe('ready');
    expect(useSessionStore().isAdmin).toBe(true);
    expect(register).not.toHaveBeenCalled();
    expect(api.calls.map((call) => call.path)).toEqual(['/api/me']);
  });

  it('sends a member without a session to log in, coming back to this page', async () => {
    const api = fakeApi({ ...baseRoutes(), 'GET /api/me': { status: 401, body: { error: 'unauthenticated', message: 'Not logged in' } } });
    const wecom = await simulatedWeCom();
    await useContextStore().boot(wecom.ww);
    await settle();
    expect(assign).toHaveBeenCalledExactlyOnceWith(`/auth/login?return=${encodeURIComponent('/?entry=single_chat_tools#/')}`);
    expect(wecom.apis()).toEqual([]);
    expect(api.calls.some((call) => call.path.startsWith('/api/contacts'))).toBe(false);
  });

  it.each([
    ['contact_profile', `GET /api/contacts/${ids.chenJing}`, 'getCurExternalContact'],
    ['single_chat_tools', `GET /api/contacts/${ids.chenJing}`, 'getCurExternalContact'],
    ['group_chat_tools', `GET /api/chats/${ids.chat}`, 'getCurExternalChat'],
  ])('opened from %s, asks WeCom who is there and fills the screen with one %s', async (entry, request, wecomCall) => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() }, [`GET /api/chats/${ids.chat}`]: { body: chatDetail() } });
    const wecom = await simulatedWeCom({ entry });
    await useContextStore().boot(wecom.ww);
    await settle();
    expect(wecom.apis()).toEqual(['getContext', wecomCall]);
    expect(api.count(request)).toBe(1);
    expect(api.calls.filter((call) => /^\/api\/(contacts|chats)\//.test(call.path))).toHaveLength(1);
  });

  it('opened from elsewhere (the workbench), names the entry and loads no customer', async () => {
    const api = fakeApi(baseRoutes());
    const wecom = await simulatedWeCom({ entry: 'normal' });
    await useContextStore().boot(wecom.ww);
    expect(useContextStore().target).toEqual({ kind: 'none', entry: 'normal' });
    expect(wecom.apis()).toEqual(['getContext']);
    expect(api.calls.some((call) => /^\/api\/(contacts|chats)\//.test(call.path))).toBe(false);
  });

  it('turns getCurExternalContact "no permission" into the permission screen', async () => {
    fakeApi(baseRoutes());
    const wecom = await simulatedWeCom({ permission: 'none' });
    await useContextStore().boot(wecom.ww);
    expect(useContextStore().targetProblem).toMatchObject({ kind: 'no_permission', detail: 'getCurExternalContact:nopermission' });
  });

  it.each([['4.1.20'], ['3.0.16']])('falls back to asking for the contact on a %s client without getContext (system:function_not_exist)', async (version) => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom({ version, missing: ['getContext'] });
    await useContextStore().boot(wecom.ww);
    await settle();
    expect(useContextStore().target).toEqual({ kind: 'contact', externalUserId: ids.chenJing });
    expect(wecom.apis()).toEqual(['getContext', 'getCurExternalContact']);
    expect(api.count(`GET /api/contacts/${ids.chenJing}`)).toBe(1);
  });

  it('finds the customer group on an old client without getContext, after the contact call says there is none', async () => {
    fakeApi({ ...baseRoutes(), [`GET /api/chats/${ids.chat}`]: { body: chatDetail() } });
    const wecom = await simulatedWeCom({ version: '3.0.16', entry: 'group_chat_tools', missing: ['getContext'] });
    await useContextStore().boot(wecom.ww);
    await settle();
    expect(useContextStore().target).toEqual({ kind: 'chat', chatId: ids.chat });
    expect(wecom.invoked()).toEqual(['preVerifyJSAPI', 'agentConfig', 'getContext', 'getCurExternalContact', 'getCurExternalChat']);
  });

  it('shows the open-from-the-sidebar screen, within the bound, when the user agent says WeCom but no bridge arrives', async () => {
    fakeApi(baseRoutes());
    const wecom = await simulatedWeCom({ bridge: 'none' });
    const context = useContextStore();
    const started = Date.now();
    await context.boot(wecom.ww, { bridgeMs: 50, registrationMs: 200, callMs: 200 });
    expect(context.problem).toMatchObject({ kind: 'no_bridge' });
    expect(Date.now() - started).toBeLessThan(1000);
    expect(wecom.invoked()).toEqual([]);
  });

  it('waits for a bridge that arrives late, within the bound', async () => {
    fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom({ bridge: 'late', lateMs: 30 });
    await useContextStore().boot(wecom.ww, { bridgeMs: 500, registrationMs: 500, callMs: 500 });
    expect(useContextStore().target).toEqual({ kind: 'contact', externalUserId: ids.chenJing });
  });

  it('says WeCom did not answer when the bridge is there but registration hangs', async () => {
    fakeApi(baseRoutes());
    const wecom = await simulatedWeCom();
    const hanging = { ...wecom.ww, ensureConfigReady: () => new Promise<never>(() => undefined) };
    await useContextStore().boot(hanging, { bridgeMs: 50, registrationMs: 50, callMs: 50 });
    expect(useContextStore().problem).toMatchObject({ kind: 'no_answer' });
  });

  it('follows the client to another chat when the sidebar comes back into view', async () => {
    const api = fakeApi({
      ...baseRoutes(),
      [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() },
      [`GET /api/contacts/${ids.liuYang}`]: { body: contactDetail({ contact: { ...contactDetail().contact, externalUserId: ids.liuYang, name: '刘洋' } }) },
    });
    const wecom = await simulatedWeCom();
    const context = useContextStore();
    await context.boot(wecom.ww);
    wecom.client?.switchChat({ contact: ids.liuYang });
    await context.refresh(Date.now() + 60_000);
    await settle();
    expect(api.count(`GET /api/contacts/${ids.liuYang}`)).toBe(1);
    expect(useContactStore().detail?.contact.name).toBe('刘洋');
    expect(api.count('POST /api/jssdk/signatures')).toBe(1);
  });

  it('drops everything cached and logs in again when the account changed', async () => {
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom();
    const context = useContextStore();
    await context.boot(wecom.ww);
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
    await context.boot((await simulatedWeCom()).ww);
    await settle();
    await context.refresh(Date.now() + 60_000);
    expect(assign).not.toHaveBeenCalled();
    expect(useContactStore().detail?.contact.name).toBe('陈静');
  });
});

describe('the boot with the page’s boot block (worker/routes/page.ts)', () => {
  let assign: ReturnType<typeof vi.fn>;

  /** The block as the worker writes it: JSON with `<` escaped, inside a script WeCom's page never runs. */
  function serve(data: unknown): void {
    const element = document.createElement('script');
    element.type = 'application/json';
    element.id = 'boot';
    element.textContent = JSON.stringify(data).replace(/</g, '\\u003c');
    document.head.append(element);
  }

  beforeEach(() => {
    ({ assign } = freshPage(PAGE));
  });
  afterEach(() => {
    document.getElementById('boot')?.remove();
    vi.restoreAllMocks();
  });

  it('registers with the embedded signatures and skips /api/me: the contact is the only request', async () => {
    serve({ me: me(), signatures: { url: pageUrl(), ...signatures('served') } });
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom();
    await useContextStore().boot(wecom.ww);
    await settle();

    expect(api.calls.map((call) => `${call.method} ${call.path}`)).toEqual([`GET /api/contacts/${ids.chenJing}`]);
    expect(wecom.checks.map((check) => check.agentConfig?.signature)).toEqual([signatures('served').agentConfig.signature]);
    expect(wecom.invoked()).toEqual(['agentConfig', 'getContext', 'getCurExternalContact']);
    expect(useSessionStore().me?.user.userid).toBe(me().user.userid);
    expect(useContactStore().detail?.contact.name).toBe('陈静');
  });

  it('asks the worker for signatures when the embedded ones were made for another URL, and still skips /api/me', async () => {
    serve({ me: me(), signatures: { url: 'http://127.0.0.1:8787/?entry=other', ...signatures('served') } });
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom();
    await useContextStore().boot(wecom.ww);
    await settle();

    expect(api.find('POST /api/jssdk/signatures').map((call) => call.body)).toEqual([{ url: pageUrl() }]);
    expect(api.count('GET /api/me')).toBe(0);
    expect(useContactStore().detail?.contact.name).toBe('陈静');
  });

  it('falls back to the refresh-once path when WeCom refuses the embedded signatures', async () => {
    serve({ me: me(), signatures: { url: pageUrl(), ...signatures('served') } });
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    const wecom = await simulatedWeCom({ agentConfig: ['invalid', 'ok'] });
    await useContextStore().boot(wecom.ww);
    await settle();

    expect(api.find('POST /api/jssdk/signatures').map((call) => call.body)).toEqual([{ url: pageUrl(), refresh: true }]);
    expect(wecom.checks.map((check) => check.agentConfig?.signature)).toEqual([signatures('served').agentConfig.signature, signatures('fresh').agentConfig.signature]);
    expect(useContactStore().detail?.contact.name).toBe('陈静');
  });

  it('sends a page served without a session straight to login, asking nothing', async () => {
    serve({ me: null, signatures: null });
    const api = fakeApi(baseRoutes());
    const wecom = await simulatedWeCom();
    await useContextStore().boot(wecom.ww);
    await settle();

    expect(assign).toHaveBeenCalledExactlyOnceWith(`/auth/login?return=${encodeURIComponent('/?entry=single_chat_tools#/')}`);
    expect(api.count('GET /api/me')).toBe(0);
    expect(wecom.apis()).toEqual([]);
  });

  it('reads a name that holds markup as text', async () => {
    const name = '</script><b>王五</b>';
    serve({ me: { ...me(), user: { ...me().user, name } }, signatures: null });
    fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    await useContextStore().boot((await simulatedWeCom()).ww);
    expect(useSessionStore().me?.user.name).toBe(name);
  });

  it('asks /api/me again on a later check: the block is taken once', async () => {
    serve({ me: me(), signatures: { url: pageUrl(), ...signatures('served') } });
    const api = fakeApi({ ...baseRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: contactDetail() } });
    await useContextStore().boot((await simulatedWeCom()).ww);
    await useSessionStore().recheck();
    expect(await useSessionStore().load()).toBe(true);
    expect(api.count('GET /api/me')).toBe(2);
  });
});
