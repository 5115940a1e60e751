/**
 * @module
 * Corp tags in the simulator: marking a relationship, the library's writes with who may make them,
 * and the admin console's edits (docs/wecom.md §7.1).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoApp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { buildEventXml } from '../../dev/simulator/events.ts';
import { startSimulator, type RunningSimulator } from '../../dev/simulator/server.ts';

interface WeComBody {
  errcode: number;
  errmsg: string;
  [field: string]: unknown;
}

interface FollowTag {
  group_name: string;
  tag_name: string;
  tag_id?: string;
  type: number;
}

let sim: RunningSimulator;
let token: string;

const { withoutUnionid: LIU_YANG, followedByTwo: CHEN_JING } = demoIds.externalUserIds;
const LEVEL_A = 'etDemoTagLevelA00000000000000001';
const LEVEL_B = 'etDemoTagLevelB00000000000000001';
const SOURCE_WEB = 'etDemoTagSourceWeb00000000000001';
const LEVEL_GROUP = 'etDemoGroupLevel0000000000000001';

async function wecomPost(path: string, body: unknown): Promise<WeComBody> {
  const response = await fetch(`${sim.url}/cgi-bin/${path}?access_token=${token}`, { method: 'POST', body: JSON.stringify(body) });
  return (await response.json()) as WeComBody;
}

async function control(path: string, body: unknown = {}): Promise<Response> {
  return fetch(`${sim.url}/__sim/${path}`, { method: 'POST', body: JSON.stringify(body) });
}

async function tagsOf(externalUserId: string, userid: string): Promise<FollowTag[]> {
  const response = await fetch(`${sim.url}/cgi-bin/externalcontact/get?access_token=${token}&external_userid=${externalUserId}`);
  const body = (await response.json()) as { follow_user: Array<{ userid: string; tags: FollowTag[] }> };
  return body.follow_user.find((f) => f.userid === userid)?.tags ?? [];
}

async function library(): Promise<Array<{ group_id: string; group_name: string; tag: Array<{ id: string; name: string }> }>> {
  return (await wecomPost('externalcontact/get_corp_tag_list', {})).tag_group as Array<{ group_id: string; group_name: string; tag: Array<{ id: string; name: string }> }>;
}

beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await control('reset', { forgetTokens: true });
  const body = (await (await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`)).json()) as WeComBody;
  token = String(body.access_token);
});

describe('externalcontact/mark_tag', () => {
  it("marks and unmarks corp tags on that member's relationship only, which externalcontact/get then shows", async () => {
    const marked = await wecomPost('externalcontact/mark_tag', { userid: 'wangwu', external_userid: CHEN_JING, add_tag: [SOURCE_WEB], remove_tag: [LEVEL_A] });
    expect(marked.errcode).toBe(0);
    const mine = await tagsOf(CHEN_JING, 'wangwu');
    expect(mine.map((t) => t.tag_name)).toEqual(['展会', '企业版', '重点跟进', '官网']);
    expect(mine.find((t) => t.tag_id === SOURCE_WEB)).toEqual({ group_name: '客户来源', tag_name: '官网', tag_id: SOURCE_WEB, type: 1 });
    // lisi's relationship with the same customer keeps its own tags.
    expect((await tagsOf(CHEN_JING, 'lisi')).map((t) => t.tag_name)).toEqual(['A类客户']);
  });

  it('refuses a member who does not follow the customer (84061), an unknown tag id (40068) and an empty change (40058)', async () => {
    expect((await wecomPost('externalcontact/mark_tag', { userid: 'zhaoliu', external_userid: LIU_YANG, add_tag: [LEVEL_A] })).errcode).toBe(84061);
    const unknown = await wecomPost('externalcontact/mark_tag', { userid: 'wangwu', external_userid: LIU_YANG, add_tag: [LEVEL_A, 'stPersonalTagOfWangwu000000001'] });
    expect(unknown.errcode).toBe(40068);
    expect((await wecomPost('externalcontact/mark_tag', { userid: 'wangwu', external_userid: LIU_YANG, add_tag: [], remove_tag: [] })).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/mark_tag', { userid: 'wangwu', external_userid: demoIds.unknownExternalUserId, add_tag: [LEVEL_A] })).errcode).toBe(40096);
    // A refused call changes nothing, not even its valid part.
    expect((await tagsOf(LIU_YANG, 'wangwu')).map((t) => t.tag_name)).toEqual(['B类客户', '官网']);
  });

  it('answers 48002 when the app is not allowed to call customer-contact APIs', async () => {
    await control('mode', { noContactPermission: true });
    expect((await wecomPost('externalcontact/mark_tag', { userid: 'wangwu', external_userid: LIU_YANG, add_tag: [LEVEL_A] })).errcode).toBe(48002);
  });
});

describe('the tag library', () => {
  it('adds a group with tags, which the app may then rename and delete', async () => {
    const added = await wecomPost('externalcontact/add_corp_tag', { group_name: '客户等级2', tag: [{ name: '金牌' }, { name: '银牌' }] });
    expect(added.errcode).toBe(0);
    const group = added.tag_group as { group_id: string; group_name: string; tag: Array<{ id: string; name: string }> };
    expect(group.tag.map((t) => t.name)).toEqual(['金牌', '银牌']);
    const [gold, silver] = group.tag;
    expect((await wecomPost('externalcontact/edit_corp_tag', { id: gold!.id, name: '白金' })).errcode).toBe(0);
    expect((await library()).find((g) => g.group_id === group.group_id)?.tag.map((t) => t.name)).toEqual(['白金', '银牌']);
    expect((await wecomPost('externalcontact/del_corp_tag', { tag_id: [gold!.id, silver!.id] })).errcode).toBe(0);
    // Deleting every tag of a group deletes the group.
    expect((await library()).some((g) => g.group_id === group.group_id)).toBe(false);
  });

  it('adds tags to an existing group by id, refusing a name the group already has (40071)', async () => {
    const added = await wecomPost('externalcontact/add_corp_tag', { group_id: LEVEL_GROUP, tag: [{ name: 'D类客户' }] });
    expect(added.errcode).toBe(0);
    expect((await library()).find((g) => g.group_id === LEVEL_GROUP)?.tag.map((t) => t.name)).toContain('D类客户');
    expect((await wecomPost('externalcontact/add_corp_tag', { group_id: LEVEL_GROUP, tag: [{ name: 'A类客户' }] })).errcode).toBe(40071);
    expect((await wecomPost('externalcontact/add_corp_tag', { group_id: 'etNoSuchGroup', tag: [{ name: 'x' }] })).errcode).toBe(40068);
    expect((await wecomPost('externalcontact/add_corp_tag', { group_name: '空组', tag: [] })).errcode).toBe(40058);
    expect((await wecomPost('externalcontact/add_corp_tag', { group_name: '长', tag: [{ name: '长'.repeat(31) }] })).errcode).toBe(40058);
  });

  it("refuses to edit or delete tags and groups the app did not create (301002), changing nothing", async () => {
    expect((await wecomPost('externalcontact/edit_corp_tag', { id: LEVEL_A, name: '甲类' })).errcode).toBe(301002);
    expect((await wecomPost('externalcontact/edit_corp_tag', { id: LEVEL_GROUP, name: '等级' })).errcode).toBe(301002);
    expect((await wecomPost('externalcontact/del_corp_tag', { tag_id: [LEVEL_B] })).errcode).toBe(301002);
    expect((await wecomPost('externalcontact/del_corp_tag', { group_id: [LEVEL_GROUP] })).errcode).toBe(301002);
    expect((await wecomPost('externalcontact/edit_corp_tag', { id: 'etNoSuchTag', name: 'x' })).errcode).toBe(40068);
    expect((await library()).find((g) => g.group_id === LEVEL_GROUP)?.tag.map((t) => t.name)).toEqual(['A类客户', 'B类客户', 'C类客户']);
  });
});

describe('the admin console (/__sim/corp-tags)', () => {
  it('deletes a tag from the library and from every customer, and names the callback to send', async () => {
    const response = await control('corp-tags', { action: 'delete', id: LEVEL_A });
    expect(response.status).toBe(200);
    const { event } = (await response.json()) as { event: { Id: string; TagType: string; ChangeType: string } };
    expect(event).toEqual({ Id: LEVEL_A, TagType: 'tag', ChangeType: 'delete' });
    expect((await tagsOf(CHEN_JING, 'lisi')).map((t) => t.tag_name)).toEqual([]);
    const xml = buildEventXml('tag-deleted', demoIds.corpId, { id: event.Id });
    expect(xml).toContain('<Event><![CDATA[change_external_tag]]></Event>');
    expect(xml).toContain(`<Id><![CDATA[${LEVEL_A}]]></Id>`);
    expect(xml).toContain('<ChangeType><![CDATA[delete]]></ChangeType>');
  });

  it('creates a tag the app may use for marking but not edit', async () => {
    const { event } = (await (await control('corp-tags', { action: 'create', groupName: '客户来源', name: '电话' })).json()) as { event: { Id: string } };
    expect((await wecomPost('externalcontact/mark_tag', { userid: 'wangwu', external_userid: LIU_YANG, add_tag: [event.Id] })).errcode).toBe(0);
    expect((await tagsOf(LIU_YANG, 'wangwu')).map((t) => t.tag_name)).toContain('电话');
    expect((await wecomPost('externalcontact/edit_corp_tag', { id: event.Id, name: '电话咨询' })).errcode).toBe(301002);
  });
});
