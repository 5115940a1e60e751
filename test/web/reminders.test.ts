import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FollowUp, LostCustomer } from '../../web/api/types.ts';
import { initialRoute, parseHash, route } from '../../web/router.ts';
import { adminMe, boundDetail, customer, diagnosticsReport, ids, me, notes, timeline } from './fixtures.ts';
import { settled, startApp } from './harness.ts';

const CUSTOMER = 'cus_xinghe';
const FOLLOW_UP = `/api/customers/${CUSTOMER}/follow-up`;

function customerRoutes() {
  return {
    [`GET /api/contacts/${ids.chenJing}`]: { body: boundDetail() },
    [`GET /api/customers/${CUSTOMER}/notes`]: { body: { notes: notes() } },
    [`GET /api/customers/${CUSTOMER}/timeline`]: { body: { items: timeline() } },
  };
}

const followUp = (overrides: Partial<FollowUp> = {}): FollowUp => ({ dueAt: Date.UTC(2031, 0, 2, 1, 0), note: '确认交付周期', setBy: { userid: 'wangwu', name: '王五' }, setAt: 0, ...overrides });

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the follow-up setter', () => {
  it('sets a follow-up time with a note and shows whom it will remind', async () => {
    const { wrapper, api } = await startApp({
      routes: {
        ...customerRoutes(),
        [`GET ${FOLLOW_UP}`]: { body: { followUp: null } },
        [`PUT ${FOLLOW_UP}`]: (call) => ({ body: { followUp: followUp({ ...(call.body as { dueAt: number; note: string }) }) } }),
      },
    });
    const section = () => wrapper.find('[data-testid="follow-up"]');
    expect(section().text()).toContain('未设置跟进时间');
    await section().findAll('button').find((b) => b.text() === '设置提醒')!.trigger('click');
    await section().find('input[name="dueAt"]').setValue('2031-01-02T09:30');
    await section().find('input[name="note"]').setValue('  确认交付周期 ');
    await section().find('form').trigger('submit');
    await settled();
    const [put] = api.find(`PUT ${FOLLOW_UP}`);
    expect(put?.body).toEqual({ dueAt: new Date('2031-01-02T09:30').getTime(), note: '确认交付周期' });
    expect(section().find('[data-testid="follow-up-due"]').text()).toContain('确认交付周期');
    expect(section().find('[data-testid="follow-up-due"]').text()).toContain('提醒 王五');
  });

  it('refuses a time in the past without asking the worker, and clears a follow-up', async () => {
    const { wrapper, api } = await startApp({
      routes: { ...customerRoutes(), [`GET ${FOLLOW_UP}`]: { body: { followUp: followUp() } }, [`DELETE ${FOLLOW_UP}`]: { body: { followUp: null } } },
    });
    const section = () => wrapper.find('[data-testid="follow-up"]');
    await section().findAll('button').find((b) => b.text() === '修改')!.trigger('click');
    await section().find('input[name="dueAt"]').setValue('2001-01-01T09:00');
    await section().find('form').trigger('submit');
    await settled();
    expect(section().find('[role="alert"]').text()).toBe('请选择一个将来的时间。');
    expect(api.count(`PUT ${FOLLOW_UP}`)).toBe(0);
    await section().findAll('button').find((b) => b.text() === '取消')!.trigger('click');
    await section().findAll('button').find((b) => b.text() === '清除')!.trigger('click');
    await settled();
    expect(api.count(`DELETE ${FOLLOW_UP}`)).toBe(1);
    expect(section().text()).toContain('未设置跟进时间');
  });

  it('shows a viewer the follow-up without the controls', async () => {
    const { wrapper } = await startApp({
      me: me('wangwu', ['viewer']),
      routes: { ...customerRoutes(), [`GET /api/contacts/${ids.chenJing}`]: { body: { ...boundDetail(), permissions: { canBind: false, canEdit: false } } }, [`GET ${FOLLOW_UP}`]: { body: { followUp: followUp() } } },
    });
    const section = wrapper.find('[data-testid="follow-up"]');
    expect(section.find('[data-testid="follow-up-due"]').exists()).toBe(true);
    expect(section.findAll('button')).toHaveLength(0);
  });
});

describe('the customer deep link', () => {
  it('routes #/customer/<id>, and the query an app message link carries when there is no fragment', () => {
    expect(parseHash('#/customer/cus_x%3A1')).toEqual({ name: 'customer', customerId: 'cus_x:1' });
    expect(initialRoute('', '?customer=cus_xinghe')).toEqual({ name: 'customer', customerId: 'cus_xinghe' });
    expect(initialRoute('#/', '?external=wmAbc')).toEqual({ name: 'contact', externalUserId: 'wmAbc' });
    // A fragment the member navigated to wins over the link's query.
    expect(initialRoute('#/settings', '?customer=cus_xinghe')).toEqual({ name: 'settings' });
    expect(initialRoute('', '?entry=normal')).toEqual({ name: 'home' });
  });

  it('opens the customer panel without a chat, from the link in a message', async () => {
    // The test DOM reports leaving the previous test's fragment as a hash change; let it pass first.
    history.replaceState(null, '', '/?customer=cus_xinghe');
    await settled();
    const { wrapper, api } = await startApp({
      url: '/?customer=cus_xinghe',
      prepare: () => (route.value = initialRoute(location.hash, location.search)),
      ww: { entry: 'normal' },
      routes: {
        [`GET /api/customers/${CUSTOMER}`]: { body: { customer: customer() } },
        [`GET /api/customers/${CUSTOMER}/notes`]: { body: { notes: notes() } },
        [`GET /api/customers/${CUSTOMER}/timeline`]: { body: { items: timeline() } },
        [`GET ${FOLLOW_UP}`]: { body: { followUp: followUp() } },
      },
    });
    expect(wrapper.find('[data-testid="customer-view"]').exists()).toBe(true);
    expect(wrapper.find('[data-testid="customer-record"]').text()).toContain(customer().name);
    expect(wrapper.find('[data-testid="follow-up-due"]').exists()).toBe(true);
    expect(api.count(`GET /api/customers/${CUSTOMER}`)).toBe(1);
    expect(api.calls.some((call) => call.path.startsWith('/api/contacts/'))).toBe(false);
  });

  it('says so when the customer is not yours', async () => {
    const { wrapper } = await startApp({
      url: '/#/customer/cus_other',
      routes: { 'GET /api/customers/cus_other': { status: 403, body: { error: 'not_your_customer', message: 'This customer is not owned by you' } } },
    });
    expect(wrapper.find('[data-testid="customer-view"]').text()).not.toContain(customer().name);
    expect(wrapper.find('[data-testid="customer-record"]').exists()).toBe(false);
  });
});

