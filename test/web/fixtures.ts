/**
 * @module
 * Worker answers for component tests, shaped as docs/api.md says, named after the demo corp
 * (dev/fixtures/demo-corp.ts) so a failing test reads like the product.
 */
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import type { AdminEvent, AdminUser, ChatDetail, ContactDetail, Customer, DiagnosticCheck, DiagnosticCheckId, DiagnosticsReport, Me, Note, OrgSyncRun, ReconcileRun, Signatures, TimelineItem } from '../../web/api/types.ts';

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
    full: true,
    ...overrides,
  };
}

export function contactDetail(overrides: Partial<ContactDetail> = {}): ContactDetail {
  return {
    contact: { externalUserId: ids.chenJing, name: '陈静', avatar: 'https://wx.qlogo.cn/mmhead/demo-chenjing/0', type: 1, gender: 2, corpName: '', position: '', unionid: 'oDemoUnionChenJing0000000000001' },
    followUsers: [
      {
        userid: 'wangwu',
        name: '王五',
        remark: '陈静-星河贸易',
        description: '华东大客户，关注交付周期',
        createdAt: 1704160800,
        tags: [
          { group: '客户等级', name: 'A类客户', type: 1 },
          { group: '客户来源', name: '展会', type: 1 },
        ],
        remarkMobiles: ['13912340001'],
        remarkCorpName: '',
        addWay: 1,
        state: '',
        relationship: 'active',
      },
      { userid: 'lisi', name: '李四', remark: '陈总', description: '', createdAt: 1706745600, tags: [], remarkMobiles: [], remarkCorpName: '', addWay: 201, state: '', relationship: 'ended' },
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
    binding: { externalUserId: ids.chenJing, customerId: bound.id, boundBy: 'wangwu', boundAt: 1706745600000, unionid: bound.unionid },
    customer: bound,
  });
}

