/**
 * @module
 * Corp tags through the sidebar, written through to WeCom (the simulator), then the CRM fields an
 * admin mapped to tag groups and the timeline; the library cache and its change events; mapped
 * fields kept equal by edit events and reconciliation (docs/tags.md).
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { createBuiltinCrm } from '../../worker/crm/builtin.ts';
import { profileKey } from '../../worker/contacts/profile.ts';
import { libraryKey } from '../../worker/tags/library.ts';
import { demoApp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { buildEventXml } from '../../dev/simulator/events.ts';
import { contactEventXml, postCallback, unixNow, waitFor } from './callback-helpers.ts';
import { api, login, resetIdentity, setRole } from './identity-helpers.ts';
import { calls, sim, simBase } from './simulator-control.ts';

const corpId = env.WECOM_CORP_ID!;
const { withoutUnionid: LIU_YANG, followedByTwo: CHEN_JING } = demoIds.externalUserIds;
const LEVEL_GROUP = 'etDemoGroupLevel0000000000000001';
const LEVEL_A = 'etDemoTagLevelA00000000000000001';
const LEVEL_B = 'etDemoTagLevelB00000000000000001';
const SOURCE_EXPO = 'etDemoTagSourceExpo0000000000001';
const SOURCE_WEB = 'etDemoTagSourceWeb00000000000001';

interface TagsBody {
  groups: Array<{ groupId: string; name: string; tags: Array<{ id: string; name: string }>; field: string | null }>;
  selected: string[];
  personal: Array<{ group: string; name: string }>;
  canEdit: boolean;
  crm?: { status: string; fields: string[]; reason?: string };
}

const crm = () => createBuiltinCrm(env.DB);

async function reset() {
  await resetIdentity();
  await env.DB.batch(
    ['contact_bindings', 'contact_follows', 'touchpoints', 'events', 'tag_mappings', 'crm_pending_writes', 'crm_customer_mobiles', 'crm_notes', 'crm_history', 'crm_idempotency', 'crm_customers'].map((table) =>
      env.DB.prepare(`DELETE FROM ${table}`),
    ),
  );
  for (const id of Object.values(demoIds.externalUserIds)) await env.KV.delete(profileKey(corpId, id));
  await env.KV.delete(libraryKey(corpId));
}

const tagsOf = async (cookie: string, contact: string = LIU_YANG) => (await (await api(`/api/contacts/${contact}/tags`, cookie)).json()) as TagsBody;
const mark = (cookie: string, change: { add?: string[]; remove?: string[] }, contact: string = LIU_YANG, headers: Record<string, string> = {}) =>
  api(`/api/contacts/${contact}/tags`, cookie, { method: 'POST', body: JSON.stringify(change), headers });

/** The tags WeCom itself now shows on a member's relationship: the worker's cached copy dropped first. */
async function wecomTags(cookie: string, contact: string, userid: string): Promise<string[]> {
  await env.KV.delete(profileKey(corpId, contact));
  const body = (await (await api(`/api/contacts/${contact}`, cookie)).json()) as { followUsers: Array<{ userid: string; tags: Array<{ group: string; name: string }> }> };
  return (body.followUsers.find((f) => f.userid === userid)?.tags ?? []).map((t) => `${t.group}/${t.name}`);
}

async function tagTouchpoints(contact: string): Promise<Array<{ kind: string; detail: Record<string, unknown> }>> {
  const { results } = await env.DB.prepare("SELECT kind, detail FROM touchpoints WHERE external_userid = ?1 AND kind IN ('tags_changed', 'contact_edited') ORDER BY id").bind(contact).all<{ kind: string; detail: string }>();
  return results.map((row) => ({ kind: row.kind, detail: JSON.parse(row.detail) as Record<string, unknown> }));
}

/** The member acting in the WeCom client itself: the simulator's state changes as WeCom's would. */
async function inWeComClient(path: string, body: unknown): Promise<void> {
  const { access_token: token } = (await (await fetch(`${simBase}/cgi-bin/gettoken?corpid=${corpId}&corpsecret=${demoApp.secret}`)).json()) as { access_token: string };
  const reply = (await (await fetch(`${simBase}/cgi-bin/${path}?access_token=${token}`, { method: 'POST', body: JSON.stringify(body) })).json()) as { errcode: number };
  expect(reply.errcode).toBe(0);
}

