import { createExecutionContext, env } from 'cloudflare:test';
import { afterEach, beforeEach, describe, expect, inject, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import { createBuiltinCrm } from '../../worker/crm/builtin.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { profileKey } from '../../worker/contacts/profile.ts';
import { contactEventXml, postCallback, waitFor } from './callback-helpers.ts';
import { api, login, resetIdentity, setRole } from './identity-helpers.ts';
import { sim } from './simulator-control.ts';

const corpId = env.WECOM_CORP_ID!;
const { followedByTwo: CHEN_JING, withoutUnionid: LIU_YANG, weComUser: ZHOU_MIN, partlyHiddenFollowers: HUANG_LEI, onlyHiddenFollower: WU_TING } = demoIds.externalUserIds;
const CHEN_JING_UNIONID = 'oDemoUnionChenJing0000000000001';

interface CustomerBody {
  id: string;
  name: string;
  company: string;
  stage: string;
  version: number;
  mobiles: string[];
  owner: { userid: string } | null;
  full: boolean;
}

interface ContactBody {
  contact: { externalUserId: string; name: string; unionid: string | null };
  followUsers: Array<{ userid: string; name: string; relationship: string }>;
  binding: { customerId: string; boundBy: string } | null;
  customer: CustomerBody | null;
  suggestions: Array<{ customer: CustomerBody; reasons: string[] }>;
  permissions: { canBind: boolean; canEdit: boolean };
}

const crm = () => createBuiltinCrm(env.DB);

async function resetContacts() {
  await resetIdentity();
  await env.DB.batch(
    ['contact_bindings', 'contact_follows', 'touchpoints', 'events', 'crm_customer_mobiles', 'crm_notes', 'crm_history', 'crm_idempotency', 'crm_customers'].map((table) => env.DB.prepare(`DELETE FROM ${table}`)),
  );
  for (const id of Object.values(demoIds.externalUserIds)) await env.KV.delete(profileKey(corpId, id));
}

async function seedCustomer(draft: { name: string; unionid?: string; mobiles?: string[]; ownerUserid?: string }, key: string) {
  return crm().create({ company: '', ...draft }, { corpId, actor: 'test', idempotencyKey: key });
}

async function touchpointKinds(externalUserId: string): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT kind FROM touchpoints WHERE corp_id = ?1 AND external_userid = ?2 ORDER BY id').bind(corpId, externalUserId).all<{ kind: string }>();
  return results.map((row) => row.kind);
}

async function eventApplied(fragment: string) {
  return waitFor(async () => {
    const row = await env.DB.prepare("SELECT status FROM events WHERE dedupe_key LIKE ?1 AND status = 'applied'").bind(`%${fragment}%`).first<{ status: string }>();
    return row ?? undefined;
  });
}

