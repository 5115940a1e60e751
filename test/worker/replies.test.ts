/**
 * @module
 * `/api/replies`: the quick-reply library through HTTP in workerd, with the demo corp's members
 * logged in through the real flow. The department tree is the demo corp's: 销售中心 (2) above
 * 华东销售部 (3, lisi manages it, wangwu works there) and 华南销售部 (4, zhaoliu; she is in 3 too).
 */
import { env } from 'cloudflare:test';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUserRepo } from '../../worker/identity/users.ts';
import { demoCorp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import type { ManagedReply, ManagedReplyList, ReplyDraft, ReplyList } from '../../worker/wire.ts';
import { api, login, resetIdentity, setRole } from './identity-helpers.ts';

const corpId = env.WECOM_CORP_ID!;
const { salesCenter, salesEast, salesSouth } = demoIds.departments;

type Who = 'admin' | 'manager' | 'sales' | 'salesTwoDepartments' | 'viewer';
let cookies: Record<Who, string>;

function draft(title: string, departmentId: number | null, content = `${title}：{contact_name}您好`, group = '开场'): ReplyDraft {
  return { group, title, departmentId, body: { msgtype: 'text', text: { content } } };
}

function send(who: Who, method: string, path: string, body?: unknown): Promise<Response> {
  return api(path, cookies[who], body === undefined ? { method } : { method, body: JSON.stringify(body) });
}

async function create(who: Who, reply: ReplyDraft): Promise<ManagedReply> {
  const response = await send(who, 'POST', '/api/replies/manage', reply);
  expect(response.status, await response.clone().text()).toBe(201);
  return ((await response.json()) as { reply: ManagedReply }).reply;
}

async function titlesFor(who: Who, q = ''): Promise<string[]> {
  const response = await send(who, 'GET', `/api/replies${q ? `?q=${encodeURIComponent(q)}` : ''}`);
  expect(response.status).toBe(200);
  return ((await response.json()) as ReplyList).replies.map((reply) => reply.title).sort();
}

async function managed(who: Who): Promise<ManagedReplyList> {
  const response = await send(who, 'GET', '/api/replies/manage');
  expect(response.status).toBe(200);
  return (await response.json()) as ManagedReplyList;
}

async function errorOf(response: Response): Promise<{ status: number; error: string; message: string; variables?: string[] }> {
  const body = (await response.json()) as { error: string; message: string; variables?: string[] };
  return { status: response.status, ...body };
}

beforeAll(async () => {
  await resetIdentity();
  const users = createUserRepo(env.DB);
  for (const department of demoCorp.departments) {
    await users.upsertDepartment(corpId, { id: department.id, name: department.name, parentId: department.parentid || undefined, order: department.order }, Date.now());
  }
  cookies = {
    admin: await login('zhangsan'),
    manager: await login('lisi'),
    sales: await login('wangwu'),
    salesTwoDepartments: await login('zhaoliu'),
    viewer: await login('sunqi'),
  };
  await setRole('zhangsan', 'admin');
  await setRole('lisi', 'manager');
  await setRole('wangwu', 'sales');
  await setRole('zhaoliu', 'sales');
  await setRole('sunqi', 'viewer');
}, 60_000);

beforeEach(async () => {
  await env.DB.prepare('DELETE FROM quick_replies').run();
});

describe('/api/replies/manage by an admin', () => {
  it('creates, lists, updates and deletes replies, corp-wide and per department', async () => {
    const corpWide = await create('admin', draft('问候', null));
    expect(corpWide).toMatchObject({ group: '开场', title: '问候', departmentId: null, departmentName: null, sentCount: 0, copiedCount: 0, lastUsedAt: null, updatedBy: { userid: 'zhangsan', name: '张三' } });
    const south = await create('admin', {
      group: '资料',
      title: '产品手册',
      departmentId: salesSouth,
      body: { msgtype: 'news', news: { link: 'https://example.com/manual', title: '{customer_company} 的产品手册', desc: '', imgUrl: '' } },
    });
    expect(south).toMatchObject({ departmentId: salesSouth, departmentName: '华南销售部', body: { msgtype: 'news', news: { link: 'https://example.com/manual', imgUrl: '' } } });

    const list = await managed('admin');
    expect(list.corpWide).toBe(true);
    expect(list.replies.map((reply) => reply.title).sort()).toEqual(['产品手册', '问候']);
    expect(list.departments.map((d) => d.id)).toEqual(expect.arrayContaining([salesCenter, salesEast, salesSouth]));

    const updated = await send('admin', 'PUT', `/api/replies/manage/${corpWide.id}`, draft('问候（新）', salesCenter, '早上好 {my_name}'));
    expect(updated.status).toBe(200);
    expect(((await updated.json()) as { reply: ManagedReply }).reply).toMatchObject({ title: '问候（新）', departmentId: salesCenter, body: { text: { content: '早上好 {my_name}' } } });

    expect((await send('admin', 'DELETE', `/api/replies/manage/${south.id}`)).status).toBe(200);
    expect((await managed('admin')).replies.map((reply) => reply.title)).toEqual(['问候（新）']);
    expect(await errorOf(await send('admin', 'DELETE', `/api/replies/manage/${south.id}`))).toMatchObject({ status: 404, error: 'reply_not_found' });
  });

  it('refuses a department the corp does not have', async () => {
    expect(await errorOf(await send('admin', 'POST', '/api/replies/manage', draft('无处', 999)))).toMatchObject({ status: 400, error: 'unknown_department' });
  });

  it('refuses malformed drafts with what is wrong', async () => {
    const bad = [
      { ...draft('', null) },
      { ...draft('x', null), group: 'g'.repeat(31) },
      { ...draft('x', null), body: { msgtype: 'image', image: { mediaid: 'm' } } },
      { ...draft('x', null), body: { msgtype: 'news', news: { link: 'javascript:alert(1)', title: 't' } } },
      { ...draft('x', null), departmentId: '3' },
    ];
    for (const body of bad) expect(await errorOf(await send('admin', 'POST', '/api/replies/manage', body)), JSON.stringify(body)).toMatchObject({ status: 400, error: 'bad_request' });
    expect(await errorOf(await send('admin', 'PUT', '/api/replies/manage/abc', draft('x', null)))).toMatchObject({ status: 400, error: 'bad_request' });
  });
});

describe('variables', () => {
  it('accepts the known ones and refuses a reply naming an unknown one, saying which', async () => {
    await create('admin', draft('全部变量', null, '{contact_name} {contact_remark} {customer_company} {my_name}，{ 这不是变量 }'));
    const refused = await errorOf(await send('admin', 'POST', '/api/replies/manage', draft('拼错', null, '{contact_nmae} 您好，我是 {my_name}，{salesperson}')));
    expect(refused).toMatchObject({ status: 400, error: 'unknown_variable', variables: ['contact_nmae', 'salesperson'] });
    expect(refused.message).toContain('{contact_nmae}');
    expect(refused.message).toContain('{contact_remark}');
    const inCard = await send('admin', 'POST', '/api/replies/manage', {
      ...draft('卡片', null),
      body: { msgtype: 'news', news: { link: 'https://example.com/', title: '给 {contact_name}', desc: '{price}', imgUrl: '' } },
    });
    expect(await errorOf(inCard)).toMatchObject({ status: 400, error: 'unknown_variable', variables: ['price'] });
    expect((await managed('admin')).replies.map((reply) => reply.title)).toEqual(['全部变量']);
  });
});

describe('/api/replies/manage by a manager', () => {
  it('writes replies of their departments and below, never corp-wide ones or other departments’', async () => {
    const own = await create('manager', draft('华东开场', salesEast));
    expect(own.departmentName).toBe('华东销售部');
    expect(await errorOf(await send('manager', 'POST', '/api/replies/manage', draft('全公司', null)))).toMatchObject({ status: 403, error: 'forbidden' });
    expect(await errorOf(await send('manager', 'POST', '/api/replies/manage', draft('华南', salesSouth)))).toMatchObject({ status: 403, error: 'forbidden' });
    // 销售中心 is above lisi's department: managing 华东 does not make it his.
    expect(await errorOf(await send('manager', 'POST', '/api/replies/manage', draft('中心', salesCenter)))).toMatchObject({ status: 403, error: 'forbidden' });

    const updated = await send('manager', 'PUT', `/api/replies/manage/${own.id}`, draft('华东开场（改）', salesEast));
    expect(updated.status).toBe(200);
    // Moving his reply somewhere he does not manage is refused, and the reply stays as it was.
    expect(await errorOf(await send('manager', 'PUT', `/api/replies/manage/${own.id}`, draft('搬走', salesSouth)))).toMatchObject({ status: 403, error: 'forbidden' });
    expect(await errorOf(await send('manager', 'PUT', `/api/replies/manage/${own.id}`, draft('搬走', null)))).toMatchObject({ status: 403, error: 'forbidden' });
    expect((await managed('manager')).replies).toMatchObject([{ id: own.id, title: '华东开场（改）', departmentId: salesEast }]);
  });

  it('answers 404 for replies he does not manage, even those he reads', async () => {
    const corpWide = await create('admin', draft('全公司', null));
    const south = await create('admin', draft('华南', salesSouth));
    const center = await create('admin', draft('中心', salesCenter));
    for (const reply of [corpWide, south, center]) {
      expect(await errorOf(await send('manager', 'PUT', `/api/replies/manage/${reply.id}`, draft('改', salesEast)))).toMatchObject({ status: 404, error: 'reply_not_found' });
      expect(await errorOf(await send('manager', 'DELETE', `/api/replies/manage/${reply.id}`))).toMatchObject({ status: 404, error: 'reply_not_found' });
    }
    const list = await managed('manager');
    expect(list.replies).toEqual([]);
    expect(list.corpWide).toBe(false);
    expect(list.departments).toEqual([{ id: salesEast, name: '华东销售部' }]);
    expect((await managed('admin')).replies.map((reply) => reply.title).sort()).toEqual(['中心', '全公司', '华南']);
  });
});

describe('/api/replies for members', () => {
  it('lets sales and viewers read only', async () => {
    for (const who of ['sales', 'viewer'] as const) {
      expect(await errorOf(await send(who, 'GET', '/api/replies/manage'))).toMatchObject({ status: 403, error: 'forbidden' });
      expect(await errorOf(await send(who, 'POST', '/api/replies/manage', draft('我的', salesEast)))).toMatchObject({ status: 403, error: 'forbidden' });
    }
    const reply = await create('admin', draft('全公司', null));
    expect(await errorOf(await send('sales', 'PUT', `/api/replies/manage/${reply.id}`, draft('改', null)))).toMatchObject({ status: 403, error: 'forbidden' });
    expect(await errorOf(await send('sales', 'DELETE', `/api/replies/manage/${reply.id}`))).toMatchObject({ status: 403, error: 'forbidden' });
    expect(await titlesFor('sales')).toEqual(['全公司']);
  });

  it('shows corp-wide replies and those of the member’s departments and the departments above, never a sibling’s', async () => {
    await create('admin', draft('全公司', null));
    await create('admin', draft('中心', salesCenter));
    await create('manager', draft('华东', salesEast));
    await create('admin', draft('华南', salesSouth));
    expect(await titlesFor('sales')).toEqual(['中心', '全公司', '华东']);
    expect(await titlesFor('salesTwoDepartments')).toEqual(['中心', '全公司', '华东', '华南']);
    expect(await titlesFor('viewer')).toEqual(['中心', '全公司']);
    expect(await titlesFor('manager')).toEqual(['中心', '全公司', '华东']);
  });

  it('searches titles, groups and texts, and names the groups', async () => {
    await create('admin', draft('报价', null, '{contact_name}，报价单已发您邮箱', '跟进'));
    await create('admin', draft('问候', null, '您好，我是{my_name}', '开场'));
    await create('admin', { group: '资料', title: '案例', departmentId: null, body: { msgtype: 'news', news: { link: 'https://example.com/case', title: '星河贸易交付案例', desc: 'Delivery in 30 days', imgUrl: '' } } });
    await create('admin', draft('华南报价', salesSouth, '华南的报价', '跟进'));
    expect(await titlesFor('sales', '报价')).toEqual(['报价']);
    expect(await titlesFor('sales', '邮箱')).toEqual(['报价']);
    expect(await titlesFor('sales', '开场')).toEqual(['问候']);
    expect(await titlesFor('sales', '交付')).toEqual(['案例']);
    expect(await titlesFor('sales', 'DELIVERY')).toEqual(['案例']);
    expect(await titlesFor('sales', '没有这个')).toEqual([]);
    const all = (await (await send('sales', 'GET', '/api/replies')).json()) as ReplyList;
    expect(all.groups).toEqual(['开场', '资料', '跟进'].sort());
    expect(await errorOf(await send('sales', 'GET', `/api/replies?q=${'x'.repeat(101)}`))).toMatchObject({ status: 400, error: 'bad_request' });
  });
});

describe('POST /api/replies/:id/usage', () => {
  it('counts sends and copies, and admins see the counts and when it was last used', async () => {
    const reply = await create('admin', draft('问候', null));
    const before = Date.now();
    for (const action of ['sent', 'sent', 'copied']) {
      const response = await send('sales', 'POST', `/api/replies/${reply.id}/usage`, { action });
      expect(response.status).toBe(200);
    }
    expect((await send('viewer', 'POST', `/api/replies/${reply.id}/usage`, { action: 'copied' })).status).toBe(200);
    const [counted] = (await managed('admin')).replies;
    expect(counted).toMatchObject({ id: reply.id, sentCount: 2, copiedCount: 2 });
    expect(counted?.lastUsedAt).toBeGreaterThanOrEqual(before);
    expect(await errorOf(await send('sales', 'POST', `/api/replies/${reply.id}/usage`, { action: 'liked' }))).toMatchObject({ status: 400, error: 'bad_request' });
  });

  it('answers 404 for a reply the member may not use, and counts nothing', async () => {
    const south = await create('admin', draft('华南', salesSouth));
    expect(await errorOf(await send('sales', 'POST', `/api/replies/${south.id}/usage`, { action: 'sent' }))).toMatchObject({ status: 404, error: 'reply_not_found' });
    expect(await errorOf(await send('sales', 'POST', '/api/replies/987654/usage', { action: 'sent' }))).toMatchObject({ status: 404, error: 'reply_not_found' });
    expect((await send('salesTwoDepartments', 'POST', `/api/replies/${south.id}/usage`, { action: 'sent' })).status).toBe(200);
    expect((await managed('admin')).replies[0]).toMatchObject({ sentCount: 1, copiedCount: 0 });
  });
});
