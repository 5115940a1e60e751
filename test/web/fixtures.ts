/**
 * @module
 * Worker answers for component tests, shaped as docs/api.md says, named after the demo corp
 * (test/fixtures/demo-corp.ts) so a failing test reads like the product.
 */
import { demoIds } from '../fixtures/demo-corp.ts';
import type { AdminEvent, AdminUser, ChatDetail, ContactDetail, Customer, Me, Note, OrgSyncRun, Signatures, TimelineItem } from '../../web/api/types.ts';

export const ids = {
  chenJing: demoIds.externalUserIds.followedByTwo,
  liuYang: demoIds.externalUserIds.withoutUnionid,
  zhouMin: demoIds.externalUserIds.weComUser,
  guest: demoIds.externalUserIds.groupGuest,
  chat: demoIds.chatId,
};

export function me(userid = 'wangwu', roles: Me['user']['roles'] = ['sales']): Me {
  return {
    user: { id: 3, userid, name: userid === 'wangwu' ? '王五' : userid, roles, departments: [{ id: 3, name: '华东销售部', isLeader: false }] },
    corp: { corpId: demoIds.corpId, agentId: String(demoIds.agentId) },
  };
}

export const adminMe = (): Me => me('zhangsan', ['admin']);

export function signatures(tag = 'first'): Signatures {
  return {
    corpId: demoIds.corpId,
    agentId: String(demoIds.agentId),
    config: { timestamp: 1736154000, nonceStr: `corp-${tag}`, signature: `corp-signature-${tag}` },
    agentConfig: { timestamp: 1736154000, nonceStr: `agent-${tag}`, signature: `agent-signature-${tag}` },
  };
}

export function customer(overrides: Partial<Customer> = {}): Customer {
  return {
    id: 'cus_xinghe',
    name: '陈静',
    company: '星河贸易',
    stage: 'qualified',
    owner: { userid: 'wangwu', name: '王五' },
    mobiles: ['13912340001'],
    unionid: 'oDemoUnionChenJing0000000000001',
    tags: ['A类客户'],
    customFields: { 预算: '50万', 行业: '贸易' },
    version: 3,
    createdAt: 1704160800000,
    updatedAt: 1706745600000,
    ...overrides,
  };
}

export function contactDetail(overrides: Partial<ContactDetail> = {}): ContactDetail {
  return {
    contact: { externalUserId: ids.chenJing, name: '陈静', avatar: 'https://wx.qlogo.cn/mmhead/demo-chenjing/0', type: 1, gender: 2, corpName: null, position: null, unionid: 'oDemoUnionChenJing0000000000001' },
    followUsers: [
      {
        userid: 'wangwu',
        name: '王五',
        remark: '陈静-星河贸易',
        description: '华东大客户，关注交付周期',
        createdAt: 1704160800,
        tags: [
          { group: '客户等级', name: 'A类客户' },
          { group: '客户来源', name: '展会' },
        ],
        remarkMobiles: ['13912340001'],
        addWay: 1,
        relationship: 'active',
      },
      { userid: 'lisi', name: '李四', remark: '陈总', description: '', createdAt: 1706745600, tags: [], remarkMobiles: [], addWay: 201, relationship: 'ended' },
    ],
    binding: null,
    customer: null,
    suggestions: [],
    permissions: { canBind: true, canEdit: true },
    ...overrides,
  };
}

export function boundDetail(bound: Customer = customer()): ContactDetail {
  return contactDetail({
    binding: { customerId: bound.id, boundBy: 'wangwu', boundAt: 1706745600000, unionid: bound.unionid },
    customer: bound,
  });
}

export function chatDetail(): ChatDetail {
  return {
    chat: { chatId: ids.chat, name: '星河贸易项目群', owner: { userid: 'wangwu', name: '王五' } },
    members: [
      { type: 'internal', id: 'wangwu', name: '王五', binding: null, customerName: null },
      { type: 'external', id: ids.chenJing, name: '陈静', binding: { customerId: 'cus_xinghe' }, customerName: '星河贸易·陈静' },
      { type: 'external', id: ids.zhouMin, name: '周敏', binding: null, customerName: null },
      { type: 'external', id: ids.guest, name: '小林', binding: null, customerName: null },
    ],
  };
}

export function notes(): Note[] {
  return [
    { id: 'n2', body: '确认了交付周期', author: { userid: 'wangwu', name: '王五' }, createdAt: 1707000000000 },
    { id: 'n1', body: '首次拜访', author: { userid: 'lisi', name: '李四' }, createdAt: 1706000000000 },
  ];
}

export function timeline(): TimelineItem[] {
  // Deliberately oldest first: the screen must show newest first whatever the order.
  return [
    { id: 't1', kind: 'contact_added', at: 1704160800000, actor: { userid: 'wangwu', name: '王五' }, summary: '添加了陈静', externalUserId: ids.chenJing },
    { id: 't2', kind: 'bound', at: 1706745600000, actor: { userid: 'wangwu', name: '王五' }, summary: '关联到 陈静', externalUserId: ids.chenJing },
    { id: 't3', kind: 'note', at: 1707000000000, actor: 'wangwu', summary: '确认了交付周期', externalUserId: null },
  ];
}

export function adminUser(overrides: Partial<AdminUser> = {}): AdminUser {
  return { id: 3, wecomUserId: 'wangwu', name: '王五', mobile: null, status: 'active', roles: ['sales'], departments: [{ id: 3, name: '华东销售部', isLeader: false }], lastLoginAt: 1707000000000, ...overrides };
}

export function syncRun(overrides: Partial<OrgSyncRun> = {}): OrgSyncRun {
  return {
    id: 7,
    trigger: 'manual',
    startedBy: 'zhangsan',
    status: 'running',
    phase: 'members',
    done: 2,
    total: 6,
    created: 0,
    updated: 2,
    deactivated: 0,
    failed: 0,
    failures: [],
    error: null,
    startedAt: 1707000000000,
    finishedAt: null,
    ...overrides,
  };
}

export function adminEvent(overrides: Partial<AdminEvent> = {}): AdminEvent {
  return { id: 1, kind: 'change_external_contact', changeType: 'add_external_contact', status: 'applied', duplicates: 0, attempts: 1, lastError: null, receivedAt: 1707000000000, appliedAt: 1707000001000, ...overrides };
}
