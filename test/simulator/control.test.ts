/**
 * @module
 * The test-control API (`/__sim/*`: modes, faults, counters, clock), the HTTP server, and the
 * demo fixture's own consistency.
 */
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoApp, demoCorp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { demoVarsFile, readVarsFile } from '../../scripts/local.ts';
import { startSimulator, type RunningSimulator } from '../../dev/simulator/server.ts';

interface WeComBody {
  errcode: number;
  errmsg: string;
  [field: string]: unknown;
}

let sim: RunningSimulator;

const FROZEN = () => Date.UTC(2025, 0, 6, 9, 0, 0);

async function wecomGet(path: string): Promise<WeComBody> {
  return (await (await fetch(`${sim.url}${path}`)).json()) as WeComBody;
}

async function control(path: string, body: unknown = {}, method = 'POST'): Promise<Response> {
  return fetch(`${sim.url}${path}`, { method, body: method === 'GET' ? undefined : JSON.stringify(body) });
}

async function appToken(): Promise<string> {
  const body = await wecomGet(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`);
  expect(body.errcode).toBe(0);
  return String(body.access_token);
}

beforeAll(async () => {
  sim = await startSimulator({ simulator: { now: FROZEN } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await control('/__sim/reset', { forgetTokens: true });
});

describe('POST /__sim/members/:userid', () => {
  it('changes the status user/get reports, and reset restores the fixture', async () => {
    const token = await appToken();
    const disabled = await control('/__sim/members/wangwu', { status: 2 });
    expect(disabled.status).toBe(200);
    expect((await wecomGet(`/cgi-bin/user/get?userid=wangwu&access_token=${token}`)).status).toBe(2);
    await control('/__sim/reset');
    expect((await wecomGet(`/cgi-bin/user/get?userid=wangwu&access_token=${token}`)).status).toBe(1);
  });

  it('refuses an unknown member or status', async () => {
    expect((await control('/__sim/members/nobody', { status: 2 })).status).toBe(400);
    expect((await control('/__sim/members/wangwu', { status: 3 })).status).toBe(400);
  });
});

describe('POST /__sim/mode', () => {
  it('untrustedIp: answers 60020 naming the caller IP on every API call, gettoken included', async () => {
    const token = await appToken();
    await control('/__sim/mode', { untrustedIp: true });
    const refused = await wecomGet(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`);
    expect(refused.errcode).toBe(60020);
    expect(refused.errmsg).toMatch(/^not allow to access from your ip, .*from ip: 127\.0\.0\.1/);
    expect((await wecomGet(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(60020);
    await control('/__sim/mode', { untrustedIp: false });
    expect((await wecomGet(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(0);
  });

  it('noContactPermission: answers 48002 on every externalcontact call and leaves the directory alone', async () => {
    const token = await appToken();
    await control('/__sim/mode', { noContactPermission: true });
    expect((await wecomGet(`/cgi-bin/externalcontact/get?external_userid=${demoIds.externalUserIds.followedByTwo}&access_token=${token}`)).errcode).toBe(48002);
    expect((await wecomGet(`/cgi-bin/externalcontact/list?userid=wangwu&access_token=${token}`)).errcode).toBe(48002);
    expect((await wecomGet(`/cgi-bin/externalcontact/get_follow_user_list?access_token=${token}`)).errcode).toBe(48002);
    const remark = await fetch(`${sim.url}/cgi-bin/externalcontact/remark?access_token=${token}`, { method: 'POST', body: JSON.stringify({ userid: 'wangwu', external_userid: demoIds.externalUserIds.followedByTwo, remark: 'x' }) });
    expect(((await remark.json()) as WeComBody).errcode).toBe(48002);
    expect((await wecomGet(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(0);
  });

  it('emptyVisibleRange: empties member lists and answers 60011 for any member', async () => {
    const token = await appToken();
    await control('/__sim/mode', { emptyVisibleRange: true });
    expect((await wecomGet(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(60011);
    expect((await wecomGet(`/cgi-bin/department/list?access_token=${token}`)).department).toEqual([]);
    expect((await wecomGet(`/cgi-bin/externalcontact/get_follow_user_list?access_token=${token}`)).follow_user).toEqual([]);
    expect((await wecomGet(`/cgi-bin/user/list?department_id=2&access_token=${token}`)).errcode).toBe(60011);
  });

  it('refuses values of the wrong type', async () => {
    expect((await control('/__sim/mode', { untrustedIp: 'yes' })).status).toBe(400);
  });
});

describe('POST /__sim/faults', () => {
  it('injects a one-shot errcode on one path, then answers normally', async () => {
    const token = await appToken();
    const path = `/cgi-bin/externalcontact/get?external_userid=${demoIds.externalUserIds.followedByTwo}&access_token=${token}`;
    expect((await control('/__sim/faults', { path: '/cgi-bin/externalcontact/get', errcode: 42001 })).status).toBe(200);
    expect((await wecomGet(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(0);
    expect((await wecomGet(path)).errcode).toBe(42001);
    expect((await wecomGet(path)).errcode).toBe(0);
  });

  it('repeats a fault `times` times and accepts paths without the /cgi-bin prefix', async () => {
    await control('/__sim/faults', { path: 'gettoken', errcode: -1, times: 2 });
    const url = `/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`;
    expect((await wecomGet(url)).errcode).toBe(-1);
    expect((await wecomGet(url)).errcode).toBe(-1);
    expect((await wecomGet(url)).errcode).toBe(0);
  });

  it('can answer an HTTP 500 with a body that is not JSON', async () => {
    await control('/__sim/faults', { path: '/cgi-bin/gettoken', status: 500, body: '<html>oops' });
    const response = await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`);
    expect(response.status).toBe(500);
    expect(await response.text()).toBe('<html>oops');
  });

  it('can delay an answer, which then arrives normally', async () => {
    await control('/__sim/faults', { path: '/cgi-bin/gettoken', delayMs: 300 });
    const started = Date.now();
    const body = await wecomGet(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`);
    expect(Date.now() - started).toBeGreaterThanOrEqual(290);
    expect(body.errcode).toBe(0);
  });

  it('forgets pending faults on DELETE, and refuses a fault that does nothing', async () => {
    await control('/__sim/faults', { path: '/cgi-bin/gettoken', errcode: -1 });
    expect((await control('/__sim/faults', {}, 'DELETE')).status).toBe(200);
    expect((await wecomGet(`/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`)).errcode).toBe(0);
    expect((await control('/__sim/faults', { path: '/cgi-bin/gettoken' })).status).toBe(400);
    expect((await control('/__sim/faults', { errcode: -1 })).status).toBe(400);
  });
});

describe('GET /__sim/calls', () => {
  it('counts calls per API path and starts again from zero on calls/reset and reset', async () => {
    const token = await appToken();
    await wecomGet(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`);
    await wecomGet(`/cgi-bin/user/get?userid=lisi&access_token=${token}`);
    expect(await (await control('/__sim/calls', undefined, 'GET')).json()).toEqual({ '/cgi-bin/gettoken': 1, '/cgi-bin/user/get': 2 });
    await control('/__sim/calls/reset');
    expect(await (await control('/__sim/calls', undefined, 'GET')).json()).toEqual({});
    await wecomGet(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`);
    await control('/__sim/reset');
    expect(await (await control('/__sim/calls', undefined, 'GET')).json()).toEqual({});
  });

  it('counts refused and faulted calls too', async () => {
    await control('/__sim/faults', { path: '/cgi-bin/gettoken', errcode: -1 });
    await wecomGet('/cgi-bin/gettoken?corpid=x&corpsecret=y');
    await wecomGet('/cgi-bin/gettoken?corpid=x&corpsecret=y');
    expect(await (await control('/__sim/calls', undefined, 'GET')).json()).toEqual({ '/cgi-bin/gettoken': 2 });
  });
});

describe('POST /__sim/clock', () => {
  it('moves the simulator clock forward and says where it is', async () => {
    const before = (await (await control('/__sim/clock', undefined, 'GET')).json()) as { now: number };
    const after = (await (await control('/__sim/clock', { advanceSeconds: 90 })).json()) as { now: number };
    expect(after.now - before.now).toBe(90);
    expect((await control('/__sim/clock', { advanceSeconds: -5 })).status).toBe(400);
  });
});

describe('POST /__sim/jssdk/verify', () => {
  it('accepts a signature made with an issued ticket and refuses any other', async () => {
    const token = await appToken();
    const { ticket } = await wecomGet(`/cgi-bin/ticket/get?type=agent_config&access_token=${token}`);
    const signed = { url: 'http://127.0.0.1:8787/?a=1', timestamp: '1736154000', nonceStr: 'Wm3WZYTPz0wzccnW' };
    const signature = createHash('sha1').update(`jsapi_ticket=${String(ticket)}&noncestr=${signed.nonceStr}&timestamp=${signed.timestamp}&url=${signed.url}`).digest('hex');
    const verify = async (body: object) => (await (await control('/__sim/jssdk/verify', body)).json()) as { ok: boolean };
    expect(await verify({ kind: 'agentConfig', agentid: demoIds.agentId, ...signed, signature })).toEqual({ ok: true, errMsg: 'agentConfig:ok' });
    // The corp config needs the corp ticket, not the app ticket.
    expect((await verify({ kind: 'config', ...signed, signature })).ok).toBe(false);
    expect((await verify({ kind: 'agentConfig', ...signed, url: `${signed.url}#/x`, signature })).ok).toBe(false);
  });
});

describe('the HTTP surface', () => {
  it('answers 404 for an API the simulator does not implement', async () => {
    const response = await fetch(`${sim.url}/cgi-bin/no/such/api?access_token=x`);
    expect(response.status).toBe(404);
  });

  it('stop() ends requests held by a delay fault and frees the port', async () => {
    const other = await startSimulator({ simulator: { now: FROZEN } });
    await fetch(`${other.url}/__sim/faults`, { method: 'POST', body: JSON.stringify({ path: '/cgi-bin/gettoken', delayMs: 60_000 }) });
    const held = fetch(`${other.url}/cgi-bin/gettoken?corpid=x&corpsecret=y`).then(
      () => 'answered',
      () => 'dropped',
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    const started = Date.now();
    await other.stop();
    expect(Date.now() - started).toBeLessThan(2000);
    expect(await held).toBe('dropped');
    await expect(fetch(`${other.url}/__sim/calls`)).rejects.toThrow();
  });
});

describe('the demo corp fixture', () => {
  it('holds exactly the app credentials of dev/fixtures/demo.vars', () => {
    const vars = readVarsFile(demoVarsFile);
    expect(demoCorp.corpid).toBe(vars.WECOM_CORP_ID);
    expect(String(demoApp.agentid)).toBe(vars.WECOM_AGENT_ID);
    expect(demoApp.secret).toBe(vars.WECOM_SECRET);
    expect(demoApp.callbackToken).toBe(vars.WECOM_CALLBACK_TOKEN);
    expect(demoApp.encodingAESKey).toBe(vars.WECOM_ENCODING_AES_KEY);
    expect(vars.ADMIN_USERIDS).toBe(demoIds.admin);
  });

  it('gives every role hint, and one member the app cannot see', () => {
    const roles = demoCorp.members.map((m) => m.role);
    expect(roles.filter((r) => r === 'admin')).toHaveLength(1);
    expect(roles.filter((r) => r === 'manager')).toHaveLength(1);
    expect(roles.filter((r) => r === 'sales')).toHaveLength(2);
    expect(roles.filter((r) => r === 'viewer')).toHaveLength(1);
    expect(demoCorp.members.find((m) => m.role === 'admin')?.userid).toBe('zhangsan');
    const outside = demoCorp.members.find((m) => m.userid === demoIds.outsideVisibleRange);
    expect(outside?.department.some((d) => demoApp.visibleRange.departments.includes(d))).toBe(false);
  });

  it('refers only to members, departments and corp tags that exist', () => {
    const userids = new Set(demoCorp.members.map((m) => m.userid));
    const departments = new Set(demoCorp.departments.map((d) => d.id));
    const tags = new Map(demoCorp.corpTags.flatMap((g) => g.tag.map((t) => [t.id, { group: g.group_name, name: t.name }] as const)));
    for (const member of demoCorp.members) {
      for (const id of member.department) expect(departments.has(id)).toBe(true);
      expect(member.order).toHaveLength(member.department.length);
      expect(member.is_leader_in_dept).toHaveLength(member.department.length);
    }
    for (const contact of demoCorp.externalContacts) {
      for (const follow of contact.follow_user) {
        expect(userids.has(follow.userid)).toBe(true);
        for (const tag of follow.tags.filter((t) => t.type === 1)) expect(tags.get(tag.tag_id ?? '')).toEqual({ group: tag.group_name, name: tag.tag_name });
      }
      if (contact.external_contact.type === 2) expect(contact.external_contact.unionid).toBeUndefined();
    }
    expect(demoCorp.externalContacts.some((c) => c.follow_user.length >= 2)).toBe(true);
    expect(userids.has(demoCorp.groupChats[0]?.owner ?? '')).toBe(true);
  });
});