async function mapLevelGroup(admin: string): Promise<void> {
  const mapped = await api('/api/admin/tags/mappings', admin, { method: 'PUT', body: JSON.stringify({ mappings: [{ groupId: LEVEL_GROUP, field: '等级' }] }) });
  expect(mapped.status).toBe(200);
}

async function bindNewCustomer(cookie: string, contact: string = LIU_YANG, call = (path: string, init: RequestInit) => api(path, cookie, init)): Promise<string> {
  const created = await call(`/api/contacts/${contact}/customer`, { method: 'POST', body: '{}' });
  expect(created.status).toBe(201);
  return ((await created.json()) as { customer: { id: string } }).customer.id;
}

describe('GET /api/contacts/:id/tags', () => {
  beforeEach(reset);

  it("shows the corp tag library by group, the member's own corp tags selected and personal tags apart", async () => {
    const cookie = await login('wangwu');
    const body = await tagsOf(cookie, CHEN_JING);
    expect(body.groups.map((g) => g.name)).toEqual(['客户等级', '客户来源', '意向产品']);
    expect(body.groups[0]?.tags.map((t) => t.name)).toEqual(['A类客户', 'B类客户', 'C类客户']);
    expect(body.selected.sort()).toEqual([LEVEL_A, SOURCE_EXPO, 'etDemoTagProductEnterprise000001'].sort());
    expect(body.personal).toEqual([{ group: '我的标签', name: '重点跟进', type: 2 }]);
    expect(body.canEdit).toBe(true);
  });

  it('answers a contact that is not yours as one that does not exist', async () => {
    await tagsOf(await login('wangwu'));
    const response = await api(`/api/contacts/${LIU_YANG}/tags`, await login('zhaoliu'));
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'contact_not_found' });
  });
});

