import { afterEach, describe, expect, it, vi } from 'vitest';
import { detectLocale, locale } from '../../web/i18n/index.ts';
import { chatDetail, contactDetail, ids, signatures } from './fixtures.ts';
import { settled, startApp } from './harness.ts';

const CONTACT = `GET /api/contacts/${ids.chenJing}`;

describe('App: what each failure looks like', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('shows the not-in-WeCom screen in a plain browser', async () => {
    const { wrapper, ww, api } = await startApp({ ww: { inWeCom: false } });
    expect(wrapper.find('[data-testid="not-in-wecom"]').exists()).toBe(true);
    expect(wrapper.text()).toContain('请在企业微信中打开');
    expect(wrapper.text()).toContain('聊天工具栏');
    expect(ww.invoked()).toEqual([]);
    expect(api.calls).toEqual([]);
  });

  it('shows a skeleton, not a blocking spinner, while the boot runs', async () => {
    const { wrapper } = await startApp({ routes: { [CONTACT]: () => new Promise(() => undefined) } });
    expect(wrapper.find('[data-testid="skeleton"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="contact-card"]').exists()).toBe(false);
  });

  it('shows the signature-rejected screen with the WeCom code and the trusted-domain fix', async () => {
    const { wrapper } = await startApp({ ww: { agentConfig: ['expired'] } });
    const screen = wrapper.find('[data-testid="problem-signature_rejected"]');
    expect(screen.exists()).toBe(true);
    expect(screen.find('[data-testid="problem-errcode"]').text()).toBe('42012');
    expect(screen.text()).toContain('可信域名');
    expect(screen.text()).toContain('agentConfig:invalidsignature');
  });

  it('says when a retry can help after fresh tickets were refused within the refetch limit', async () => {
    const { wrapper } = await startApp({
      ww: { agentConfig: ['invalid'] },
      routes: { 'POST /api/jssdk/signatures': (call) => ({ body: (call.body as { refresh?: boolean }).refresh ? { ...signatures('fresh'), retryAfter: 42 } : signatures() }) },
    });
    const screen = wrapper.find('[data-testid="problem-signature_retry_later"]');
    expect(screen.text()).toContain('42 秒后重试');
    expect(screen.find('button').exists()).toBe(true);
  });

  it('explains a missing customer-contact permission', async () => {
    const { wrapper } = await startApp({ ww: { permission: 'none' } });
    const screen = wrapper.find('[data-testid="problem-no_permission"]');
    expect(screen.text()).toContain('可调用接口的应用');
    expect(screen.text()).toContain('客户联系');
  });

  it('explains a page opened outside a customer chat', async () => {
    // An old client (no getContext) opened outside a chat: both customer calls say there is no context.
    const { wrapper } = await startApp({ ww: { version: '3.0.16', missing: ['getContext'], entry: 'normal' } });
    expect(wrapper.find('[data-testid="problem-no_context"]').exists()).toBe(true);
  });

  it('says to open the page from the WeCom sidebar when no bridge arrives, with a retry', async () => {
    const { wrapper } = await startApp({ ww: { bridge: 'none' }, waits: { bridgeMs: 20, registrationMs: 50, callMs: 50 } });
    const screen = wrapper.find('[data-testid="problem-no_bridge"]');
    expect(screen.text()).toContain('请从企业微信侧边栏打开本页面');
    expect(screen.find('button').exists()).toBe(true);
  });

  it('says the contact is not yours on a 403', async () => {
    const { wrapper } = await startApp({ routes: { [CONTACT]: { status: 403, body: { error: 'not_your_contact', message: 'Not an external contact of yours' } } } });
    expect(wrapper.find('[data-testid="problem-not_your_contact"]').text()).toContain('不是你的客户');
  });

  it('says the contact is not yours on WeCom 84061, with the code and the admin hint', async () => {
    const hint = 'This customer is not (or no longer) an external contact of this member.';
    const { wrapper } = await startApp({ routes: { [CONTACT]: { status: 404, body: { error: 'contact_not_found', message: 'not an external contact', errcode: 84061, hint } } } });
    const screen = wrapper.find('[data-testid="problem-not_your_contact"]');
    expect(screen.find('[data-testid="problem-errcode"]').text()).toBe('84061');
    expect(screen.find('[data-testid="problem-hint"]').text()).toBe(hint);
  });

  it.each([
    [502, 'crm_unreachable'],
    [504, 'crm_timeout'],
  ])('says the CRM is unreachable on %s %s, and retries on request', async (status, code) => {
    const { wrapper, api } = await startApp({ routes: { [CONTACT]: (_call, nth) => (nth === 1 ? { status, body: { error: code, message: 'CRM did not answer' } } : { body: contactDetail() }) } });
    const screen = wrapper.find('[data-testid="problem-crm_unreachable"]');
    expect(screen.text()).toContain('CRM');
    await screen.find('button').trigger('click');
    await settled();
    expect(api.count(CONTACT)).toBe(2);
    expect(wrapper.find('[data-testid="contact-card"]').exists()).toBe(true);
  });

  it('shows a WeCom failure with its code and hint when the worker relays one', async () => {
    const hint = 'Add the app under 客户联系 → 可调用接口的应用.';
    const { wrapper } = await startApp({ routes: { [CONTACT]: { status: 503, body: { error: 'wecom_48002', message: 'API not permitted', errcode: 48002, hint } } } });
    const screen = wrapper.find('[data-testid="problem-wecom_failed"]');
    expect(screen.find('[data-testid="problem-errcode"]').text()).toBe('48002');
    expect(screen.find('[data-testid="problem-hint"]').text()).toBe(hint);
  });

  it('turns a 401 in the middle of use into the session-expired screen that logs in again', async () => {
    const { wrapper, api, assign } = await startApp({
      url: '/?entry=single_chat_tools#/',
      routes: { [CONTACT]: { body: contactDetail() }, 'GET /api/customers': { status: 401, body: { error: 'unauthenticated', message: 'session expired' } } },
    });
    await wrapper.find('[data-testid="customer-search"] input').setValue('星河');
    await wrapper.find('[data-testid="customer-search"] form').trigger('submit');
    await settled();
    expect(api.count('GET /api/customers')).toBe(1);
    const screen = wrapper.find('[data-testid="problem-session_expired"]');
    expect(screen.exists()).toBe(true);
    await screen.find('button').trigger('click');
    expect(assign).toHaveBeenCalledWith(`/auth/login?return=${encodeURIComponent('/?entry=single_chat_tools#/')}`);
  });

  it('speaks English when the WeCom client does', async () => {
    locale.value = 'en';
    const { wrapper } = await startApp({ routes: { [CONTACT]: { status: 403, body: { error: 'not_your_contact', message: 'no' } } } });
    locale.value = 'en';
    await settled();
    expect(wrapper.text()).toContain('Not your customer');
  });

  it('switches language from the header', async () => {
    const { wrapper } = await startApp({ routes: { [CONTACT]: { body: contactDetail() } } });
    await wrapper.find('header.bar button').trigger('click');
    expect(wrapper.text()).toContain('Followed by');
    await wrapper.find('header.bar button').trigger('click');
    expect(wrapper.text()).toContain('跟进人');
  });

  it('shows admins the admin pages in the header, and others not', async () => {
    const sales = await startApp({ routes: { [CONTACT]: { body: contactDetail() } } });
    expect(sales.wrapper.find('nav').text()).not.toContain('成员');
    sales.wrapper.unmount();
    const { adminMe } = await import('./fixtures.ts');
    const admin = await startApp({ me: adminMe(), routes: { [CONTACT]: { body: contactDetail() } } });
    expect(admin.wrapper.find('nav').text()).toContain('成员');
    expect(admin.wrapper.find('nav').text()).toContain('事件');
  });
});