describe('GET /api/contacts/:externalUserId', () => {
  beforeEach(resetContacts);

  it('shows a followed contact with its profile, follow users and ranked suggestions', async () => {
    await seedCustomer({ name: '陈静', unionid: CHEN_JING_UNIONID, ownerUserid: 'wangwu' }, 'seed-union');
    await seedCustomer({ name: '星河陈总', mobiles: ['+86 139-1234-0001'], ownerUserid: 'zhaoliu' }, 'seed-mobile');
    await seedCustomer({ name: '无关客户' }, 'seed-other');
    const cookie = await login('wangwu');
    const response = await api(`/api/contacts/${CHEN_JING}`, cookie);
    expect(response.status).toBe(200);
    const body = (await response.json()) as ContactBody;
    expect(body.contact).toMatchObject({ externalUserId: CHEN_JING, name: '陈静', unionid: CHEN_JING_UNIONID });
    expect(body.followUsers.map((f) => f.userid).sort()).toEqual(['lisi', 'wangwu']);
    expect(body.binding).toBeNull();
    expect(body.suggestions.map((s) => [s.customer.name, s.reasons])).toEqual([
      ['陈静', ['unionid', 'name']],
      // lisi's remark for her is 陈总, which the CRM name contains.
      ['星河陈总', ['mobile', 'name']],
    ]);
    // The mobile match belongs to a colleague's customer: shown as a summary with a masked phone.
    expect(body.suggestions[1]?.customer).toMatchObject({ full: false, mobiles: ['139****0001'] });
    expect(body.permissions).toEqual({ canBind: true, canEdit: false });
  });

  it('answers a contact that is not yours exactly as one that does not exist, without asking WeCom', async () => {
    await api(`/api/contacts/${LIU_YANG}`, await login('wangwu')); // now known, with its follows
    const cookie = await login('zhaoliu');
    await sim('calls/reset', {});
    const notYours = await api(`/api/contacts/${LIU_YANG}`, cookie);
    const calls = (await sim('calls')) as Record<string, number>;
    expect(calls['/cgi-bin/externalcontact/get']).toBeUndefined();
    const unknown = await api(`/api/contacts/${demoIds.unknownExternalUserId}`, cookie);
    expect(notYours.status).toBe(404);
    expect(unknown.status).toBe(404);
    const body = await notYours.json();
    expect(body).toMatchObject({ error: 'contact_not_found' });
    expect(await unknown.json()).toEqual(body);
  });

  it('lets a manager see contacts followed in their departments, and an admin everything', async () => {
    await login('wangwu'); // known to this product, in lisi's department
    const manager = await login('lisi');
    await setRole('lisi', 'manager');
    expect((await api(`/api/contacts/${LIU_YANG}`, manager)).status).toBe(200);
    expect((await api(`/api/contacts/${ZHOU_MIN}`, manager)).status).toBe(404); // zhaoliu is not known to this product yet
    await login('zhaoliu'); // in departments 4 and 3
    expect((await api(`/api/contacts/${ZHOU_MIN}`, manager)).status).toBe(200);
    expect((await api(`/api/contacts/${ZHOU_MIN}`, await login('zhangsan'))).status).toBe(200);
  });

  it('answers 404 for a contact WeCom does not know, and 400 for a malformed id', async () => {
    const cookie = await login('zhangsan');
    const unknown = await api(`/api/contacts/${demoIds.unknownExternalUserId}`, cookie);
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toMatchObject({ error: 'contact_not_found' });
    for (const bad of ['bad%20id', '-dash-first', '%252E%252E']) {
      const response = await api(`/api/contacts/${bad}`, cookie);
      expect(response.status, bad).toBe(400);
      expect(await response.json()).toMatchObject({ error: 'bad_request' });
    }
    expect((await api(`/api/contacts/${WU_TING}`, cookie)).status).toBe(404);
  });

  it('passes on the admin hint when the app lacks the customer-contact permission', async () => {
    const cookie = await login('wangwu');
    await sim('mode', { noContactPermission: true });
    const response = await api(`/api/contacts/${LIU_YANG}`, cookie);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { error: string; errcode: number; hint: string };
    expect(body.error).toBe('wecom_48002');
    expect(body.hint).toContain('可调用接口的应用');
  });

  it('refuses without a session', async () => {
    expect((await api(`/api/contacts/${LIU_YANG}`, '')).status).toBe(401);
  });
});