describe('POST /api/contacts/:id/tags', () => {
  beforeEach(reset);

  it("marks and unmarks tags on the member's relationship in WeCom and records them on the timeline", async () => {
    const cookie = await login('wangwu');
    const response = await mark(cookie, { add: [LEVEL_A, SOURCE_EXPO], remove: [LEVEL_B] }, LIU_YANG, { 'idempotency-key': 'tags-liu-0001' });
    expect(response.status).toBe(200);
    const body = (await response.json()) as TagsBody;
    expect(body.selected.sort()).toEqual([LEVEL_A, SOURCE_EXPO, SOURCE_WEB].sort());
    expect(body.crm).toEqual({ status: 'none', fields: [] });
    expect((await wecomTags(cookie, LIU_YANG, 'wangwu')).sort()).toEqual(['客户来源/官网', '客户来源/展会', '客户等级/A类客户'].sort());
    expect(await tagTouchpoints(LIU_YANG)).toEqual([{ kind: 'tags_changed', detail: { tagsAdded: ['客户等级/A类客户', '客户来源/展会'], tagsRemoved: ['客户等级/B类客户'] } }]);
  });

  it('refuses a viewer, a manager who does not follow the contact, and a contact that is not yours', async () => {
    const sales = await login('wangwu');
    await tagsOf(sales);
    const manager = await login('lisi');
    await setRole('lisi', 'manager');
    const notFollowing = await mark(manager, { add: [LEVEL_A] });
    expect(notFollowing.status).toBe(403);
    expect(await notFollowing.json()).toMatchObject({ error: 'not_following' });
    expect((await mark(await login('zhaoliu'), { add: [LEVEL_A] })).status).toBe(404);
    await setRole('wangwu', 'viewer');
    expect(await (await mark(sales, { add: [LEVEL_A] })).json()).toMatchObject({ error: 'forbidden' });
    expect(await wecomTags(await login('zhangsan'), LIU_YANG, 'wangwu')).toEqual(['客户等级/B类客户', '客户来源/官网']);
  });

  it('refuses a personal or unknown tag before asking WeCom', async () => {
    const cookie = await login('wangwu');
    await sim('calls/reset', {});
    const response = await mark(cookie, { add: ['stPersonalTagOfWangwu0000000001'] });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'not_a_corp_tag', tags: ['stPersonalTagOfWangwu0000000001'] });
    expect((await calls())('externalcontact/mark_tag')).toBe(0);
  });

  it('says the tag is gone when an admin deleted it in WeCom meanwhile, and stops offering it', async () => {
    const cookie = await login('wangwu');
    await tagsOf(cookie); // the library is cached with 客户等级/C类客户 in it
    await sim('corp-tags', { action: 'delete', id: 'etDemoTagLevelC00000000000000001' });
    const response = await mark(cookie, { add: ['etDemoTagLevelC00000000000000001'] });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: 'tag_not_found', errcode: 40068 });
    expect((await tagsOf(cookie)).groups[0]?.tags.map((t) => t.name)).toEqual(['A类客户', 'B类客户']);
    expect(await tagTouchpoints(LIU_YANG)).toEqual([]);
  });

  it('says the relationship ended when WeCom answers 84061, changing nothing, and stops offering edits', async () => {
    const cookie = await login('wangwu');
    expect((await tagsOf(cookie)).canEdit).toBe(true);
    await sim('faults', { path: 'externalcontact/mark_tag', errcode: 84061 });
    const response = await mark(cookie, { add: [LEVEL_A] });
    expect(response.status).toBe(409);
    expect(await response.json()).toMatchObject({ error: 'relationship_ended', errcode: 84061 });
    expect(await tagTouchpoints(LIU_YANG)).toEqual([]);
    const follow = await env.DB.prepare("SELECT state FROM contact_follows WHERE external_userid = ?1 AND userid = 'wangwu'").bind(LIU_YANG).first<{ state: string }>();
    expect(follow?.state).toBe('ended');
    // The contact is no longer the member's: it answers like one WeCom does not know.
    expect((await api(`/api/contacts/${LIU_YANG}/tags`, cookie)).status).toBe(404);
  });

  it('names the console step when the app may not call customer-contact APIs', async () => {
    const cookie = await login('wangwu');
    await tagsOf(cookie);
    await sim('mode', { noContactPermission: true });
    const response = await mark(cookie, { add: [LEVEL_A] });
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: string; hint: string };
    expect(body.error).toBe('wecom_48002');
    expect(body.hint).toContain('可调用接口的应用');
  });
});

