import type { DOMWrapper, VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeCachedContact } from '../../web/stores/cache.ts';
import { deferred, type Reply } from './fake-api.ts';
import { boundDetail, contactDetail, customer, ids, notes, timeline } from './fixtures.ts';
import { settled, startApp } from './harness.ts';

const CONTACT = `GET /api/contacts/${ids.chenJing}`;
const CUSTOMER = 'cus_xinghe';

function customerRoutes() {
  return {
    [`GET /api/customers/${CUSTOMER}/notes`]: { body: { notes: notes() } },
    [`GET /api/customers/${CUSTOMER}/timeline`]: { body: { items: timeline() } },
  };
}

function field(wrapper: VueWrapper, name: string): DOMWrapper<Element> {
  return wrapper.find(`[data-testid="customer-record"] [data-field="${name}"]`);
}

async function edit(wrapper: VueWrapper, name: string, value: string): Promise<void> {
  await field(wrapper, name).find('button').trigger('click');
  const input = field(wrapper, name).find('input, select, textarea');
  await input.setValue(value);
  await field(wrapper, name).find('form').trigger('submit');
  await settled();
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the contact card', () => {
  it('shows who the contact is, my remark and tags, and who follows them since when', async () => {
    const { wrapper } = await startApp({ routes: { [CONTACT]: { body: contactDetail() } } });
    const card = wrapper.find('[data-testid="contact-card"]');
    const avatar = card.find('img');
    expect(avatar.attributes('src')).toBe('https://wx.qlogo.cn/mmhead/demo-chenjing/0');
    // qlogo refuses hotlinked images that carry a referrer.
    expect(avatar.attributes('referrerpolicy')).toBe('no-referrer');
    expect(card.find('h2').text()).toContain('陈静');
    expect(card.find('h2').text()).toContain('@微信');
    expect(card.find('[data-testid="contact-remark"]').text()).toBe('陈静-星河贸易');
    expect(card.text()).toContain('A类客户');
    expect(card.text()).toContain('展会');
    const followers = card.find('[data-testid="followers"]');
    expect(followers.text()).toContain('王五');
    expect(followers.text()).toContain('2024');
    expect(followers.find('.ended').text()).toContain('李四');
    expect(followers.find('.ended').text()).toContain('已删除');
  });

  it('paints a cached contact at once and replaces it with the fresh answer', async () => {
    const fresh = deferred<Reply>();
    const { wrapper } = await startApp({
      prepare: () => writeCachedContact('wangwu', ids.chenJing, contactDetail({ contact: { ...contactDetail().contact, name: '陈静（上次）' } })),
      routes: { [CONTACT]: () => fresh.promise },
    });
    expect(wrapper.find('[data-testid="skeleton"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="contact-card"] h2').text()).toContain('陈静（上次）');
    fresh.resolve({ body: contactDetail() });
    await settled();
    expect(wrapper.find('[data-testid="contact-card"] h2').text()).not.toContain('上次');
  });

  it('drops the cached contact when the worker now refuses it', async () => {
    const { wrapper } = await startApp({
      prepare: () => writeCachedContact('wangwu', ids.chenJing, contactDetail()),
      routes: { [CONTACT]: { status: 403, body: { error: 'not_your_contact', message: 'no longer yours' } } },
    });
    expect(wrapper.find('[data-testid="contact-card"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="problem-not_your_contact"]').exists()).toBe(true);
    expect(sessionStorage.length).toBe(0);
  });

  it('shows the initial when the avatar will not load', async () => {
    const { wrapper } = await startApp({ routes: { [CONTACT]: { body: contactDetail() } } });
    await wrapper.find('[data-testid="contact-card"] img').trigger('error');
    expect(wrapper.find('[data-testid="contact-card"] img').exists()).toBe(false);
    expect(wrapper.find('[data-testid="contact-card"] .placeholder').text()).toBe('陈');
  });

  it('opens the WeCom profile through the client', async () => {
    const { wrapper, ww } = await startApp({ routes: { [CONTACT]: { body: contactDetail() } } });
    await wrapper.find('[data-testid="contact-card"] button').trigger('click');
    await settled();
    expect(ww.client?.invokes.find((call) => call.name === 'openUserProfile')?.params).toMatchObject({ type: 2, userid: ids.chenJing });
  });
});