describe('binding a contact', () => {
  beforeEach(resetContacts);

  it('binds, shows the customer, and unbinds, with touchpoints for both', async () => {
    const customer = await seedCustomer({ name: '刘洋', ownerUserid: 'wangwu' }, 'seed-bind');
    const cookie = await login('wangwu');
    const bound = await api(`/api/contacts/${LIU_YANG}/binding`, cookie, { method: 'PUT', body: JSON.stringify({ customerId: customer.id }) });
    expect(bound.status).toBe(200);
    const view = (await (await api(`/api/contacts/${LIU_YANG}`, cookie)).json()) as ContactBody;
    expect(view.binding).toMatchObject({ customerId: customer.id, boundBy: 'wangwu' });
    expect(view.customer).toMatchObject({ id: customer.id, name: '刘洋', full: true });
    expect(view.permissions).toEqual({ canBind: true, canEdit: true });

    const unbound = await api(`/api/contacts/${LIU_YANG}/binding`, cookie, { method: 'DELETE' });
    expect(unbound.status).toBe(200);
    expect(((await (await api(`/api/contacts/${LIU_YANG}`, cookie)).json()) as ContactBody).binding).toBeNull();
    expect(await touchpointKinds(LIU_YANG)).toEqual(['bound', 'unbound']);
    expect((await api(`/api/contacts/${LIU_YANG}/binding`, cookie, { method: 'DELETE' })).status).toBe(404);
  });

  it('refuses binding for a viewer, for an unknown customer and for a malformed body', async () => {
    const customer = await seedCustomer({ name: '刘洋' }, 'seed-refuse');
    await login('wangwu');
    const manager = await login('lisi');
    await setRole('lisi', 'manager');
    expect((await api(`/api/contacts/${LIU_YANG}/binding`, manager, { method: 'PUT', body: JSON.stringify({ customerId: 'cus_nope' }) })).status).toBe(404);
    expect((await api(`/api/contacts/${LIU_YANG}/binding`, manager, { method: 'PUT', body: '{"customerId": 5}' })).status).toBe(400);
    expect((await api(`/api/contacts/${LIU_YANG}/binding`, manager, { method: 'PUT', body: 'not json' })).status).toBe(400);
    const stranger = await login('zhaoliu');
    expect((await api(`/api/contacts/${LIU_YANG}/binding`, stranger, { method: 'PUT', body: JSON.stringify({ customerId: customer.id }) })).status).toBe(404);
    for (const customerId of ['.', '..', '../admin', '', 'a/b']) {
      const response = await api(`/api/contacts/${LIU_YANG}/binding`, manager, { method: 'PUT', body: JSON.stringify({ customerId }) });
      expect(response.status, customerId).toBe(400);
    }
    expect(await touchpointKinds(LIU_YANG)).toEqual([]);
  });

  it('creates a basic customer from the profile and binds it, once per idempotency key', async () => {
    const cookie = await login('wangwu');
    const headers = { 'idempotency-key': 'create-chen-jing-1' };
    const first = await api(`/api/contacts/${CHEN_JING}/customer`, cookie, { method: 'POST', headers, body: '{}' });
    expect(first.status).toBe(201);
    const created = (await first.json()) as { customer: CustomerBody; binding: { customerId: string } };
    expect(created.customer).toMatchObject({ name: '陈静', stage: 'lead', owner: { userid: 'wangwu' } });
    expect(created.customer.mobiles).toContain('13912340001');
    expect(created.binding.customerId).toBe(created.customer.id);
    const again = await api(`/api/contacts/${CHEN_JING}/customer`, cookie, { method: 'POST', headers, body: '{}' });
    expect(again.status).toBe(409);
    expect(await crm().find(corpId, { text: '陈静' })).toHaveLength(1);
  });
});