describe('a tag group mapped to a CRM field', () => {
  beforeEach(reset);

  it('writes the field after each sidebar change and refuses to edit it in the CRM', async () => {
    const admin = await login('zhangsan');
    await mapLevelGroup(admin);
    const cookie = await login('wangwu');
    const customerId = await bindNewCustomer(cookie);
    // The CRM's own tags stay the CRM's: creating the customer copied none of WeCom's.
    expect((await crm().get(corpId, customerId))?.tags).toEqual([]);
    const marked = (await (await mark(cookie, { add: [LEVEL_A], remove: [LEVEL_B] })).json()) as TagsBody;
    expect(marked.crm).toEqual({ status: 'applied', fields: ['等级'] });
    expect(marked.groups.find((g) => g.groupId === LEVEL_GROUP)?.field).toBe('等级');
    const customer = await crm().get(corpId, customerId);
    expect(customer?.customFields).toEqual({ 等级: 'A类客户' });
    await mark(cookie, { add: [LEVEL_B] });
    expect((await crm().get(corpId, customerId))?.customFields).toEqual({ 等级: 'A类客户, B类客户' });

    const edit = await api(`/api/customers/${customerId}`, cookie, { method: 'PATCH', headers: { 'if-match': `"${customer!.version + 1}"` }, body: JSON.stringify({ customFields: { 等级: 'C类客户' } }) });
    expect(edit.status).toBe(409);
    expect(await edit.json()).toMatchObject({ error: 'field_mapped', fields: ['等级'] });
  });

  it('follows a change made in WeCom (edit_external_contact) and records what changed', async () => {
    const admin = await login('zhangsan');
    await mapLevelGroup(admin);
    const cookie = await login('wangwu');
    const customerId = await bindNewCustomer(cookie);
    await inWeComClient('externalcontact/mark_tag', { userid: 'wangwu', external_userid: LIU_YANG, add_tag: [LEVEL_A], remove_tag: [LEVEL_B] });
    expect((await postCallback(contactEventXml({ changeType: 'edit_external_contact', userId: 'wangwu', externalUserId: LIU_YANG, createTime: Number(unixNow()) }))).status).toBe(200);
    await waitFor(async () => ((await crm().get(corpId, customerId))?.customFields.等级 === 'A类客户' ? true : undefined));
    const edited = (await tagTouchpoints(LIU_YANG)).find((t) => t.kind === 'contact_edited');
    expect(edited?.detail).toEqual({ tagsAdded: ['客户等级/A类客户'], tagsRemoved: ['客户等级/B类客户'] });
  });

  it('fills the mapped field of a customer created for a contact just added, and copies no WeCom tag into its own tags', async () => {
    const admin = await login('zhangsan');
    await mapLevelGroup(admin);
    // wangwu's relationship with 刘洋 carries B类客户 (客户等级) in WeCom.
    expect((await postCallback(contactEventXml({ changeType: 'add_external_contact', userId: 'wangwu', externalUserId: LIU_YANG, createTime: Number(unixNow()) }))).status).toBe(200);
    const binding = await waitFor(async () => (await env.DB.prepare('SELECT customer_id FROM contact_bindings WHERE external_userid = ?1').bind(LIU_YANG).first<{ customer_id: string }>()) ?? undefined);
    const customer = await waitFor(async () => {
      const found = await crm().get(corpId, binding.customer_id);
      return found?.customFields.等级 ? found : undefined;
    });
    expect(customer.customFields).toEqual({ 等级: 'B类客户' });
    expect(customer.tags).toEqual([]);
  });

  it('is set by reconciliation from what WeCom lists, without any event', async () => {
    const admin = await login('zhangsan');
    const cookie = await login('wangwu');
    const customerId = await bindNewCustomer(cookie);
    await mapLevelGroup(admin);
    await inWeComClient('externalcontact/mark_tag', { userid: 'wangwu', external_userid: LIU_YANG, add_tag: [LEVEL_A] });
    const { run } = (await (await api('/api/admin/reconcile', admin, { method: 'POST' })).json()) as { run: { id: number } };
    await waitFor(async () => {
      const body = (await (await api(`/api/admin/reconcile/${run.id}`, admin)).json()) as { run: { status: string } };
      return body.run.status === 'running' ? undefined : body.run;
    }, 20_000);
    expect((await crm().get(corpId, customerId))?.customFields).toEqual({ 等级: 'A类客户, B类客户' });
  });
});

describe('a CRM that fails after WeCom accepted', () => {
  beforeEach(async () => {
    await reset();
    await fetch(`${inject('crmUrl')}/__crm/reset`, { method: 'POST' });
  });
  afterEach(async () => {
    await fetch(`${inject('crmUrl')}/__crm/reset`, { method: 'POST' });
  });

  function httpCrm(cookie: string) {
    const app = createApp();
    const httpEnv = { ...env, CRM: 'http', CRM_BASE_URL: inject('crmUrl'), CRM_API_TOKEN: inject('crmToken'), CRM_TIMEOUT_MS: '5000' };
    return (path: string, init: RequestInit = {}) =>
      Promise.resolve(
        app.request(
          `http://127.0.0.1:8787${path}`,
          { ...init, headers: { origin: 'http://127.0.0.1:8787', 'content-type': 'application/json', ...(init.headers as Record<string, string>), cookie } },
          httpEnv,
          createExecutionContext(),
        ),
      );
  }

  it('keeps WeCom’s change, keeps the CRM write with its reason for admins, and applies it on retry', async () => {
    const admin = await login('zhangsan');
    await mapLevelGroup(admin);
    const cookie = await login('wangwu');
    const call = httpCrm(cookie);
    const customerId = await bindNewCustomer(cookie, LIU_YANG, call);
    // The company CRM refuses every update for a while (the client retries a 5xx once).
    await fetch(`${inject('crmUrl')}/__crm/faults`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ kind: 'status', status: 503, method: 'PATCH', path: '/v1/customers', times: 4 }) });
    const marked = (await (await call(`/api/contacts/${LIU_YANG}/tags`, { method: 'POST', body: JSON.stringify({ add: [LEVEL_A], remove: [LEVEL_B] }) })).json()) as TagsBody;
    expect(marked.crm).toMatchObject({ status: 'pending', fields: ['等级'] });
    expect(marked.selected).toContain(LEVEL_A);
    expect(await wecomTags(cookie, LIU_YANG, 'wangwu')).toContain('客户等级/A类客户');

    const adminCall = httpCrm(admin);
    const waiting = (await (await adminCall('/api/admin/tags')).json()) as { pending: Array<{ customerId: string; field: string; value: string; reason: string }> };
    expect(waiting.pending).toMatchObject([{ customerId, field: '等级', value: 'A类客户' }]);
    expect(waiting.pending[0]?.reason).toMatch(/CRM/);

    // Still refusing: the write stays, one attempt more.
    const stillDown = (await (await adminCall('/api/admin/tags/pending/retry', { method: 'POST' })).json()) as { waiting: number; pending: Array<{ attempts: number }> };
    expect(stillDown).toMatchObject({ waiting: 1, pending: [{ attempts: 2 }] });
    const retried = (await (await adminCall('/api/admin/tags/pending/retry', { method: 'POST' })).json()) as { applied: number; pending: unknown[] };
    expect(retried).toMatchObject({ applied: 1, pending: [] });
    const customer = (await (await call(`/api/customers/${customerId}`)).json()) as { customer: { customFields: Record<string, string> } };
    expect(customer.customer.customFields).toEqual({ 等级: 'A类客户' });
  });
});