describe('an unbound contact', () => {
  const suggested = customer({ id: 'cus_s1', name: '陈静', company: '星河贸易', version: 1 });
  const byName = customer({ id: 'cus_s2', name: '陈晶', company: '', owner: null, mobiles: [], version: 1 });

  it('lists suggestions with why each matches, and binds one in a single tap', async () => {
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: (_call, nth) => ({ body: nth === 1 ? contactDetail({ suggestions: [{ customer: suggested, reasons: ['unionid', 'mobile'] }, { customer: byName, reasons: ['name'] }] }) : boundDetail(suggested) }),
        [`PUT /api/contacts/${ids.chenJing}/binding`]: { body: { binding: { customerId: 'cus_s1', boundBy: 'wangwu', boundAt: 1, unionid: null }, customer: suggested } },
        [`GET /api/customers/cus_s1/notes`]: { body: { notes: [] } },
        [`GET /api/customers/cus_s1/timeline`]: { body: { items: [] } },
      },
    });
    const rows = wrapper.findAll('[data-testid="suggestions"] [data-testid="customer-row"]');
    expect(rows).toHaveLength(2);
    expect(rows[0]?.text()).toContain('同一微信用户（unionid）');
    expect(rows[0]?.text()).toContain('手机号相同');
    expect(rows[1]?.text()).toContain('名称相似');

    await rows[0]?.find('button').trigger('click');
    await settled();
    expect(api.find(`PUT /api/contacts/${ids.chenJing}/binding`).map((call) => call.body)).toEqual([{ customerId: 'cus_s1' }]);
    expect(wrapper.find('[data-testid="bind-panel"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="customer-record"]').text()).toContain('星河贸易');
  });

  it('searches the CRM and binds a hit', async () => {
    const hit = customer({ id: 'cus_hit', name: '星河贸易采购部', version: 2 });
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: (_call, nth) => ({ body: nth === 1 ? contactDetail() : boundDetail(hit) }),
        [`GET /api/customers?q=${encodeURIComponent('星河')}`]: { body: { customers: [hit] } },
        [`GET /api/customers?q=nobody`]: { body: { customers: [] } },
        [`PUT /api/contacts/${ids.chenJing}/binding`]: { body: { binding: { customerId: 'cus_hit', boundBy: 'wangwu', boundAt: 1, unionid: null }, customer: hit } },
        'GET /api/customers/cus_hit/notes': { body: { notes: [] } },
        'GET /api/customers/cus_hit/timeline': { body: { items: [] } },
      },
    });
    expect(wrapper.find('[data-testid="suggestions"]').text()).toContain('没有找到匹配的客户');
    const search = wrapper.find('[data-testid="customer-search"]');
    await search.find('input').setValue('nobody');
    await search.find('form').trigger('submit');
    await settled();
    expect(search.find('[data-testid="no-results"]').exists()).toBe(true);

    await search.find('input').setValue('星河');
    await search.find('form').trigger('submit');
    await settled();
    const rows = search.findAll('[data-testid="customer-row"]');
    expect(rows).toHaveLength(1);
    await rows[0]?.find('button').trigger('click');
    await settled();
    expect(api.find(`PUT /api/contacts/${ids.chenJing}/binding`)[0]?.body).toEqual({ customerId: 'cus_hit' });
    expect(wrapper.find('[data-testid="customer-record"] h3').text()).toBe('星河贸易采购部');
  });

  it('creates a basic customer prefilled from the WeCom profile', async () => {
    const zhouMin = contactDetail({ contact: { externalUserId: ids.zhouMin, name: '周敏', avatar: '', type: 2, gender: 2, corpName: '星河贸易', position: '采购经理', unionid: null } });
    zhouMin.followUsers = [{ ...zhouMin.followUsers[0]!, remark: '周敏（星河采购）' }];
    // As the worker answers: nothing to edit before a customer exists.
    zhouMin.permissions = { canBind: true, canEdit: false };
    const created = customer({ id: 'cus_new', name: '周敏（星河采购）', company: '星河贸易', stage: 'lead', version: 1 });
    const { wrapper, api } = await startApp({
      ww: { contact: ids.zhouMin },
      routes: {
        [`GET /api/contacts/${ids.zhouMin}`]: (_call, nth) => ({ body: nth === 1 ? zhouMin : { ...zhouMin, binding: { customerId: 'cus_new', boundBy: 'wangwu', boundAt: 1, unionid: null }, customer: created, permissions: { canBind: true, canEdit: true } } }),
        [`POST /api/contacts/${ids.zhouMin}/customer`]: { status: 201, body: { binding: { customerId: 'cus_new', boundBy: 'wangwu', boundAt: 1, unionid: null }, customer: created } },
        'GET /api/customers/cus_new/notes': { body: { notes: [] } },
        'GET /api/customers/cus_new/timeline': { body: { items: [] } },
      },
    });
    await wrapper.find('[data-testid="start-create"]').trigger('click');
    const form = wrapper.find('[data-testid="create-form"]');
    expect((form.find('input[name="name"]').element as HTMLInputElement).value).toBe('周敏（星河采购）');
    expect((form.find('input[name="company"]').element as HTMLInputElement).value).toBe('星河贸易');
    await form.trigger('submit');
    await settled();
    expect(api.find(`POST /api/contacts/${ids.zhouMin}/customer`).map((call) => call.body)).toEqual([{ name: '周敏（星河采购）', company: '星河贸易', stage: 'lead' }]);
    expect(wrapper.find('[data-testid="customer-record"]').exists()).toBe(true);
    // The worker decides what may be done with the new customer: the contact is read again.
    expect(api.count(`GET /api/contacts/${ids.zhouMin}`)).toBe(2);
    expect(field(wrapper, 'company').find('button').exists()).toBe(true);
  });

  it('shows why a bind failed, in place', async () => {
    const { wrapper } = await startApp({
      routes: {
        [CONTACT]: { body: contactDetail({ suggestions: [{ customer: suggested, reasons: ['unionid'] }] }) },
        [`PUT /api/contacts/${ids.chenJing}/binding`]: { status: 502, body: { error: 'crm_unreachable', message: 'CRM down' } },
      },
    });
    await wrapper.find('[data-testid="suggestions"] button').trigger('click');
    await settled();
    const error = wrapper.find('[data-testid="bind-panel"] [data-testid="action-error"]');
    expect(error.attributes('data-code')).toBe('crm_unreachable');
    expect(error.text()).toContain('暂时无法连接 CRM');
  });

  it("names whom to ask when a colleague's customer cannot be linked", async () => {
    const { wrapper } = await startApp({
      routes: {
        [CONTACT]: { body: contactDetail({ suggestions: [{ customer: suggested, reasons: ['mobile'] }] }) },
        [`PUT /api/contacts/${ids.chenJing}/binding`]: {
          status: 403,
          body: {
            error: 'customer_not_yours',
            message: 'owned by 赵六',
            owner: { userid: 'zhaoliu', name: '赵六' },
            canLink: [
              { userid: 'zhaoliu', name: '赵六', role: 'owner' },
              { userid: 'lisi', name: '李四', role: 'manager' },
            ],
          },
        },
      },
    });
    await wrapper.find('[data-testid="suggestions"] button').trigger('click');
    await settled();
    const error = wrapper.find('[data-testid="bind-panel"] [data-testid="action-error"]');
    expect(error.attributes('data-code')).toBe('customer_not_yours');
    expect(error.text()).toContain('客户由同事负责');
    expect(error.find('[data-testid="linkers"]').text()).toBe('请联系：赵六（负责人）、李四（主管）');
    expect(wrapper.find('[data-testid="contact-card"]').exists()).toBe(true);
  });

  it('offers no binding to a member who may only read', async () => {
    const { wrapper } = await startApp({ routes: { [CONTACT]: { body: contactDetail({ suggestions: [{ customer: suggested, reasons: ['name'] }], permissions: { canBind: false, canEdit: false } }) } } });
    expect(wrapper.find('[data-testid="bind-panel"]').text()).toContain('只能查看');
    expect(wrapper.find('[data-testid="bind-panel"] button.primary').exists()).toBe(false);
    expect(wrapper.find('[data-testid="start-create"]').exists()).toBe(false);
  });
});