describe('what a binding grants', () => {
  beforeEach(resetContacts);

  const bind = (cookie: string, contact: string, customerId: string) =>
    api(`/api/contacts/${contact}/binding`, cookie, { method: 'PUT', body: JSON.stringify({ customerId }) });

  it("refuses to link a colleague's customer by hand, names who can, and grants nothing", async () => {
    const theirs = await seedCustomer({ name: '赵六的大客户', ownerUserid: 'zhaoliu', mobiles: ['13712340002'] }, 'seed-theirs');
    await login('zhaoliu');
    await login('zhangsan');
    await login('lisi');
    await setRole('lisi', 'manager'); // manager of 华东销售部, one of zhaoliu's departments
    const cookie = await login('wangwu');
    // The search shows it as a summary, which is all it takes to know the id.
    const search = (await (await api(`/api/customers?q=${encodeURIComponent('赵六的大客户')}`, cookie)).json()) as { customers: CustomerBody[] };
    expect(search.customers).toEqual([expect.objectContaining({ id: theirs.id, full: false })]);

    const refused = await bind(cookie, LIU_YANG, theirs.id);
    expect(refused.status).toBe(403);
    const body = (await refused.json()) as { error: string; message: string; owner: unknown; canLink: Array<{ userid: string; role: string }> };
    expect(body.error).toBe('customer_not_yours');
    expect(body.owner).toEqual({ userid: 'zhaoliu', name: '赵六' });
    expect(body.canLink).toEqual([
      { userid: 'zhaoliu', name: '赵六', role: 'owner' },
      { userid: 'lisi', name: '李四', role: 'manager' },
      { userid: 'zhangsan', name: '张三', role: 'admin' },
    ]);
    expect(body.message).toContain('赵六');
    expect(JSON.stringify(body)).not.toContain('13712340002');

    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM contact_bindings').first('n')).toBe(0);
    for (const path of [`/api/customers/${theirs.id}`, `/api/customers/${theirs.id}/notes`, `/api/customers/${theirs.id}/timeline`]) {
      expect((await api(path, cookie)).status, path).toBe(403);
    }
    const patch = await api(`/api/customers/${theirs.id}`, cookie, { method: 'PATCH', headers: { 'if-match': `"${theirs.version}"` }, body: '{"stage":"lost"}' });
    expect(patch.status).toBe(403);
    expect((await crm().get(corpId, theirs.id))?.stage).toBe(theirs.stage);
  });

  it('lets a manager of the owner link it, and then the follower collaborates', async () => {
    const theirs = await seedCustomer({ name: '赵六的大客户', ownerUserid: 'zhaoliu' }, 'seed-theirs-2');
    await login('zhaoliu');
    const wangwu = await login('wangwu');
    const manager = await login('lisi');
    await setRole('lisi', 'manager');
    // lisi follows 陈静 with wangwu, and her scope covers zhaoliu's customers.
    expect((await bind(manager, CHEN_JING, theirs.id)).status).toBe(200);
    expect((await api(`/api/customers/${theirs.id}`, wangwu)).status).toBe(200);
    const view = (await (await api(`/api/contacts/${CHEN_JING}`, wangwu)).json()) as ContactBody;
    expect(view.customer).toMatchObject({ id: theirs.id, full: true });
    expect(view.permissions.canEdit).toBe(true);
  });

  it('accepts a link WeCom vouches for: the same unionid', async () => {
    const theirs = await seedCustomer({ name: '陈静', ownerUserid: 'zhaoliu', unionid: CHEN_JING_UNIONID }, 'seed-union-theirs');
    const cookie = await login('wangwu');
    const bound = await bind(cookie, CHEN_JING, theirs.id);
    expect(bound.status).toBe(200);
    expect(((await bound.json()) as { customer: CustomerBody }).customer).toMatchObject({ id: theirs.id, full: true });
    expect((await api(`/api/customers/${theirs.id}/notes`, cookie)).status).toBe(200);
  });

  it("does not bind a new contact to a colleague's customer on a remark mobile, but does to the member's own", async () => {
    // wangwu's remark for 刘洋 carries 13712340002.
    const theirs = await seedCustomer({ name: '另一个刘洋', ownerUserid: 'zhaoliu', mobiles: ['13712340002'] }, 'seed-mobile-theirs');
    const createTime = Math.floor(Date.now() / 1000);
    await postCallback(contactEventXml({ changeType: 'add_external_contact', userId: 'wangwu', externalUserId: LIU_YANG, createTime }));
    await eventApplied(LIU_YANG);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM contact_bindings').first('n')).toBe(0);
    expect(await crm().find(corpId, { text: '刘洋' })).toEqual([expect.objectContaining({ id: theirs.id })]); // nothing created either
    const cookie = await login('wangwu');
    expect((await api(`/api/customers/${theirs.id}`, cookie)).status).toBe(403);
    const view = (await (await api(`/api/contacts/${LIU_YANG}`, cookie)).json()) as ContactBody;
    expect(view.suggestions).toEqual([expect.objectContaining({ customer: expect.objectContaining({ id: theirs.id, full: false }), reasons: expect.arrayContaining(['mobile']) })]);

    await resetContacts();
    const own = await seedCustomer({ name: '刘洋', ownerUserid: 'wangwu', mobiles: ['13712340002'] }, 'seed-mobile-own');
    await postCallback(contactEventXml({ changeType: 'add_external_contact', userId: 'wangwu', externalUserId: LIU_YANG, createTime: createTime + 1 }));
    await eventApplied(LIU_YANG);
    const binding = await env.DB.prepare('SELECT customer_id FROM contact_bindings WHERE external_userid = ?1').bind(LIU_YANG).first<{ customer_id: string }>();
    expect(binding?.customer_id).toBe(own.id);
  });
});

