/**
 * @module
 * The remark, description and remark mobiles of the member's own relationship, written to WeCom
 * (`externalcontact/remark`, the simulator) from the sidebar: limits checked first, WeCom's
 * refusals said plainly, the cached profile refreshed and the change on the timeline.
 */
import { env } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { profileKey } from '../../worker/contacts/profile.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { waitFor } from './callback-helpers.ts';
import { api, login, resetIdentity } from './identity-helpers.ts';
import { calls, sim, simBase } from './simulator-control.ts';
import { demoApp } from '../../dev/fixtures/demo-corp.ts';

const corpId = env.WECOM_CORP_ID!;
const { withoutUnionid: LIU_YANG, followedByTwo: CHEN_JING } = demoIds.externalUserIds;

interface FollowBody {
  userid: string;
  remark: string;
  description: string;
  remarkMobiles: string[];
}

async function reset() {
  await resetIdentity();
  await env.DB.batch(['contact_bindings', 'contact_follows', 'touchpoints'].map((table) => env.DB.prepare(`DELETE FROM ${table}`)));
  for (const id of Object.values(demoIds.externalUserIds)) await env.KV.delete(profileKey(corpId, id));
}

const edit = (cookie: string, body: unknown, contact: string = LIU_YANG) => api(`/api/contacts/${contact}/remark`, cookie, { method: 'PATCH', body: JSON.stringify(body), headers: { 'idempotency-key': `remark-${crypto.randomUUID()}` } });

/** What WeCom itself shows on wangwu's relationship: the worker's cached copy dropped first. */
async function inWeCom(cookie: string, contact: string = LIU_YANG): Promise<FollowBody | undefined> {
  await env.KV.delete(profileKey(corpId, contact));
  const body = (await (await api(`/api/contacts/${contact}`, cookie)).json()) as { followUsers: FollowBody[] };
  return body.followUsers.find((f) => f.userid === 'wangwu');
}

async function remarkTouchpoints(contact: string = LIU_YANG): Promise<unknown[]> {
  const { results } = await env.DB.prepare("SELECT detail FROM touchpoints WHERE external_userid = ?1 AND kind = 'remark_changed' ORDER BY id").bind(contact).all<{ detail: string }>();
  return results.map((row) => JSON.parse(row.detail) as unknown);
}