describe('the notification settings', () => {
  it('shows each kind and mutes one', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/settings',
      routes: {
        'GET /api/me/notifications': { body: { settings: { reminder: true, lost_customer: true, new_customer: true } } },
        'PUT /api/me/notifications': (call) => ({ body: { settings: { reminder: true, lost_customer: true, new_customer: true, ...(call.body as { settings: object }).settings } } }),
      },
    });
    const panel = wrapper.find('[data-testid="notification-settings"]');
    expect(panel.findAll('input[type="checkbox"]').map((box) => (box.element as HTMLInputElement).checked)).toEqual([true, true, true]);
    await panel.find('input[name="lost_customer"]').setValue(false);
    await settled();
    expect(api.find('PUT /api/me/notifications').map((call) => call.body)).toEqual([{ settings: { lost_customer: false } }]);
    expect((wrapper.find('input[name="lost_customer"]').element as HTMLInputElement).checked).toBe(false);
  });
});

describe('the lost-customers page', () => {
  const lost = (overrides: Partial<LostCustomer> = {}): LostCustomer => ({
    id: '1',
    at: Date.UTC(2030, 4, 6, 2),
    member: { userid: 'wangwu', name: '王五' },
    externalUserId: ids.chenJing,
    customerId: CUSTOMER,
    name: '星河贸易',
    notified: [{ userid: 'wangwu', name: '王五' }, { userid: 'lisi', name: '李四' }],
    ...overrides,
  });

  it('lists customers who deleted a member, links to the record, and filters by member and dates', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/lost-customers',
      me: adminMe(),
      routes: {
        'GET /api/admin/lost-customers': (call) => ({ body: { items: call.path.includes('member=lisi') ? [] : [lost(), lost({ id: '2', customerId: null, name: null, notified: [] })] } }),
      },
    });
    const rows = wrapper.findAll('[data-testid="lost-customer"]');
    expect(rows).toHaveLength(2);
    expect(rows[0]!.text()).toContain('王五');
    expect(rows[0]!.text()).toContain('李四');
    expect(rows[0]!.find('a').attributes('href')).toBe(`#/customer/${CUSTOMER}`);
    expect(rows[1]!.text()).toContain('（未知）');

    await wrapper.find('input[name="member"]').setValue('lisi');
    await wrapper.find('input[name="from"]').setValue('2030-05-01');
    await wrapper.find('input[name="to"]').setValue('2030-05-31');
    await wrapper.find('[data-testid="lost-customers"] form').trigger('submit');
    await settled();
    expect(api.calls.at(-1)?.path).toBe('/api/admin/lost-customers?member=lisi&from=2030-05-01&to=2030-05-31');
    expect(wrapper.find('[data-testid="lost-customers"]').text()).toContain('该时间段内没有流失客户');
  });

  it('is not shown to a salesperson', async () => {
    const { wrapper, api } = await startApp({ url: '/#/admin/lost-customers', routes: {} });
    expect(wrapper.find('[data-testid="lost-customers"]').exists()).toBe(false);
    expect(api.count('GET /api/admin/lost-customers')).toBe(0);
  });
});

describe('app messages on the diagnostics page', () => {
  it('lists messages that failed for good, with the reason in words and the errcode', async () => {
    const { wrapper } = await startApp({
      url: '/#/admin/diagnostics',
      me: adminMe(),
      routes: {
        'GET /api/admin/diagnostics': { body: diagnosticsReport() },
        'GET /api/admin/app-messages/failures': {
          body: { failures: [{ id: 7, kind: 'reminder', touser: 'zhouba', customerId: CUSTOMER, attempts: 1, errcode: 81013, reason: 'wecom_81013', at: Date.UTC(2030, 0, 1) }] },
        },
      },
    });
    const [item] = wrapper.findAll('[data-testid="app-message-failure"]');
    expect(item?.text()).toContain('跟进提醒');
    expect(item?.text()).toContain('zhouba');
    expect(item?.text()).toContain('接收人全部无效');
    expect(item?.text()).toContain('81013');
  });

  it('says when nothing failed', async () => {
    const { wrapper } = await startApp({
      url: '/#/admin/diagnostics',
      me: adminMe(),
      routes: { 'GET /api/admin/diagnostics': { body: diagnosticsReport() }, 'GET /api/admin/app-messages/failures': { body: { failures: [] } } },
    });
    expect(wrapper.find('[data-testid="app-message-failures"]').text()).toContain('最近没有发送失败的应用消息');
  });
});