describe('customers', () => {
  beforeEach(resetContacts);

  it('edits with If-Match, refuses a stale version with 412 and the current record, and keeps the newer write', async () => {
    const customer = await seedCustomer({ name: '黄磊', ownerUserid: 'zhaoliu' }, 'seed-edit');
    const cookie = await login('zhaoliu');
    const patch = (version: number, body: unknown) =>
      api(`/api/customers/${customer.id}`, cookie, { method: 'PATCH', headers: { 'if-match': `"${version}"` }, body: JSON.stringify(body) });
    const first = await patch(customer.version, { stage: 'qualified', company: '黄氏贸易' });
    expect(first.status).toBe(200);
    const updated = ((await first.json()) as { customer: CustomerBody }).customer;
    expect(updated).toMatchObject({ stage: 'qualified', company: '黄氏贸易', version: customer.version + 1 });

    const stale = await patch(customer.version, { stage: 'lost' });
    expect(stale.status).toBe(412);
    const conflict = (await stale.json()) as { error: string; current: CustomerBody };
    expect(conflict.error).toBe('version_conflict');
    expect(conflict.current).toMatchObject({ stage: 'qualified', version: updated.version });
    expect((await crm().get(corpId, customer.id))?.stage).toBe('qualified');

    const missing = await api(`/api/customers/${customer.id}`, cookie, { method: 'PATCH', body: '{"stage":"won"}' });
    expect(missing.status).toBe(428);
    expect((await patch(updated.version, { owner: 'me' })).status).toBe(400);
    expect((await patch(updated.version, { stage: 'maybe' })).status).toBe(400);
  });

  it('adds notes and shows them with the touchpoints on the timeline, newest first', async () => {
    const customer = await seedCustomer({ name: '刘洋', ownerUserid: 'wangwu' }, 'seed-notes');
    const cookie = await login('wangwu');
    await api(`/api/contacts/${LIU_YANG}/binding`, cookie, { method: 'PUT', body: JSON.stringify({ customerId: customer.id }) });
    const note = await api(`/api/customers/${customer.id}/notes`, cookie, { method: 'POST', body: JSON.stringify({ body: '约了周五看样品' }) });
    expect(note.status).toBe(201);
    const notes = (await (await api(`/api/customers/${customer.id}/notes`, cookie)).json()) as { notes: Array<{ body: string; author: { userid: string; name: string } }> };
    expect(notes.notes).toEqual([expect.objectContaining({ body: '约了周五看样品', author: { userid: 'wangwu', name: '王五' } })]);
    const timeline = (await (await api(`/api/customers/${customer.id}/timeline`, cookie)).json()) as { items: Array<{ kind: string; at: number }> };
    expect(timeline.items.map((item) => item.kind)).toEqual(expect.arrayContaining(['note', 'bound', 'customer_created']));
    const times = timeline.items.map((item) => item.at);
    expect(times).toEqual([...times].sort((a, b) => b - a));
    expect((await api(`/api/customers/${customer.id}/notes`, cookie, { method: 'POST', body: '{"body":""}' })).status).toBe(400);
  });

  it("refuses a sales member another's customer, but shows it in search as a summary", async () => {
    const customer = await seedCustomer({ name: '周敏', ownerUserid: 'zhaoliu', mobiles: ['13512340004'] }, 'seed-scope');
    const cookie = await login('wangwu');
    expect((await api(`/api/customers/${customer.id}`, cookie)).status).toBe(403);
    expect((await api(`/api/customers/${customer.id}/timeline`, cookie)).status).toBe(403);
    const search = (await (await api(`/api/customers?q=${encodeURIComponent('周敏')}`, cookie)).json()) as { customers: CustomerBody[] };
    expect(search.customers).toEqual([expect.objectContaining({ id: customer.id, full: false, mobiles: ['135****0004'] })]);
    expect((await api(`/api/customers/${customer.id}`, await login('zhaoliu'))).status).toBe(200);
  });

  it('lets a viewer read but not write', async () => {
    const customer = await seedCustomer({ name: '孙七的客户', ownerUserid: 'sunqi' }, 'seed-viewer');
    const cookie = await login('sunqi');
    await setRole('sunqi', 'viewer');
    expect((await api(`/api/customers/${customer.id}`, cookie)).status).toBe(200);
    const write = await api(`/api/customers/${customer.id}/notes`, cookie, { method: 'POST', body: '{"body":"hi"}' });
    expect(write.status).toBe(403);
  });
});