describe('a bound contact', () => {
  it('shows the customer record, notes, and the timeline newest first', async () => {
    const { wrapper } = await startApp({ routes: { [CONTACT]: { body: boundDetail() }, ...customerRoutes() } });
    const record = wrapper.find('[data-testid="customer-record"]');
    expect(record.find('[data-testid="customer-owner"]').text()).toBe('王五');
    expect(field(wrapper, 'stage').text()).toContain('已确认');
    expect(field(wrapper, 'company').text()).toContain('星河贸易');
    expect(field(wrapper, 'mobiles').text()).toContain('13912340001');
    expect(field(wrapper, 'custom:预算').text()).toContain('50万');
    expect(wrapper.findAll('[data-testid="note"]').map((note) => note.text())).toEqual([expect.stringContaining('确认了交付周期'), expect.stringContaining('首次拜访')]);
    expect(wrapper.findAll('[data-testid="timeline-item"]').map((item) => item.attributes('data-kind'))).toEqual(['note', 'bound', 'contact_added']);
  });

  it('saves an inline edit with If-Match and shows the new version', async () => {
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: { body: boundDetail() },
        ...customerRoutes(),
        [`PATCH /api/customers/${CUSTOMER}`]: { body: { customer: customer({ company: '星河集团', version: 4 }) } },
      },
    });
    await edit(wrapper, 'company', '星河集团');
    const [patch] = api.find(`PATCH /api/customers/${CUSTOMER}`);
    expect(patch?.headers['if-match']).toBe('"3"');
    expect(patch?.body).toEqual({ company: '星河集团' });
    expect(field(wrapper, 'company').text()).toContain('星河集团');
    expect(field(wrapper, 'company').find('form').exists()).toBe(false);
    expect(wrapper.find('[data-testid="customer-record"]').text()).toContain('版本 4');
    expect(api.count(`GET /api/customers/${CUSTOMER}/timeline`)).toBe(2);
  });

  it('edits the stage from a list and phones one per line', async () => {
    const { wrapper, api } = await startApp({
      routes: { [CONTACT]: { body: boundDetail() }, ...customerRoutes(), [`PATCH /api/customers/${CUSTOMER}`]: (call) => ({ body: { customer: customer({ ...(call.body as object), version: 4 }) } }) },
    });
    await edit(wrapper, 'stage', 'proposal');
    await edit(wrapper, 'mobiles', '13912340001\n021-61234567, ');
    expect(api.find(`PATCH /api/customers/${CUSTOMER}`).map((call) => call.body)).toEqual([{ stage: 'proposal' }, { mobiles: ['13912340001', '021-61234567'] }]);
  });

  it('on 412 shows the conflict with the current record, and never overwrites until told to', async () => {
    const current = customer({ company: '星河集团（他人修改）', version: 4, customFields: { 预算: '80万', 行业: '贸易' } });
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: { body: boundDetail() },
        ...customerRoutes(),
        [`PATCH /api/customers/${CUSTOMER}`]: (call, nth) =>
          nth === 1 ? { status: 412, body: { error: 'version_conflict', message: 'stale', current } } : { body: { customer: customer({ ...current, company: (call.body as { company: string }).company, version: 5 }) } },
      },
    });
    await edit(wrapper, 'company', '星河贸易（我的修改）');
    const conflict = wrapper.find('[data-testid="conflict"]');
    expect(conflict.exists()).toBe(true);
    expect(conflict.find('[data-testid="conflict-mine"]').text()).toBe('星河贸易（我的修改）');
    expect(conflict.find('[data-testid="conflict-theirs"]').text()).toBe('星河集团（他人修改）');
    expect(conflict.text()).toContain('80万');
    expect(api.count(`PATCH /api/customers/${CUSTOMER}`)).toBe(1);

    await conflict.find('[data-testid="conflict-reapply"]').trigger('click');
    await settled();
    const retry = api.find(`PATCH /api/customers/${CUSTOMER}`)[1];
    expect(retry?.headers['if-match']).toBe('"4"');
    expect(retry?.body).toEqual({ company: '星河贸易（我的修改）' });
    expect(wrapper.find('[data-testid="conflict"]').exists()).toBe(false);
    expect(field(wrapper, 'company').text()).toContain('星河贸易（我的修改）');
  });

  it('re-applies a custom-field edit on top of the other person’s custom fields', async () => {
    const current = customer({ version: 4, customFields: { 预算: '50万', 行业: '贸易', 来源: '展会' } });
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: { body: boundDetail() },
        ...customerRoutes(),
        [`PATCH /api/customers/${CUSTOMER}`]: (_call, nth) => (nth === 1 ? { status: 412, body: { error: 'version_conflict', message: 'stale', current } } : { body: { customer: customer({ version: 5 }) } }),
      },
    });
    await edit(wrapper, 'custom:预算', '60万');
    expect(api.find(`PATCH /api/customers/${CUSTOMER}`)[0]?.body).toEqual({ customFields: { 预算: '60万', 行业: '贸易' } });
    await wrapper.find('[data-testid="conflict-reapply"]').trigger('click');
    await settled();
    expect(api.find(`PATCH /api/customers/${CUSTOMER}`)[1]?.body).toEqual({ customFields: { 预算: '60万', 行业: '贸易', 来源: '展会' } });
  });

  it('discards my change on request and shows the stored record', async () => {
    const current = customer({ company: '星河集团', version: 4 });
    const { wrapper, api } = await startApp({
      routes: { [CONTACT]: { body: boundDetail() }, ...customerRoutes(), [`PATCH /api/customers/${CUSTOMER}`]: { status: 412, body: { error: 'version_conflict', message: 'stale', current } } },
    });
    await edit(wrapper, 'company', '我的公司名');
    await wrapper.find('[data-testid="conflict-discard"]').trigger('click');
    await settled();
    expect(wrapper.find('[data-testid="conflict"]').exists()).toBe(false);
    expect(field(wrapper, 'company').text()).toContain('星河集团');
    expect(api.count(`PATCH /api/customers/${CUSTOMER}`)).toBe(1);
  });

  it('adds a follow-up note on top of the list', async () => {
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: { body: boundDetail() },
        ...customerRoutes(),
        [`POST /api/customers/${CUSTOMER}/notes`]: (call) => ({ status: 201, body: { note: { id: 'n3', body: (call.body as { body: string }).body, author: { userid: 'wangwu', name: '王五' }, createdAt: 1708000000000 } } }),
      },
    });
    const form = wrapper.find('[data-testid="notes"] form');
    await form.find('textarea').setValue('  报价已发送  ');
    await form.trigger('submit');
    await settled();
    expect(api.find(`POST /api/customers/${CUSTOMER}/notes`).map((call) => call.body)).toEqual([{ body: '报价已发送' }]);
    expect(wrapper.findAll('[data-testid="note"]')[0]?.text()).toContain('报价已发送');
    expect((form.find('textarea').element as HTMLTextAreaElement).value).toBe('');
  });

  it('unbinds only after confirmation, then offers binding again', async () => {
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: (_call, nth) => ({ body: nth === 1 ? boundDetail() : contactDetail() }),
        ...customerRoutes(),
        [`DELETE /api/contacts/${ids.chenJing}/binding`]: { body: { ok: true } },
      },
    });
    await wrapper.find('[data-testid="customer-panel"] button.danger').trigger('click');
    expect(api.count(`DELETE /api/contacts/${ids.chenJing}/binding`)).toBe(0);
    const question = wrapper.find('[data-testid="confirm-question"]');
    expect(question.text()).toContain('陈静');
    await question.find('[data-testid="confirm-yes"]').trigger('click');
    await settled();
    expect(api.count(`DELETE /api/contacts/${ids.chenJing}/binding`)).toBe(1);
    expect(api.count(CONTACT)).toBe(2);
    expect(wrapper.find('[data-testid="bind-panel"]').exists()).toBe(true);
  });

  it('shows a read-only record to a member who may not edit', async () => {
    const detail = boundDetail();
    detail.permissions = { canBind: false, canEdit: false };
    const { wrapper } = await startApp({ routes: { [CONTACT]: { body: detail }, ...customerRoutes() } });
    expect(wrapper.find('[data-testid="customer-record"]').findAll('button')).toHaveLength(0);
    expect(wrapper.find('[data-testid="notes"] form').exists()).toBe(false);
    expect(wrapper.find('[data-testid="customer-panel"] button.danger').exists()).toBe(false);
  });

  it('shows notes and timeline failures in place with a retry', async () => {
    const { wrapper, api } = await startApp({
      routes: {
        [CONTACT]: { body: boundDetail() },
        [`GET /api/customers/${CUSTOMER}/notes`]: (_call, nth) => (nth === 1 ? { status: 504, body: { error: 'crm_timeout', message: 'slow' } } : { body: { notes: notes() } }),
        [`GET /api/customers/${CUSTOMER}/timeline`]: { body: { items: timeline() } },
      },
    });
    const panel = wrapper.find('[data-testid="notes"]');
    expect(panel.find('[data-testid="action-error"]').attributes('data-code')).toBe('crm_timeout');
    await panel.find('div > button').trigger('click');
    await settled();
    expect(api.count(`GET /api/customers/${CUSTOMER}/notes`)).toBe(2);
    expect(wrapper.findAll('[data-testid="note"]')).toHaveLength(2);
  });
});
