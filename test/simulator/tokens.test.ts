/**
 * @module
 * The simulator's access-token and jsapi-ticket rules, over real HTTP (docs/wecom.md §1, §2).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { demoApp, demoCorp, demoIds, type DemoApp, type DemoCorp } from '../../dev/fixtures/demo-corp.ts';
import { startSimulator, type RunningSimulator } from '../../dev/simulator/server.ts';

interface WeComBody {
  errcode: number;
  errmsg: string;
  [field: string]: unknown;
}

let sim: RunningSimulator;

async function get(path: string): Promise<WeComBody> {
  const response = await fetch(`${sim.url}${path}`);
  return (await response.json()) as WeComBody;
}

async function control(path: string, body: unknown = {}): Promise<unknown> {
  const response = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  expect(response.status).toBe(200);
  return response.json();
}

const gettoken = (corpid: string, secret: string) =>
  get(`/cgi-bin/gettoken?corpid=${encodeURIComponent(corpid)}&corpsecret=${encodeURIComponent(secret)}`);

async function appToken(): Promise<string> {
  const body = await gettoken(demoIds.corpId, demoApp.secret);
  expect(body.errcode).toBe(0);
  return String(body.access_token);
}

// A frozen wall clock: only /__sim/clock moves time, so hourly windows are exact.
const FROZEN = () => Date.UTC(2025, 0, 6, 9, 0, 0);

beforeAll(async () => {
  sim = await startSimulator({ simulator: { now: FROZEN } });
});
afterAll(() => sim.stop());
beforeEach(async () => {
  await control('/__sim/reset', { forgetTokens: true });
});

describe('gettoken', () => {
  it('issues a 7200 s token for the demo app secret', async () => {
    const body = await gettoken(demoIds.corpId, demoApp.secret);
    expect(body).toMatchObject({ errcode: 0, errmsg: 'ok', expires_in: 7200 });
    expect(typeof body.access_token).toBe('string');
    expect(String(body.access_token).length).toBeGreaterThanOrEqual(64);
  });

  it('refuses an unknown corp with 40013 and a wrong secret with 40001', async () => {
    expect((await gettoken('wwnosuchcorp0001', demoApp.secret)).errcode).toBe(40013);
    expect((await gettoken(demoIds.corpId, 'not-the-secret')).errcode).toBe(40001);
  });

  it('names a missing corpid (41002) or corpsecret (41004)', async () => {
    expect((await get(`/cgi-bin/gettoken?corpsecret=${demoApp.secret}`)).errcode).toBe(41002);
    expect((await get(`/cgi-bin/gettoken?corpid=${demoIds.corpId}`)).errcode).toBe(41004);
  });

  it('puts a hint, the caller IP and the lookup link in every errmsg', async () => {
    const body = await gettoken(demoIds.corpId, 'not-the-secret');
    expect(body.errmsg).toMatch(/hint: \[\d+\], from ip: 127\.0\.0\.1, more info at https:\/\/open\.work\.weixin\.qq\.com\/devtool\/query\?e=40001$/);
  });

  it('hands back the same token while it is valid, with its remaining life', async () => {
    const first = await gettoken(demoIds.corpId, demoApp.secret);
    await control('/__sim/clock', { advanceSeconds: 1000 });
    const second = await gettoken(demoIds.corpId, demoApp.secret);
    expect(second.access_token).toBe(first.access_token);
    expect(second.expires_in).toBe(6200);
  });
});

describe('access tokens on API calls', () => {
  it('answers 41001 when access_token is missing', async () => {
    expect((await get('/cgi-bin/user/get?userid=zhangsan')).errcode).toBe(41001);
  });

  it('answers 40014 for a token it never issued', async () => {
    expect((await get('/cgi-bin/user/get?userid=zhangsan&access_token=forged')).errcode).toBe(40014);
  });

  it('expires a token after 7200 s on the simulator clock with 42001, then issues a new one', async () => {
    const token = await appToken();
    await control('/__sim/clock', { advanceSeconds: 7199 });
    expect((await get(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(0);
    await control('/__sim/clock', { advanceSeconds: 1 });
    expect((await get(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(42001);

    const fresh = await appToken();
    expect(fresh).not.toBe(token);
    expect((await get(`/cgi-bin/user/get?userid=zhangsan&access_token=${fresh}`)).errcode).toBe(0);
  });

  it('answers 40014 once tokens are invalidated, and gettoken then issues a different token', async () => {
    const token = await appToken();
    expect(await control('/__sim/tokens/invalidate')).toEqual({ invalidated: 1 });
    expect((await get(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(40014);
    const fresh = await appToken();
    expect(fresh).not.toBe(token);
    expect((await get(`/cgi-bin/user/get?userid=zhangsan&access_token=${fresh}`)).errcode).toBe(0);
  });

  it('keeps tokens valid and the clock running across reset, unless told to forget tokens', async () => {
    const token = await appToken();
    await control('/__sim/clock', { advanceSeconds: 100 });
    await control('/__sim/reset');
    expect((await get(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(0);
    expect((await gettoken(demoIds.corpId, demoApp.secret)).expires_in).toBe(7100);
    await control('/__sim/reset', { forgetTokens: true });
    expect((await get(`/cgi-bin/user/get?userid=zhangsan&access_token=${token}`)).errcode).toBe(40014);
  });
});

describe('jsapi tickets', () => {
  it('returns a corp ticket and a distinct agent_config ticket, 7200 s each', async () => {
    const token = await appToken();
    const corpTicket = await get(`/cgi-bin/get_jsapi_ticket?access_token=${token}`);
    const agentTicket = await get(`/cgi-bin/ticket/get?access_token=${token}&type=agent_config`);
    expect(corpTicket).toMatchObject({ errcode: 0, expires_in: 7200 });
    expect(agentTicket).toMatchObject({ errcode: 0, expires_in: 7200 });
    expect(corpTicket.ticket).not.toBe(agentTicket.ticket);
  });

  it('answers 91040 for ticket/get with a type other than agent_config', async () => {
    const token = await appToken();
    expect((await get(`/cgi-bin/ticket/get?access_token=${token}&type=jsapi`)).errcode).toBe(91040);
    expect((await get(`/cgi-bin/ticket/get?access_token=${token}`)).errcode).toBe(91040);
  });

  it('refuses the 101st agent ticket within an hour with 45009 and allows it once the hour has passed', async () => {
    const token = await appToken();
    const agentTicket = () => get(`/cgi-bin/ticket/get?access_token=${token}&type=agent_config`);
    for (let i = 0; i < 100; i++) expect((await agentTicket()).errcode).toBe(0);
    expect((await agentTicket()).errcode).toBe(45009);

    await control('/__sim/clock', { advanceSeconds: 3599 });
    expect((await agentTicket()).errcode).toBe(45009);
    await control('/__sim/clock', { advanceSeconds: 1 });
    expect((await agentTicket()).errcode).toBe(0);
  });

  it('limits the corp ticket to 100 per hour per app, independently of the agent ticket', async () => {
    const token = await appToken();
    for (let i = 0; i < 100; i++) expect((await get(`/cgi-bin/get_jsapi_ticket?access_token=${token}`)).errcode).toBe(0);
    expect((await get(`/cgi-bin/get_jsapi_ticket?access_token=${token}`)).errcode).toBe(45009);
    expect((await get(`/cgi-bin/ticket/get?access_token=${token}&type=agent_config`)).errcode).toBe(0);
  });

  it('refuses tickets to the contact-sync token, which belongs to no app (48002)', async () => {
    const sync = await gettoken(demoIds.corpId, demoCorp.contactSyncSecret);
    expect(sync.errcode).toBe(0);
    expect((await get(`/cgi-bin/get_jsapi_ticket?access_token=${String(sync.access_token)}`)).errcode).toBe(48002);
  });
});

describe('corp-wide ticket limit', () => {
  it('refuses the 401st corp ticket of the hour across apps with 45009', async () => {
    const apps: DemoApp[] = [1, 2, 3, 4, 5].map((n) => ({ ...demoApp, agentid: 1000100 + n, secret: `secret-of-app-${n}-000000000000000000000` }));
    const corp: DemoCorp = { ...demoCorp, apps };
    const many = await startSimulator({ simulator: { corp, now: FROZEN } });
    try {
      const ticketFor = async (app: DemoApp) => {
        const response = await fetch(`${many.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${app.secret}`);
        const { access_token: token } = (await response.json()) as { access_token: string };
        return async () => ((await (await fetch(`${many.url}/cgi-bin/get_jsapi_ticket?access_token=${token}`)).json()) as WeComBody).errcode;
      };
      for (const app of apps.slice(0, 4)) {
        const next = await ticketFor(app);
        for (let i = 0; i < 100; i++) expect(await next()).toBe(0);
      }
      const fifth = await ticketFor(apps[4] as DemoApp);
      expect(await fifth()).toBe(45009);
    } finally {
      await many.stop();
    }
  });
});