describe('GET /api/chats/:chatId', () => {
  beforeEach(resetContacts);

  it("lists the group's members with the binding status of each external one", async () => {
    const customer = await seedCustomer({ name: '陈静', ownerUserid: 'wangwu' }, 'seed-chat');
    const cookie = await login('wangwu');
    await api(`/api/contacts/${CHEN_JING}/binding`, cookie, { method: 'PUT', body: JSON.stringify({ customerId: customer.id }) });
    const response = await api(`/api/chats/${demoIds.chatId}`, cookie);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { members: Array<{ type: string; id: string; binding: unknown; customerName: string | null }> };
    expect(body.members.find((m) => m.id === CHEN_JING)).toMatchObject({ type: 'external', binding: { customerId: customer.id }, customerName: '陈静' });
    expect(body.members.find((m) => m.id === demoIds.externalUserIds.groupGuest)).toMatchObject({ type: 'external', binding: null });
  });
});

describe('GET /api/chats/:chatId for someone not in it', () => {
  beforeEach(resetContacts);

  it('answers a chat that is not yours exactly as one that does not exist', async () => {
    const cookie = await login('zhaoliu');
    const notYours = await api(`/api/chats/${demoIds.chatId}`, cookie);
    const unknown = await api('/api/chats/wrDemoNoSuchChat000000000000099', cookie);
    expect(notYours.status).toBe(404);
    expect(unknown.status).toBe(404);
    const body = await notYours.json();
    expect(body).toMatchObject({ error: 'chat_not_found' });
    expect(await unknown.json()).toEqual(body);
  });
});

