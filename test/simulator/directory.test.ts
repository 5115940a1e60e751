/**
 * @module
 * Directory, customer-contact and message APIs of the simulator: visible range, field
 * restrictions, paging, remark validation (docs/wecom.md §7, §8).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoApp, demoCorp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { startSimulator, type RunningSimulator } from '../../dev/simulator/server.ts';

interface WeComBody {
  errcode: number;
  errmsg: string;
  [field: string]: unknown;
}

let sim: RunningSimulator;
let token: string;

const FROZEN = () => Date.UTC(2025, 0, 6, 9, 0, 0);
const ext = demoIds.externalUserIds;

async function wecomGet(path: string, query: Record<string, string> = {}, accessToken = token): Promise<WeComBody> {
  const search = new URLSearchParams({ access_token: accessToken, ...query });
  return (await (await fetch(`${sim.url}/cgi-bin/${path}?${search.toString()}`)).json()) as WeComBody;
}

async function wecomPost(path: string, body: unknown, accessToken = token): Promise<WeComBody> {
  const response = await fetch(`${sim.url}/cgi-bin/${path}?access_token=${accessToken}`, {
    method: 'POST',
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  return (await response.json()) as WeComBody;
}

async function control(path: string, body: unknown = {}): Promise<void> {
  const response = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  expect(response.status).toBe(200);
}

async function syncToken(): Promise<string> {
  const body = await (await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoCorp.contactSyncSecret}`)).json();
  return String((body as WeComBody).access_token);
}

const userids = (list: unknown) => (list as Array<{ userid: string }>).map((u) => u.userid);

beforeAll(async () => {
  sim = await startSimulator({ simulator: { now: FROZEN } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await control('/__sim/reset', { forgetTokens: true });
  const body = (await (await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`)).json()) as WeComBody;
  token = String(body.access_token);
});

describe('user/get', () => {
  it('withholds sensitive fields from an app created after 2022-06-20 but keeps name, department and position', async () => {
    const body = await wecomGet('user/get', { userid: 'lisi' });
    expect(body).toMatchObject({ errcode: 0, userid: 'lisi', name: '李四', department: [3], position: '华东销售经理', main_department: 3, status: 1 });
    for (const field of ['mobile', 'gender', 'email', 'biz_mail', 'avatar', 'qr_code', 'address']) expect(body).not.toHaveProperty(field);
  });

  it('answers 60011 for a member outside the visible range, 60111 for an unknown one, 41009 for none', async () => {
    expect((await wecomGet('user/get', { userid: demoIds.outsideVisibleRange })).errcode).toBe(60011);
    expect((await wecomGet('user/get', { userid: 'nobody' })).errcode).toBe(60111);
    expect((await wecomGet('user/get')).errcode).toBe(41009);
  });
});

describe('user/list and department/list', () => {
  it('lists only the direct members of a department, not of its sub-departments', async () => {
    expect(userids((await wecomGet('user/list', { department_id: '2' })).userlist)).toEqual(['zhangsan', 'sunqi']);
    expect(userids((await wecomGet('user/list', { department_id: '3' })).userlist)).toEqual(['lisi', 'wangwu', 'zhaoliu']);
  });

  it('refuses departments outside the visible range (60011) and unknown ones (60123)', async () => {
    expect((await wecomGet('user/list', { department_id: '1' })).errcode).toBe(60011);
    expect((await wecomGet('user/list', { department_id: '5' })).errcode).toBe(60011);
    expect((await wecomGet('user/list', { department_id: '99' })).errcode).toBe(60123);
  });

  it('lists the visible subtree, recursively', async () => {
    const ids = (body: WeComBody) => (body.department as Array<{ id: number }>).map((d) => d.id);
    expect(ids(await wecomGet('department/list'))).toEqual([2, 3, 4]);
    expect(ids(await wecomGet('department/list', { id: '2' }))).toEqual([2, 3, 4]);
    expect(ids(await wecomGet('department/list', { id: '3' }))).toEqual([3]);
    expect((await wecomGet('department/list', { id: '1' })).errcode).toBe(60011);
    const [sales] = (await wecomGet('department/list', { id: '2' })).department as Array<Record<string, unknown>>;
    expect(sales).toEqual({ id: 2, name: '销售中心', name_en: 'Sales', department_leader: ['zhangsan'], parentid: 1, order: 100000000 });
  });

  it('lets only the contact-sync secret use user/list_id, paged by cursor', async () => {
    expect((await wecomPost('user/list_id', {})).errcode).toBe(48002);
    const sync = await syncToken();
    const first = await wecomPost('user/list_id', { limit: 4 }, sync);
    expect(first.errcode).toBe(0);
    expect(first.dept_user).toHaveLength(4);
    const second = await wecomPost('user/list_id', { limit: 4, cursor: first.next_cursor }, sync);
    expect(second.next_cursor).toBe('');
    const all = [...(first.dept_user as unknown[]), ...(second.dept_user as unknown[])];
    // zhaoliu sits in two departments, so she has two rows; the sync helper sees zhouba too.
    expect(all).toHaveLength(7);
    expect(all).toContainEqual({ userid: 'zhaoliu', department: 3 });
    expect(all).toContainEqual({ userid: demoIds.outsideVisibleRange, department: 5 });
    expect((await wecomPost('user/list_id', { cursor: 'bm90LWEtY3Vyc29y' }, sync)).errcode).toBe(50100);
  });
});

describe('externalcontact: members and lists', () => {
  it('lists the visible members with 客户联系 enabled', async () => {
    expect((await wecomGet('externalcontact/get_follow_user_list')).follow_user).toEqual(['zhangsan', 'lisi', 'wangwu', 'zhaoliu']);
  });

  it('lists a member’s customers, answers 84061 for a member with none and 60011 outside the range', async () => {
    expect((await wecomGet('externalcontact/list', { userid: 'wangwu' })).external_userid).toEqual([ext.followedByTwo, ext.withoutUnionid]);
    expect((await wecomGet('externalcontact/list', { userid: 'sunqi' })).errcode).toBe(84061);
    expect((await wecomGet('externalcontact/list', { userid: demoIds.outsideVisibleRange })).errcode).toBe(60011);
  });
});

describe('externalcontact/get', () => {
  it('returns the contact and every visible follow user with full tags', async () => {
    const body = await wecomGet('externalcontact/get', { external_userid: ext.followedByTwo });
    expect(body.errcode).toBe(0);
    expect(body.external_contact).toMatchObject({ external_userid: ext.followedByTwo, name: '陈静', type: 1, unionid: 'oDemoUnionChenJing0000000000001' });
    const follows = body.follow_user as Array<Record<string, unknown>>;
    expect(follows.map((f) => f.userid)).toEqual(['wangwu', 'lisi']);
    expect(follows[0]).toMatchObject({ remark: '陈静-星河贸易', remark_mobiles: ['13912340001'], add_way: 1, oper_userid: 'wangwu', state: 'expo2024' });
    expect(follows[0]?.tags).toContainEqual({ group_name: '客户等级', tag_name: 'A类客户', tag_id: 'etDemoTagLevelA00000000000000001', type: 1 });
    expect(follows[0]?.tags).toContainEqual({ group_name: '我的标签', tag_name: '重点跟进', type: 2 });
  });

  it('omits unionid when the contact has none, and shows corp fields for a WeCom user', async () => {
    expect((await wecomGet('externalcontact/get', { external_userid: ext.withoutUnionid })).external_contact).not.toHaveProperty('unionid');
    const wecomUser = (await wecomGet('externalcontact/get', { external_userid: ext.weComUser })).external_contact;
    expect(wecomUser).toMatchObject({ type: 2, corp_name: '星河贸易', corp_full_name: '上海星河贸易有限公司', position: '采购经理' });
    expect(wecomUser).not.toHaveProperty('unionid');
  });

  it('hides follow users outside the visible range, and answers 84061 when none is left', async () => {
    const body = await wecomGet('externalcontact/get', { external_userid: ext.partlyHiddenFollowers });
    expect(userids(body.follow_user)).toEqual(['zhaoliu']);
    expect((await wecomGet('externalcontact/get', { external_userid: ext.onlyHiddenFollower })).errcode).toBe(84061);
  });

  it('answers 40096 for an unknown external_userid and 41035 for none', async () => {
    expect((await wecomGet('externalcontact/get', { external_userid: demoIds.unknownExternalUserId })).errcode).toBe(40096);
    expect((await wecomGet('externalcontact/get')).errcode).toBe(41035);
  });
});

describe('externalcontact/batch/get_by_user', () => {
  it('pages customers of several members with follow_info holding tag ids only', async () => {
    const first = await wecomPost('externalcontact/batch/get_by_user', { userid_list: ['wangwu', 'zhaoliu'], limit: 3 });
    expect(first.errcode).toBe(0);
    const rows = first.external_contact_list as Array<{ external_contact: { external_userid: string }; follow_info: Record<string, unknown> }>;
    expect(rows).toHaveLength(3);
    expect(rows[0]?.follow_info).toMatchObject({ userid: 'wangwu', tag_id: ['etDemoTagLevelA00000000000000001', 'etDemoTagSourceExpo0000000000001', 'etDemoTagProductEnterprise000001'] });
    expect(rows[0]?.follow_info).not.toHaveProperty('tags');
    const second = await wecomPost('externalcontact/batch/get_by_user', { userid_list: ['wangwu', 'zhaoliu'], limit: 3, cursor: first.next_cursor });
    expect((second.external_contact_list as unknown[]).length).toBe(1);
    expect(second.next_cursor).toBe('');
  });

  it('refuses more than 100 userids, a limit above 100 and a cursor from another request', async () => {
    const many = Array.from({ length: 101 }, () => 'wangwu');
    expect((await wecomPost('externalcontact/batch/get_by_user', { userid_list: many })).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/batch/get_by_user', { userid_list: ['wangwu'], limit: 101 })).errcode).toBe(40058);
    const first = await wecomPost('externalcontact/batch/get_by_user', { userid_list: ['wangwu', 'zhaoliu'], limit: 1 });
    expect((await wecomPost('externalcontact/batch/get_by_user', { userid_list: ['lisi'], cursor: first.next_cursor })).errcode).toBe(50100);
  });
});

describe('externalcontact/remark', () => {
  it('changes the remark, description and mobiles of that follow user only', async () => {
    const update = { userid: 'wangwu', external_userid: ext.followedByTwo, remark: '陈静（VIP）', description: '已签约', remark_mobiles: ['13900000000'] };
    expect(await wecomPost('externalcontact/remark', update)).toEqual({ errcode: 0, errmsg: 'ok' });
    const follows = (await wecomGet('externalcontact/get', { external_userid: ext.followedByTwo })).follow_user as Array<Record<string, unknown>>;
    expect(follows[0]).toMatchObject({ userid: 'wangwu', remark: '陈静（VIP）', description: '已签约', remark_mobiles: ['13900000000'] });
    expect(follows[1]).toMatchObject({ userid: 'lisi', remark: '陈总' });
  });

  it('clears remark mobiles with [""] and keeps fields it was not given', async () => {
    await wecomPost('externalcontact/remark', { userid: 'wangwu', external_userid: ext.followedByTwo, remark_mobiles: [''] });
    const [follow] = (await wecomGet('externalcontact/get', { external_userid: ext.followedByTwo })).follow_user as Array<Record<string, unknown>>;
    expect(follow).toMatchObject({ remark: '陈静-星河贸易', remark_mobiles: [] });
  });

  it('refuses a request that changes nothing, or with too long fields (40058)', async () => {
    const target = { userid: 'wangwu', external_userid: ext.followedByTwo };
    expect((await wecomPost('externalcontact/remark', target)).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/remark', { ...target, remark: '', description: '' })).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/remark', { ...target, remark: '字'.repeat(21) })).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/remark', { ...target, remark: '字'.repeat(20) })).errcode).toBe(0);
    expect((await wecomPost('externalcontact/remark', { ...target, description: 'd'.repeat(151) })).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/remark', { ...target, remark_company: 'c'.repeat(21) })).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/remark', { ...target, remark: 42 })).errcode).toBe(40058);
  });

  it('answers 84061 when the member does not follow that contact, 40096 for an unknown contact', async () => {
    expect((await wecomPost('externalcontact/remark', { userid: 'sunqi', external_userid: ext.followedByTwo, remark: 'x' })).errcode).toBe(84061);
    expect((await wecomPost('externalcontact/remark', { userid: 'wangwu', external_userid: demoIds.unknownExternalUserId, remark: 'x' })).errcode).toBe(40096);
    expect((await wecomPost('externalcontact/remark', { userid: demoIds.outsideVisibleRange, external_userid: ext.partlyHiddenFollowers, remark: 'x' })).errcode).toBe(60011);
    expect((await wecomPost('externalcontact/remark', { external_userid: ext.followedByTwo, remark: 'x' })).errcode).toBe(41009);
  });

  it('applies remark_company to WeChat customers only, and has no media for remark_pic_mediaid', async () => {
    await wecomPost('externalcontact/remark', { userid: 'zhaoliu', external_userid: ext.weComUser, remark_company: '别的公司' });
    const [follow] = (await wecomGet('externalcontact/get', { external_userid: ext.weComUser })).follow_user as Array<Record<string, unknown>>;
    expect(follow?.remark_corp_name).toBe('星河贸易');
    expect((await wecomPost('externalcontact/remark', { userid: 'wangwu', external_userid: ext.followedByTwo, remark_pic_mediaid: 'm1' })).errcode).toBe(40007);
  });

  it('answers 47001 for a body that is not JSON', async () => {
    expect((await wecomPost('externalcontact/remark', '{"userid": "wangwu",')).errcode).toBe(47001);
  });

  it('is undone by /__sim/reset', async () => {
    await wecomPost('externalcontact/remark', { userid: 'wangwu', external_userid: ext.followedByTwo, remark: '改过' });
    await control('/__sim/reset');
    const fresh = (await (await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`)).json()) as WeComBody;
    const [follow] = (await wecomGet('externalcontact/get', { external_userid: ext.followedByTwo }, String(fresh.access_token))).follow_user as Array<Record<string, unknown>>;
    expect(follow?.remark).toBe('陈静-星河贸易');
  });
});

describe('externalcontact/groupchat/get and get_corp_tag_list', () => {
  it('returns the customer group with internal (1) and external (2) members, names only on request', async () => {
    const body = await wecomPost('externalcontact/groupchat/get', { chat_id: demoIds.chatId });
    const chat = body.group_chat as { owner: string; member_list: Array<Record<string, unknown>>; admin_list: unknown };
    expect(chat.owner).toBe('wangwu');
    expect(chat.member_list.map((m) => [m.userid, m.type])).toEqual([
      ['wangwu', 1],
      ['lisi', 1],
      [ext.followedByTwo, 2],
      [ext.weComUser, 2],
      [ext.groupGuest, 2],
    ]);
    expect(chat.member_list[0]).not.toHaveProperty('name');
    expect(chat.member_list[2]).toMatchObject({ unionid: 'oDemoUnionChenJing0000000000001', invitor: { userid: 'wangwu' } });
    const named = (await wecomPost('externalcontact/groupchat/get', { chat_id: demoIds.chatId, need_name: 1 })).group_chat as typeof chat;
    expect(named.member_list[0]?.name).toBe('王五');
    expect((await wecomPost('externalcontact/groupchat/get', { chat_id: 'wrNoSuchChat' })).errcode).toBe(40050);
  });

  it('returns the corp tag library, filtered by tag id', async () => {
    const all = (await wecomPost('externalcontact/get_corp_tag_list', {})).tag_group as Array<{ group_name: string; tag: unknown[] }>;
    expect(all.map((g) => g.group_name)).toEqual(['客户等级', '客户来源', '意向产品']);
    const one = (await wecomPost('externalcontact/get_corp_tag_list', { tag_id: ['etDemoTagSourceWeb00000000000001'] })).tag_group;
    expect(one).toEqual([
      { group_id: 'etDemoGroupSource000000000000001', group_name: '客户来源', create_time: 1700000100, order: 2, tag: [{ id: 'etDemoTagSourceWeb00000000000001', name: '官网', create_time: 1700000100, order: 2 }] },
    ]);
  });
});

describe('message/send', () => {
  it('records what it received and names recipients it could not reach', async () => {
    const body = await wecomPost('message/send', { touser: `wangwu|${demoIds.outsideVisibleRange}|ghost`, msgtype: 'text', agentid: demoIds.agentId, text: { content: '新客户：陈静' } });
    expect(body).toMatchObject({ errcode: 0, invaliduser: `${demoIds.outsideVisibleRange}|ghost` });
    const { messages } = (await (await fetch(`${sim.url}/__sim/messages`)).json()) as { messages: Array<Record<string, unknown>> };
    expect(messages).toHaveLength(1);
    expect(messages[0]).toMatchObject({ agentid: demoIds.agentId, touser: ['wangwu'], msgtype: 'text', request: { text: { content: '新客户：陈静' } } });
  });

  it('refuses another app’s agentid (301002), unreachable recipients only (81013) and empty text (44004)', async () => {
    expect((await wecomPost('message/send', { touser: 'wangwu', msgtype: 'text', agentid: 1000003, text: { content: 'x' } })).errcode).toBe(301002);
    expect((await wecomPost('message/send', { touser: demoIds.outsideVisibleRange, msgtype: 'text', agentid: demoIds.agentId, text: { content: 'x' } })).errcode).toBe(81013);
    expect((await wecomPost('message/send', { touser: 'wangwu', msgtype: 'text', agentid: demoIds.agentId, text: { content: '' } })).errcode).toBe(44004);
    expect((await wecomPost('message/send', { touser: 'wangwu', msgtype: 'text', text: { content: 'x' } })).errcode).toBe(41011);
  });
});