describe('the tag library', () => {
  beforeEach(reset);

  it('is read again when WeCom announces a change (change_external_tag)', async () => {
    const cookie = await login('wangwu');
    expect((await tagsOf(cookie)).groups[1]?.tags.map((t) => t.name)).toEqual(['展会', '官网', '转介绍']);
    const { event } = (await sim('corp-tags', { action: 'create', groupName: '客户来源', name: '电话' })) as { event: { Id: string } };
    expect((await tagsOf(cookie)).groups[1]?.tags.map((t) => t.name)).not.toContain('电话'); // still the cached copy
    expect((await postCallback(buildEventXml('tag-created', corpId, { id: event.Id }))).status).toBe(200);
    await waitFor(async () => ((await tagsOf(cookie)).groups[1]?.tags.some((t) => t.name === '电话') ? true : undefined));
  });

  it('lets an admin add tags, rename and delete its own, and says so when a tag is not the app’s', async () => {
    const admin = await login('zhangsan');
    const added = await api('/api/admin/tags', admin, { method: 'POST', body: JSON.stringify({ groupName: '跟进阶段', tags: ['初次接触', '已报价'] }) });
    expect(added.status).toBe(201);
    const groups = ((await added.json()) as TagsBody).groups;
    const stage = groups.find((g) => g.name === '跟进阶段');
    expect(stage?.tags.map((t) => t.name)).toEqual(['初次接触', '已报价']);
    const renamed = (await (await api(`/api/admin/tags/${stage!.tags[0]!.id}`, admin, { method: 'PATCH', body: JSON.stringify({ name: '首次接触' }) })).json()) as TagsBody;
    expect(renamed.groups.find((g) => g.name === '跟进阶段')?.tags.map((t) => t.name)).toEqual(['首次接触', '已报价']);
    const deleted = (await (await api(`/api/admin/tags/${stage!.groupId}`, admin, { method: 'DELETE' })).json()) as TagsBody;
    expect(deleted.groups.some((g) => g.name === '跟进阶段')).toBe(false);

    const refused = await api(`/api/admin/tags/${LEVEL_A}`, admin, { method: 'PATCH', body: JSON.stringify({ name: '甲类' }) });
    expect(refused.status).toBe(403);
    expect(await refused.json()).toMatchObject({ error: 'tag_not_editable', errcode: 301002 });
    const tooLong = await api('/api/admin/tags', admin, { method: 'POST', body: JSON.stringify({ groupName: '客户等级', tags: ['长'.repeat(31)] }) });
    expect(await tooLong.json()).toMatchObject({ error: 'too_long' });
  });
});