describe('change_external_contact events', () => {
  beforeEach(resetContacts);

  it('binds a new contact automatically when exactly one customer has its unionid', async () => {
    const customer = await seedCustomer({ name: '陈静 (CRM)', unionid: CHEN_JING_UNIONID }, 'seed-auto');
    const createTime = Math.floor(Date.now() / 1000);
    expect((await postCallback(contactEventXml({ changeType: 'add_external_contact', userId: 'wangwu', externalUserId: CHEN_JING, createTime }))).status).toBe(200);
    await eventApplied(CHEN_JING);
    const binding = await env.DB.prepare('SELECT customer_id, bound_by FROM contact_bindings WHERE external_userid = ?1').bind(CHEN_JING).first<{ customer_id: string; bound_by: string }>();
    expect(binding).toEqual({ customer_id: customer.id, bound_by: 'system:auto' });
    expect(await touchpointKinds(CHEN_JING)).toEqual(['contact_added', 'bound']);
  });

  it('creates a basic customer owned by the member when nothing matches', async () => {
    const createTime = Math.floor(Date.now() / 1000);
    await postCallback(contactEventXml({ changeType: 'add_external_contact', userId: 'zhaoliu', externalUserId: ZHOU_MIN, createTime }));
    await eventApplied(ZHOU_MIN);
    const [created] = await crm().find(corpId, { text: '周敏' });
    expect(created).toMatchObject({ ownerUserid: 'zhaoliu', stage: 'lead' });
    const binding = await env.DB.prepare('SELECT customer_id FROM contact_bindings WHERE external_userid = ?1').bind(ZHOU_MIN).first<{ customer_id: string }>();
    expect(binding?.customer_id).toBe(created?.id);
  });

  it('produces one touchpoint per event kind, ends relationships, and changes nothing when an event is replayed', async () => {
    const base = Math.floor(Date.now() / 1000);
    const events = [
      ['add_external_contact', 'contact_added'],
      ['edit_external_contact', 'contact_edited'],
      ['del_follow_user', 'follow_user_deleted'],
      ['del_external_contact', 'contact_deleted'],
    ] as const;
    for (const [index, [changeType]] of events.entries()) {
      await postCallback(contactEventXml({ changeType, userId: 'zhaoliu', externalUserId: HUANG_LEI, createTime: base + index }));
    }
    await waitFor(async () => {
      const row = await env.DB.prepare("SELECT COUNT(*) AS n FROM events WHERE dedupe_key LIKE ?1 AND status = 'applied'").bind(`%${HUANG_LEI}%`).first<{ n: number }>();
      return row?.n === 4 ? row : undefined;
    });
    const kinds = await touchpointKinds(HUANG_LEI);
    expect(kinds.filter((kind) => kind !== 'bound')).toEqual(events.map(([, kind]) => kind));
    const follow = await env.DB.prepare("SELECT state FROM contact_follows WHERE external_userid = ?1 AND userid = 'zhaoliu'").bind(HUANG_LEI).first<{ state: string }>();
    expect(follow?.state).toBe('ended');

    // Replays: WeCom's retries are deduplicated at the door; a queue redelivery meets idempotent handlers.
    for (const [index, [changeType]] of events.entries()) {
      await postCallback(contactEventXml({ changeType, userId: 'zhaoliu', externalUserId: HUANG_LEI, createTime: base + index }));
    }
    const { handlers } = await import('../../worker/events/handlers.ts');
    const { consumeEvents } = await import('../../worker/events/consumer.ts');
    const { createMessageBatch, createExecutionContext, getQueueResult } = await import('cloudflare:test');
    const { results } = await env.DB.prepare('SELECT id FROM events WHERE dedupe_key LIKE ?1').bind(`%${HUANG_LEI}%`).all<{ id: number }>();
    await env.DB.prepare("UPDATE events SET status = 'received' WHERE dedupe_key LIKE ?1").bind(`%${HUANG_LEI}%`).run();
    const batch = createMessageBatch('wecom-events', results.map((row) => ({ id: `replay-${row.id}`, timestamp: new Date(), attempts: 2, body: { eventId: row.id } })));
    await consumeEvents(batch as MessageBatch<{ eventId: number }>, env, handlers);
    await getQueueResult(batch, createExecutionContext());
    expect(await touchpointKinds(HUANG_LEI)).toEqual(kinds);
    expect(await crm().find(corpId, { text: '黄磊' })).toHaveLength(1);
  });
});

describe('reconciliation', () => {
  beforeEach(resetContacts);

  it('repairs a contact whose add event was never delivered, and reports the run', async () => {
    const cookie = await login('zhangsan');
    const started = await api('/api/admin/reconcile', cookie, { method: 'POST' });
    expect(started.status).toBe(202);
    const { run } = (await started.json()) as { run: { id: number } };
    const finished = await waitFor(async () => {
      const body = (await (await api(`/api/admin/reconcile/${run.id}`, cookie)).json()) as { run: { status: string; followsAdded: number; bindingsAdded: number; failed: number } };
      return body.run.status === 'running' ? undefined : body.run;
    }, 20_000);
    expect(finished).toMatchObject({ status: 'succeeded', failed: 0 });
    expect(finished.followsAdded).toBeGreaterThanOrEqual(5);
    expect(await touchpointKinds(LIU_YANG)).toEqual(['contact_added', 'bound']);
    const follow = await env.DB.prepare("SELECT state FROM contact_follows WHERE external_userid = ?1 AND userid = 'wangwu'").bind(LIU_YANG).first<{ state: string }>();
    expect(follow?.state).toBe('active');

    // A relationship D1 believes in but WeCom no longer lists is ended on the next run.
    await env.DB.prepare("INSERT INTO contact_follows (corp_id, external_userid, userid, state, updated_at) VALUES (?1, 'wmGoneContact', 'wangwu', 'active', 0)").bind(corpId).run();
    const second = await api('/api/admin/reconcile', cookie, { method: 'POST' });
    const secondRun = ((await second.json()) as { run: { id: number } }).run;
    const done = await waitFor(async () => {
      const body = (await (await api(`/api/admin/reconcile/${secondRun.id}`, cookie)).json()) as { run: { status: string; followsAdded: number; followsEnded: number } };
      return body.run.status === 'running' ? undefined : body.run;
    }, 20_000);
    expect(done).toMatchObject({ status: 'succeeded', followsAdded: 0, followsEnded: 1 });
  });
});