describe('PATCH /api/contacts/:id/remark', () => {
  beforeEach(reset);

  it('writes the remark, description and mobiles to WeCom, refreshes the cached profile and records the change', async () => {
    const cookie = await login('wangwu');
    const response = await edit(cookie, { remark: '刘洋-官网', description: '预算50万', remarkMobiles: ['13712340002', '021-5550000'] });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { followUser: FollowBody; changes: unknown[] };
    expect(body.followUser).toMatchObject({ remark: '刘洋-官网', description: '预算50万', remarkMobiles: ['13712340002', '021-5550000'] });
    const cached = (await (await api(`/api/contacts/${LIU_YANG}`, cookie)).json()) as { followUsers: FollowBody[] };
    expect(cached.followUsers.find((f) => f.userid === 'wangwu')?.remark).toBe('刘洋-官网');
    expect(await inWeCom(cookie)).toMatchObject({ remark: '刘洋-官网', description: '预算50万', remarkMobiles: ['13712340002', '021-5550000'] });
    expect(await remarkTouchpoints()).toEqual([
      {
        changes: [
          { field: 'remark', from: '', to: '刘洋-官网' },
          { field: 'description', from: '官网咨询，预算待定', to: '预算50万' },
          { field: 'remarkMobiles', from: ['13712340002'], to: ['13712340002', '021-5550000'] },
        ],
      },
    ]);
  });

  it('clears the remark mobiles with the list WeCom expects', async () => {
    const cookie = await login('wangwu');
    expect((await edit(cookie, { remarkMobiles: [] })).status).toBe(200);
    expect((await inWeCom(cookie))?.remarkMobiles).toEqual([]);
  });

  it('refuses a remark over 20 or a description over 150 characters before asking WeCom', async () => {
    const cookie = await login('wangwu');
    await sim('calls/reset', {});
    const remark = await edit(cookie, { remark: '长'.repeat(21) });
    expect(remark.status).toBe(400);
    expect(await remark.json()).toMatchObject({ error: 'too_long', field: 'remark', max: 20 });
    expect(await (await edit(cookie, { description: 'x'.repeat(151) })).json()).toMatchObject({ error: 'too_long', field: 'description', max: 150 });
    // 20 Chinese characters are 60 bytes in UTF-8 and still fit: WeCom counts characters.
    expect((await edit(cookie, { remark: '长'.repeat(20) })).status).toBe(200);
    expect((await calls())('externalcontact/remark')).toBe(1);
  });

  it("maps WeCom's own refusals: an invalid value (40058) and an ended relationship (84061)", async () => {
    const cookie = await login('wangwu');
    await sim('faults', { path: 'externalcontact/remark', errcode: 40058 });
    expect(await (await edit(cookie, { remark: '新备注' })).json()).toMatchObject({ error: 'invalid_value', errcode: 40058 });
    expect((await inWeCom(cookie))?.remark).toBe('');
    await sim('faults', { path: 'externalcontact/remark', errcode: 84061 });
    const ended = await edit(cookie, { remark: '新备注' });
    expect(ended.status).toBe(409);
    expect(await ended.json()).toMatchObject({ error: 'relationship_ended' });
    expect(await remarkTouchpoints()).toEqual([]);
    // WeCom says the relationship is gone: it is recorded as ended, so the contact is no longer the member's.
    expect((await api(`/api/contacts/${LIU_YANG}`, cookie)).status).toBe(404);
  });

  it("changes only the reader's own relationship, and refuses a contact that is not theirs", async () => {
    const cookie = await login('wangwu');
    expect((await edit(cookie, { remark: '陈静（王五）' }, CHEN_JING)).status).toBe(200);
    const view = (await (await api(`/api/contacts/${CHEN_JING}`, cookie)).json()) as { followUsers: FollowBody[] };
    expect(view.followUsers.find((f) => f.userid === 'lisi')?.remark).toBe('陈总');
    const stranger = await edit(await login('zhaoliu'), { remark: 'x' });
    expect(stranger.status).toBe(404);
    expect(await stranger.json()).toMatchObject({ error: 'contact_not_found' });
  });
});

describe('a remark-mobile change made in WeCom', () => {
  beforeEach(reset);

  it('announces nothing, so reconciliation drops the stale profile and records the change', async () => {
    const cookie = await login('wangwu');
    await api(`/api/contacts/${LIU_YANG}`, cookie); // cached with 13712340002
    // The member changes only the remark mobiles in the WeCom client: WeCom sends no event for that.
    const { access_token: token } = (await (await fetch(`${simBase}/cgi-bin/gettoken?corpid=${corpId}&corpsecret=${demoApp.secret}`)).json()) as { access_token: string };
    await fetch(`${simBase}/cgi-bin/externalcontact/remark?access_token=${token}`, { method: 'POST', body: JSON.stringify({ userid: 'wangwu', external_userid: LIU_YANG, remark_mobiles: ['13800009999'] }) });
    const stale = (await (await api(`/api/contacts/${LIU_YANG}`, cookie)).json()) as { followUsers: FollowBody[] };
    expect(stale.followUsers[0]?.remarkMobiles).toEqual(['13712340002']);

    const admin = await login('zhangsan');
    const { run } = (await (await api('/api/admin/reconcile', admin, { method: 'POST' })).json()) as { run: { id: number } };
    await waitFor(async () => {
      const body = (await (await api(`/api/admin/reconcile/${run.id}`, admin)).json()) as { run: { status: string } };
      return body.run.status === 'running' ? undefined : body.run;
    }, 20_000);
    const fresh = (await (await api(`/api/contacts/${LIU_YANG}`, cookie)).json()) as { followUsers: FollowBody[] };
    expect(fresh.followUsers[0]?.remarkMobiles).toEqual(['13800009999']);
    const { results } = await env.DB.prepare("SELECT detail FROM touchpoints WHERE external_userid = ?1 AND kind = 'contact_edited'").bind(LIU_YANG).all<{ detail: string }>();
    expect(results.map((row) => JSON.parse(row.detail) as unknown)).toEqual([{ changes: [{ field: 'remarkMobiles', from: ['13712340002'], to: ['13800009999'] }], reason: 'reconciled' }]);
  });
});
