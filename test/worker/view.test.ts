import { describe, expect, it } from 'vitest';
import { customerView, maskMobile, mergeTimeline, timelineMembers } from '../../worker/contacts/view.ts';
import type { Touchpoint } from '../../worker/contacts/store.ts';
import type { CrmHistoryItem, Customer } from '../../worker/crm/port.ts';

const customer: Customer = {
  id: 'cus_1',
  name: '刘洋',
  company: 'Acme',
  stage: 'qualified',
  ownerUserid: 'wangwu',
  mobiles: ['+86 138 0013 8000', '010-65529988'],
  unionid: 'u-1',
  tags: ['vip'],
  customFields: { source: 'fair' },
  version: 3,
  createdAt: 1,
  updatedAt: 2,
};

describe('maskMobile', () => {
  it.each([
    ['+86 138 0013 8000', '138****8000'],
    ['010-65529988', '010****9988'],
    ['+1 415 555 0100', '001****0100'],
    ['123456', '****'],
    ['n/a', '****'],
  ])('shows %s as %s', (mobile, masked) => {
    expect(maskMobile(mobile)).toBe(masked);
  });
});

describe('customerView', () => {
  const names = new Map([['wangwu', '王五']]);

  it('shows everything to a reader in scope', () => {
    const { ownerUserid, ...fields } = customer;
    expect(customerView(customer, names, true)).toEqual({ ...fields, owner: { userid: ownerUserid, name: '王五' }, full: true });
  });

  it('shows a reader outside the scope a summary: masked phones, no unionid, tags or fields', () => {
    expect(customerView(customer, new Map(), false)).toMatchObject({
      owner: { userid: 'wangwu', name: 'wangwu' },
      mobiles: ['138****8000', '010****9988'],
      unionid: null,
      tags: [],
      customFields: {},
      full: false,
    });
  });
});

describe('mergeTimeline', () => {
  it('puts touchpoints and CRM history in one list, newest first, with member names', () => {
    const touchpoints: Touchpoint[] = [
      { id: 1, externalUserId: 'wm1', customerId: 'cus_1', kind: 'bound', at: 10, actorUserid: 'wangwu', detail: { name: '刘洋' } },
      { id: 2, externalUserId: 'wm1', customerId: 'cus_1', kind: 'contact_added', at: 30, actorUserid: null, detail: { members: ['wangwu', 'zhaoliu'] } },
    ];
    const history: CrmHistoryItem[] = [{ id: 'h1', customerId: 'cus_1', kind: 'note', at: 20, actorUserid: 'lisi', detail: { text: 'called' } }];
    expect(mergeTimeline(touchpoints, history, new Map([['wangwu', '王五']]))).toEqual([
      { id: 'tp_2', kind: 'contact_added', at: 30, actor: null, detail: { members: [{ userid: 'wangwu', name: '王五' }, { userid: 'zhaoliu', name: 'zhaoliu' }] }, externalUserId: 'wm1' },
      { id: 'crm_h1', kind: 'note', at: 20, actor: { userid: 'lisi', name: 'lisi' }, detail: { text: 'called' }, externalUserId: null },
      { id: 'tp_1', kind: 'bound', at: 10, actor: { userid: 'wangwu', name: '王五' }, detail: { name: '刘洋' }, externalUserId: 'wm1' },
    ]);
    expect(timelineMembers([...touchpoints, ...history])).toEqual(['wangwu', '', 'wangwu', 'zhaoliu', 'lisi']);
  });
});