describe('App: the group chat', () => {
  afterEach(() => {
    vi.unstubAllGlobals();
    vi.restoreAllMocks();
  });

  it('lists external members with their binding status and opens a member’s card on tap', async () => {
    const { wrapper, api } = await startApp({
      ww: { entry: 'group_chat_tools' },
      routes: { [`GET /api/chats/${ids.chat}`]: { body: chatDetail() }, [`GET /api/contacts/${ids.zhouMin}`]: { body: contactDetail({ contact: { ...contactDetail().contact, externalUserId: ids.zhouMin, name: '周敏', type: 2, corpName: '星河贸易' } }) } },
    });
    const members = wrapper.find('[data-testid="external-members"]');
    expect(members.findAll('li')).toHaveLength(3);
    expect(members.text()).toContain('星河贸易·陈静');
    expect(members.text()).toContain('未关联');
    expect(wrapper.text()).toContain('1/3 位客户已关联');
    expect(wrapper.text()).not.toContain('王五\n');

    const link = members.find(`[data-member="${ids.zhouMin}"]`);
    expect(link.attributes('href')).toBe(`#/contact/${ids.zhouMin}`);
    location.hash = link.attributes('href') ?? '';
    window.dispatchEvent(new HashChangeEvent('hashchange'));
    await settled();
    expect(api.count(`GET /api/contacts/${ids.zhouMin}`)).toBe(1);
    expect(wrapper.find('[data-testid="contact-card"]').text()).toContain('周敏');
    expect(wrapper.find('[data-testid="contact-card"]').text()).toContain('@星河贸易');
    expect(wrapper.find('a.back').attributes('href')).toBe('#/');
  });

  it('shows a chat the worker cannot load as a problem with a retry', async () => {
    const { wrapper } = await startApp({ ww: { entry: 'group_chat_tools' }, routes: { [`GET /api/chats/${ids.chat}`]: { status: 502, body: { error: 'crm_unreachable', message: 'down' } } } });
    expect(wrapper.find('[data-testid="problem-crm_unreachable"]').exists()).toBe(true);
  });
});

describe('detectLocale', () => {
  it.each([
    ['wxwork/3.1.9 Language/en', ['zh-CN'], 'en'],
    ['wxwork/3.1.9 Language/zh', ['en-US'], 'zh-CN'],
    ['wxwork/3.1.9 Language/zh_CN', ['en-US'], 'zh-CN'],
    ['Chrome/156', ['en-GB'], 'en'],
    ['Chrome/156', ['zh-TW'], 'zh-CN'],
    ['Chrome/156', [], 'zh-CN'],
  ] as const)('reads %s with browser languages %j as %s', (userAgent, languages, expected) => {
    expect(detectLocale(userAgent, languages)).toBe(expected);
  });
});
