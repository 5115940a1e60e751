import type { DOMWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { formatDate, locale } from '../../web/i18n/index.ts';
import { deferred, type Reply } from './fake-api.ts';
import { adminMe, blockedByToken, CALLBACK_URL, contactApiRefused, diagnosticsReport, me, untrustedIp, WORKER_ORIGIN } from './fixtures.ts';
import { settled, startApp } from './harness.ts';

const DIAGNOSTICS = 'GET /api/admin/diagnostics';
const PAGE = '/#/admin/diagnostics';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

function row(wrapper: { find(selector: string): DOMWrapper<Element> }, id: string): DOMWrapper<Element> {
  const found = wrapper.find(`[data-testid="diagnostic-check"][data-check="${id}"]`);
  expect(found.exists(), `no row for ${id}`).toBe(true);
  return found;
}

describe('the diagnostics page', () => {
  it('asks the worker to judge this page’s origin and shows every check passing', async () => {
    const { wrapper, api } = await startApp({ url: PAGE, me: adminMe(), routes: { [DIAGNOSTICS]: { body: diagnosticsReport() } } });
    expect(api.find(DIAGNOSTICS).map((call) => call.path)).toEqual([`/api/admin/diagnostics?origin=${encodeURIComponent(location.origin)}`]);
    expect(wrapper.find('nav a[aria-current="page"]').text()).toBe('诊断');

    const summary = wrapper.find('[data-testid="diagnostics-summary"]');
    expect(summary.text()).toContain('全部检查通过。');
    expect(summary.find('[data-testid="summary-pass"]').text()).toBe('✓通过 7');
    expect(summary.find('[data-testid="summary-warn"]').text()).toBe('!警告 0');
    expect(summary.find('[data-testid="summary-fail"]').text()).toBe('✕失败 0');
    expect(summary.text()).toContain(`企业 wwdemo0000000001 · 应用 1000002`);

    const rows = wrapper.findAll('[data-testid="diagnostic-check"]');
    expect(rows.map((r) => r.attributes('data-check'))).toEqual(['config', 'access_token', 'jssdk_tickets', 'customer_contact', 'visible_range', 'callback', 'origin']);
    expect(rows.map((r) => r.find('[data-testid="check-status"]').text())).toEqual(Array(7).fill('✓通过'));
    expect(wrapper.find('[data-testid="check-errcode"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="check-fix"]').exists()).toBe(false);
    expect(row(wrapper, 'jssdk_tickets').find('[data-testid="check-message"]').text()).toBe('两种 JS-SDK 票据均可获取：企业 jsapi_ticket（wx.config）和应用 jsapi_ticket（wx.agentConfig）。');
    expect(row(wrapper, 'visible_range').find('[data-testid="check-details"]').text()).toContain('可见部门5');
  });

  it('shows the callback times in local time and the callback URL to copy', async () => {
    const writeText = vi.fn(async () => undefined);
    vi.spyOn(navigator, 'clipboard', 'get').mockReturnValue({ writeText } as unknown as Clipboard);
    const { wrapper } = await startApp({ url: PAGE, me: adminMe(), routes: { [DIAGNOSTICS]: { body: diagnosticsReport() } } });
    const callback = row(wrapper, 'callback');
    const verified = callback.find('[data-detail="verifiedAt"]');
    expect(verified.text()).toBe(`最近校验${formatDate(1707000000000, true)}`);
    expect(verified.find('time').attributes('datetime')).toBe('2024-02-03T22:40:00.000Z');
    expect(callback.find('[data-detail="lastEventAt"] time').text()).toBe(formatDate(1707027200000, true));
    expect(callback.find('[data-testid="callback-url"]').text()).toBe(CALLBACK_URL);
    await callback.find('[data-testid="copy-callback-url"]').trigger('click');
    await settled();
    expect(writeText).toHaveBeenCalledWith(CALLBACK_URL);
    expect(callback.text()).toContain('已复制');
  });

  it('says when the URL could not be copied, leaving it selected to copy by hand', async () => {
    vi.spyOn(navigator, 'clipboard', 'get').mockReturnValue({ writeText: () => Promise.reject(new DOMException('denied', 'NotAllowedError')) } as unknown as Clipboard);
    const never = diagnosticsReport({ callback: { status: 'warn', details: { verifiedAt: null, lastEventAt: null, callbackUrl: CALLBACK_URL } } });
    const { wrapper } = await startApp({ url: PAGE, me: adminMe(), routes: { [DIAGNOSTICS]: { body: never } } });
    const callback = row(wrapper, 'callback');
    expect(callback.find('[data-detail="verifiedAt"] dd').text()).toBe('无记录');
    expect(callback.find('[data-detail="lastEventAt"] dd').text()).toBe('尚未收到');
    await callback.find('[data-testid="copy-callback-url"]').trigger('click');
    await settled();
    expect(callback.text()).toContain('无法自动复制');
    expect(window.getSelection()?.toString()).toBe(CALLBACK_URL);
  });

  it('names the origin it judged and the trusted ones', async () => {
    const { wrapper } = await startApp({
      url: PAGE,
      me: adminMe(),
      routes: {
        [DIAGNOSTICS]: {
          body: diagnosticsReport({
            origin: {
              status: 'fail',
              message: 'https://evil.example is not an origin this worker signs for, so the sidebar opened from it cannot register the JS-SDK.',
              messageZh: '本服务不为 https://evil.example 签名，从该地址打开的侧边栏无法注册 JS-SDK。',
              fix: { en: `Open the sidebar from ${WORKER_ORIGIN}.`, zh: `从 ${WORKER_ORIGIN} 打开侧边栏。` },
              details: { origin: 'https://evil.example', ownOrigin: WORKER_ORIGIN, trustedOrigins: ['https://crm.example.com', 'https://sidebar.example.com'] },
            },
          }),
        },
      },
    });
    const origin = row(wrapper, 'origin');
    expect(origin.attributes('data-status')).toBe('fail');
    expect(origin.find('[data-detail="origin"] dd').text()).toBe('https://evil.example');
    expect(origin.find('[data-detail="ownOrigin"] dd').text()).toBe(WORKER_ORIGIN);
    expect(origin.findAll('[data-detail="trustedOrigins"] dd .item').map((item) => item.text())).toEqual(['https://crm.example.com', 'https://sidebar.example.com']);
    expect(origin.find('[data-detail="trustedDomain"]').exists()).toBe(false);
  });

  it('shows a failing check with its errcode and fix, in Chinese and then in English', async () => {
    const report = diagnosticsReport({
      customer_contact: contactApiRefused,
      visible_range: {
        status: 'warn',
        message: 'The visible range lists members but no department: org sync and department-based scopes will find no departments.',
        messageZh: '可见范围只包含成员、没有部门：组织同步和按部门的数据范围将找不到部门。',
        fix: { en: 'Widen the visible range under 管理后台 → 应用管理 → this app → 可见范围.', zh: '在 管理后台 → 应用管理 → 本应用 → 可见范围 中添加使用侧边栏的部门（或成员）。' },
        details: { departments: 0, followUsers: null },
      },
    });
    const { wrapper } = await startApp({ url: PAGE, me: adminMe(), routes: { [DIAGNOSTICS]: { body: report } } });

    const summary = wrapper.find('[data-testid="diagnostics-summary"]');
    expect(summary.attributes('data-worst')).toBe('fail');
    expect(summary.text()).toContain('1 项检查失败');
    expect(summary.find('[data-testid="summary-pass"]').attributes('data-count')).toBe('5');
    expect(summary.find('[data-testid="summary-warn"]').attributes('data-count')).toBe('1');
    expect(summary.find('[data-testid="summary-fail"]').attributes('data-count')).toBe('1');

    const contact = row(wrapper, 'customer_contact');
    expect(contact.attributes('data-status')).toBe('fail');
    expect(contact.find('[data-testid="check-status"]').text()).toBe('✕失败');
    expect(contact.find('[data-testid="check-message"]').text()).toBe('企业微信拒绝了客户联系接口（48002）：本应用不在「可调用接口的应用」中。');
    expect(contact.find('[data-testid="check-errcode"]').text()).toBe('企业微信错误码 48002');
    expect(contact.find('[data-testid="check-fix"]').text()).toBe('修复方法在 管理后台 → 客户与上下游 → 客户联系 → 可调用接口的应用 中添加本应用，并确认 WECOM_SECRET 是本应用自己的 Secret。');
    const range = row(wrapper, 'visible_range');
    expect(range.find('[data-testid="check-status"]').text()).toBe('!警告');
    // followUsers is null when the customer-contact check could not count them: no line for it.
    expect(range.find('[data-detail="followUsers"]').exists()).toBe(false);

    await wrapper.find('header.bar button.lang').trigger('click');
    expect(locale.value).toBe('en');
    expect(summary.text()).toContain('1 failed: follow the fix under each.');
    expect(contact.find('[data-testid="check-status"]').text()).toBe('✕Fail');
    expect(contact.find('[data-testid="check-message"]').text()).toBe('WeCom refused the customer-contact API (48002): this app is not among the apps allowed to call it.');
    expect(contact.find('[data-testid="check-errcode"]').text()).toBe('WeCom error code 48002');
    expect(contact.find('[data-testid="check-fix"]').text()).toBe("How to fixAdd this app under 管理后台 → 客户与上下游 → 客户联系 → 可调用接口的应用, and make sure WECOM_SECRET is this app's own Secret.");
    expect(row(wrapper, 'customer_contact').find('h4').text()).toBe('Customer-contact API');
  });

  it('marks the checks gettoken blocked, and shows the egress IP WeCom reported', async () => {
    const report = diagnosticsReport({ access_token: untrustedIp, jssdk_tickets: blockedByToken, customer_contact: blockedByToken, visible_range: blockedByToken });
    const { wrapper } = await startApp({ url: PAGE, me: adminMe(), routes: { [DIAGNOSTICS]: { body: report } } });

    const token = row(wrapper, 'access_token');
    expect(token.find('[data-testid="check-errcode"]').text()).toContain('60020');
    expect(token.find('[data-detail="egressIp"] dd').text()).toBe('203.0.113.7');
    expect(token.find('[data-detail="viaProxy"] dd').text()).toBe('是');
    expect(token.find('[data-testid="check-fix"]').text()).toContain('企业可信IP');

    const blocked = wrapper.findAll('[data-testid="diagnostic-check"][data-blocked]');
    expect(blocked.map((r) => r.attributes('data-check'))).toEqual(['jssdk_tickets', 'customer_contact', 'visible_range']);
    for (const check of blocked) {
      expect(check.find('[data-testid="check-status"]').text()).toBe('–未检查');
      expect(check.find('[data-testid="check-blocked"]').text()).toBe('因「获取 access_token」检查失败而未运行。');
      expect(check.find('[data-testid="check-fix"]').exists()).toBe(false);
    }
    // The worker counts a blocked check as a warning; the summary repeats its counts.
    expect(wrapper.find('[data-testid="summary-warn"]').attributes('data-count')).toBe('3');
    expect(wrapper.find('[data-testid="summary-fail"]').attributes('data-count')).toBe('1');
  });

  it('shows skeletons while the checks run, and again when run again', async () => {
    const first = deferred<Reply>();
    const second = deferred<Reply>();
    const replies = [first, second];
    const { wrapper, api } = await startApp({ url: PAGE, me: adminMe(), routes: { [DIAGNOSTICS]: (_call, nth) => replies[nth - 1]!.promise } });
    const button = () => wrapper.find('[data-testid="run-diagnostics"]');
    expect(wrapper.find('[data-testid="admin-diagnostics"] [data-testid="skeleton"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="admin-diagnostics"]').attributes('aria-busy')).toBe('true');
    expect(button().attributes('disabled')).toBeDefined();
    expect(button().text()).toBe('检查中…');
    expect(wrapper.find('[data-testid="diagnostic-check"]').exists()).toBe(false);

    first.resolve({ body: diagnosticsReport({ customer_contact: contactApiRefused }) });
    await settled();
    expect(row(wrapper, 'customer_contact').attributes('data-status')).toBe('fail');
    expect(button().text()).toBe('重新检查');

    await button().trigger('click');
    await settled();
    expect(api.count(DIAGNOSTICS)).toBe(2);
    expect(wrapper.find('[data-testid="admin-diagnostics"] [data-testid="skeleton"]').exists()).toBe(true);
    // Last run's rows are gone while this one runs: nothing on screen is older than the button press.
    expect(wrapper.find('[data-testid="diagnostic-check"]').exists()).toBe(false);

    second.resolve({ body: diagnosticsReport() });
    await settled();
    expect(row(wrapper, 'customer_contact').attributes('data-status')).toBe('pass');
    expect(wrapper.find('[data-testid="skeleton"]').exists()).toBe(false);
  });

  it('shows the forbidden screen when the worker refuses the admin API', async () => {
    const { wrapper } = await startApp({ url: PAGE, me: adminMe(), routes: { [DIAGNOSTICS]: { status: 403, body: { error: 'forbidden', message: 'This needs the admin role' } } } });
    expect(wrapper.find('[data-testid="problem-forbidden"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="diagnostics-summary"]').exists()).toBe(false);
  });

  it('shows a failed request with its code and tries again on request', async () => {
    const { wrapper, api } = await startApp({
      url: PAGE,
      me: adminMe(),
      routes: {
        [DIAGNOSTICS]: (_call, nth) => (nth === 1 ? { status: 500, body: { error: 'internal', message: 'Something went wrong' } } : { body: diagnosticsReport() }),
      },
    });
    const problem = wrapper.find('[data-testid="problem-unexpected"]');
    expect(problem.exists()).toBe(true);
    expect(problem.text()).toContain('Something went wrong');
    await problem.find('button').trigger('click');
    await settled();
    expect(api.count(DIAGNOSTICS)).toBe(2);
    expect(wrapper.find('[data-testid="problem-unexpected"]').exists()).toBe(false);
    expect(wrapper.findAll('[data-testid="diagnostic-check"]')).toHaveLength(7);
  });

  it('is not offered to, nor run for, a member who is not an admin', async () => {
    const { wrapper, api } = await startApp({ url: PAGE, me: me() });
    expect(wrapper.find('[data-testid="problem-forbidden"]').exists()).toBe(true);
    expect(wrapper.find('nav').text()).not.toContain('诊断');
    expect(api.count(DIAGNOSTICS)).toBe(0);
  });
});