export function chatDetail(): ChatDetail {
  return {
    chat: { chatId: ids.chat, name: '星河贸易项目群', owner: { userid: 'wangwu', name: '王五' } },
    members: [
      { type: 'internal', id: 'wangwu', name: '王五', joinedAt: 1704160800, binding: null, customerName: null },
      { type: 'external', id: ids.chenJing, name: '陈静', joinedAt: 1704160800, binding: { customerId: 'cus_xinghe' }, customerName: '星河贸易·陈静' },
      { type: 'external', id: ids.zhouMin, name: '周敏', joinedAt: 1704160800, binding: null, customerName: null },
      { type: 'external', id: ids.guest, name: '小林', joinedAt: 1704160800, binding: null, customerName: null },
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
    { id: 't1', kind: 'contact_added', at: 1704160800000, actor: { userid: 'wangwu', name: '王五' }, detail: { state: 'expo-2024' }, externalUserId: ids.chenJing },
    { id: 't2', kind: 'bound', at: 1706745600000, actor: { userid: 'wangwu', name: '王五' }, detail: { name: '陈静', reason: 'bound_by_mobile' }, externalUserId: ids.chenJing },
    { id: 't3', kind: 'note', at: 1707000000000, actor: { userid: 'wangwu', name: 'wangwu' }, detail: { text: '确认了交付周期' }, externalUserId: null },
  ];
}

export function adminUser(overrides: Partial<AdminUser> = {}): AdminUser {
  return { id: 3, corpId: demoIds.corpId, wecomUserId: 'wangwu', name: '王五', mobile: null, status: 'active', roles: ['sales'], departments: [{ id: 3, name: '华东销售部', isLeader: false }], lastLoginAt: 1707000000000, sessionGeneration: 0, ...overrides };
}

export function syncRun(overrides: Partial<OrgSyncRun> = {}): OrgSyncRun {
  return {
    id: 7,
    kind: 'org_sync',
    trigger: 'manual',
    startedBy: 'zhangsan',
    status: 'running',
    phase: 'members',
    done: 2,
    total: 6,
    created: 0,
    updated: 2,
    deactivated: 0,
    steps: 3,
    wecomCalls: 3,
    maxStepWecomCalls: 1,
    maxStepD1Queries: 40,
    crmCalls: 0,
    maxStepSubrequests: 1,
    instances: 1,
    failed: 0,
    failures: [],
    error: null,
    startedAt: 1707000000000,
    finishedAt: null,
    ...overrides,
  };
}

export function reconcileRun(overrides: Partial<ReconcileRun> = {}): ReconcileRun {
  return {
    id: 12,
    kind: 'reconcile',
    trigger: 'manual',
    startedBy: 'zhangsan',
    status: 'running',
    phase: 'pages',
    done: 3,
    total: 10,
    followsAdded: 2,
    followsEnded: 1,
    bindingsAdded: 1,
    customersCreated: 0,
    steps: 4,
    wecomCalls: 4,
    maxStepWecomCalls: 1,
    maxStepD1Queries: 40,
    crmCalls: 0,
    maxStepSubrequests: 1,
    instances: 1,
    failed: 0,
    failures: [],
    error: null,
    startedAt: 1707000000000,
    finishedAt: null,
    ...overrides,
  };
}

export function adminEvent(overrides: Partial<AdminEvent> = {}): AdminEvent {
  return { id: 1, kind: 'change_external_contact', changeType: 'add_external_contact', status: 'applied', duplicates: 0, attempts: 1, lastError: null, receivedAt: 1707000000000, appliedAt: 1707000001000, event: {}, ...overrides };
}

/** The page origin in these tests and the worker's own: the sidebar is served by the worker. */
export const WORKER_ORIGIN = 'http://127.0.0.1:8787';
export const CALLBACK_URL = `${WORKER_ORIGIN}/wecom/callback/${demoIds.corpId}/${demoIds.agentId}`;

/** Each check as the worker words it when it passes (worker/diagnostics/run.ts and the check modules beside it). */
const PASSING: Record<DiagnosticCheckId, DiagnosticCheck> = {
  config: {
    id: 'config',
    status: 'pass',
    message: 'The configuration is complete and well formed (1 app; corp id, AES key and session secret checked).',
    messageZh: '配置完整且格式正确（1 个应用；已检查企业ID、EncodingAESKey 和会话密钥）。',
    fix: null,
    details: { apps: 1, apiBase: 'https://qyapi.weixin.qq.com', proxyToken: false, trustedOrigins: [], domainVerifyFiles: [] },
  },
  access_token: {
    id: 'access_token',
    status: 'pass',
    message: 'gettoken works: WeCom accepted the corp id and the app Secret (token valid for 7200 s).',
    messageZh: 'gettoken 正常：企业微信接受了企业ID和应用 Secret，令牌有效期 7200 秒。',
    fix: null,
    details: { expiresIn: 7200, viaProxy: false },
  },
  jssdk_tickets: {
    id: 'jssdk_tickets',
    status: 'pass',
    message: 'Both JS-SDK tickets are available: the corp ticket (wx.config) and the app ticket (wx.agentConfig).',
    messageZh: '两种 JS-SDK 票据均可获取：企业 jsapi_ticket（wx.config）和应用 jsapi_ticket（wx.agentConfig）。',
    fix: null,
  },
  customer_contact: {
    id: 'customer_contact',
    status: 'pass',
    message: 'The customer-contact API is open to this app (4 members with 客户联系 in its visible range).',
    messageZh: '本应用可调用客户联系接口（可见范围内有 4 名成员开通了客户联系）。',
    fix: null,
    details: { followUsers: 4 },
  },
  visible_range: {
    id: 'visible_range',
    status: 'pass',
    message: "The app's visible range holds members: 5 departments, 4 with 客户联系.",
    messageZh: '应用可见范围包含成员：5 个部门，其中 4 人开通客户联系。',
    fix: null,
    details: { departments: 5, followUsers: 4 },
  },
  callback: {
    id: 'callback',
    status: 'pass',
    message: 'WeCom verified the callback URL at 2024-02-03T22:40:00.000Z; the last event arrived at 2024-02-04T06:13:20.000Z.',
    messageZh: '企业微信已于 2024-02-03T22:40:00.000Z 校验回调 URL；最近一次事件于 2024-02-04T06:13:20.000Z 收到。',
    fix: null,
    details: { verifiedAt: 1707000000000, lastEventAt: 1707027200000, callbackUrl: CALLBACK_URL },
  },
  origin: {
    id: 'origin',
    status: 'pass',
    message: `Pages on ${WORKER_ORIGIN} are signed for the JS-SDK (the worker's own origin); the app's 可信域名 in WeCom must be 127.0.0.1:8787.`,
    messageZh: `${WORKER_ORIGIN} 上的页面可获得 JS-SDK 签名（本服务自身的源）；企业微信中本应用的可信域名须为 127.0.0.1:8787。`,
    fix: null,
    details: { origin: WORKER_ORIGIN, ownOrigin: WORKER_ORIGIN, trustedOrigins: ['https://crm.example.com'], trustedDomain: '127.0.0.1:8787' },
  },
};

/** A report with every check passing, except those given, in the worker's order. */
export function diagnosticsReport(replace: Partial<Record<DiagnosticCheckId, Partial<DiagnosticCheck>>> = {}): DiagnosticsReport {
  const checks = (Object.keys(PASSING) as DiagnosticCheckId[]).map((id) => ({ ...PASSING[id], ...replace[id] }));
  const summary = { pass: 0, warn: 0, fail: 0 };
  for (const check of checks) summary[check.status] += 1;
  return { app: { corpId: demoIds.corpId, agentId: String(demoIds.agentId) }, origin: WORKER_ORIGIN, checkedAt: 1707030000000, ok: summary.fail === 0, summary, checks };
}

/** 48002: the app is not among 客户联系 → 可调用接口的应用. */
export const contactApiRefused: Partial<DiagnosticCheck> = {
  status: 'fail',
  errcode: 48002,
  message: 'WeCom refused the customer-contact API (48002): this app is not among the apps allowed to call it.',
  messageZh: '企业微信拒绝了客户联系接口（48002）：本应用不在「可调用接口的应用」中。',
  fix: {
    en: "Add this app under 管理后台 → 客户与上下游 → 客户联系 → 可调用接口的应用, and make sure WECOM_SECRET is this app's own Secret.",
    zh: '在 管理后台 → 客户与上下游 → 客户联系 → 可调用接口的应用 中添加本应用，并确认 WECOM_SECRET 是本应用自己的 Secret。',
  },
  details: {},
};

/** 60020: gettoken from an address outside the app's 企业可信IP. */
export const untrustedIp: Partial<DiagnosticCheck> = {
  status: 'fail',
  errcode: 60020,
  message: "WeCom refuses calls from 203.0.113.7: it is not one of the app's trusted IPs (60020).",
  messageZh: '企业微信拒绝来自 203.0.113.7 的调用：该地址不在应用的企业可信IP中（60020）。',
  fix: {
    en: 'Add 203.0.113.7 under 应用管理 → this app → 企业可信IP (editable once a trusted domain or a callback URL is set; takes about a minute).',
    zh: '在 管理后台 → 应用管理 → 本应用 → 企业可信IP 中添加 203.0.113.7（需先设置可信域名或接收消息 URL 才能编辑，约 1 分钟后生效）。',
  },
  details: { egressIp: '203.0.113.7', viaProxy: true },
};

/** A check the worker did not run because gettoken failed. */
export const blockedByToken: Partial<DiagnosticCheck> = {
  status: 'warn',
  message: 'Not checked: it needs a working access token (see the gettoken check).',
  messageZh: '未检查：需要先能获取 access_token（见 gettoken 检查）。',
  fix: null,
  details: undefined,
  blockedBy: 'access_token',
};