describe('with the company CRM over HTTP', () => {
  beforeEach(async () => {
    await resetContacts();
    await fetch(`${inject('crmUrl')}/__crm/reset`, { method: 'POST' });
  });
  // A fault a test armed but did not use up would stall the next file's first CRM call.
  afterEach(async () => {
    await fetch(`${inject('crmUrl')}/__crm/reset`, { method: 'POST' });
  });

  function httpCrmApp(baseUrl: string, timeoutMs = 5000) {
    const app = createApp();
    const httpEnv = { ...env, CRM: 'http', CRM_BASE_URL: baseUrl, CRM_API_TOKEN: inject('crmToken'), CRM_TIMEOUT_MS: String(timeoutMs) };
    const sameOrigin = { origin: 'http://127.0.0.1:8787', 'content-type': 'application/json' };
    return (path: string, cookie: string, init: RequestInit = {}) =>
      Promise.resolve(
        app.request(`http://127.0.0.1:8787${path}`, { ...init, headers: { ...sameOrigin, ...(init.headers as Record<string, string>), cookie } }, httpEnv, createExecutionContext()),
      );
  }

  it('creates and binds through the HTTP CRM', async () => {
    const cookie = await login('wangwu');
    const call = httpCrmApp(inject('crmUrl'));
    const created = await call(`/api/contacts/${LIU_YANG}/customer`, cookie, { method: 'POST', body: '{}', headers: { 'idempotency-key': 'http-create-0001' } });
    expect(created.status).toBe(201);
    const body = (await created.json()) as { customer: CustomerBody };
    const view = (await (await call(`/api/contacts/${LIU_YANG}`, cookie)).json()) as ContactBody;
    expect(view.customer?.id).toBe(body.customer.id);
  });

  it('never sends . or .. to the CRM as a customer id', async () => {
    const cookie = await login('wangwu');
    const call = httpCrmApp(inject('crmUrl'));
    const responses = [
      await call('/api/customers/%2E%2E', cookie),
      await call('/api/customers/x/%2E%2E/%2E%2E/timeline', cookie),
      await call(`/api/contacts/${LIU_YANG}/binding`, cookie, { method: 'PUT', body: JSON.stringify({ customerId: '..' }) }),
    ];
    // In a path, URL parsing already resolves %2E segments (so no route matches); in a body, the id pattern refuses them.
    expect(responses.map((r) => r.status)).toEqual([404, 404, 400]);
    const { calls } = (await (await fetch(`${inject('crmUrl')}/__crm/calls`)).json()) as { calls: unknown[] };
    expect(calls, JSON.stringify(calls)).toEqual([]);
  });

  it('answers 502 with what failed when the CRM is down, and leaves no binding behind', async () => {
    const cookie = await login('wangwu');
    const response = await httpCrmApp(inject('crmDownUrl'))(`/api/contacts/${LIU_YANG}/customer`, cookie, { method: 'POST', body: '{}' });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: string; operation: string; message: string };
    expect(body.error).toBe('crm_unreachable');
    expect(body.message).toMatch(/CRM/);
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM contact_bindings').first('n')).toBe(0);
    expect(await touchpointKinds(LIU_YANG)).toEqual([]);
  });

  it('answers 504 when the CRM is too slow, and leaves no binding behind', async () => {
    const cookie = await login('wangwu');
    await fetch(`${inject('crmUrl')}/__crm/faults`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ kind: 'hang', times: 2, method: 'POST', path: '/v1/customers', phase: 'before', delayMs: 2000 }),
    });
    const response = await httpCrmApp(inject('crmUrl'), 300)(`/api/contacts/${LIU_YANG}/customer`, cookie, { method: 'POST', body: '{}' });
    expect(response.status).toBe(504);
    expect(await response.json()).toMatchObject({ error: 'crm_timeout' });
    expect(await env.DB.prepare('SELECT COUNT(*) AS n FROM contact_bindings').first('n')).toBe(0);
  });
});
