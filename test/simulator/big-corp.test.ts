/**
 * @module
 * The generated big corp (`POST /__sim/big-corp`): deterministic from its seed, seen by the demo
 * app, paged by batch/get_by_user like any corp, and gone after a reset.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { demoApp, demoCorp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { generateBigCorp } from '../../dev/simulator/big-corp.ts';
import { startSimulator, type RunningSimulator } from '../../dev/simulator/server.ts';

let sim: RunningSimulator;
beforeAll(async () => {
  sim = await startSimulator();
});
afterAll(() => sim.stop());

async function post(path: string, body: unknown): Promise<Record<string, unknown>> {
  const response = await fetch(`${sim.url}${path}`, { method: 'POST', body: JSON.stringify(body) });
  return (await response.json()) as Record<string, unknown>;
}

async function token(): Promise<string> {
  const body = (await (await fetch(`${sim.url}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`)).json()) as { access_token: string };
  return body.access_token;
}

describe('the big corp', () => {
  it('is the same for the same seed and different for another', () => {
    const options = { members: 50, departments: 7, contacts: 300, seed: 42 };
    expect(generateBigCorp(demoCorp, options)).toEqual(generateBigCorp(demoCorp, options));
    expect(generateBigCorp(demoCorp, { ...options, seed: 43 }).externalContacts[6]).not.toEqual(generateBigCorp(demoCorp, options).externalContacts[6]);
  });

  it('adds the requested members, departments and contacts to the demo corp, visible to the demo app', async () => {
    const created = await post('/__sim/big-corp', { members: 250, departments: 30, contacts: 1000, seed: 7 });
    expect(created.totals).toEqual({ departments: demoCorp.departments.length + 30, members: demoCorp.members.length + 250, contacts: demoCorp.externalContacts.length + 1000 });
    const access = await token();
    const followers = (await (await fetch(`${sim.url}/cgi-bin/externalcontact/get_follow_user_list?access_token=${access}`)).json()) as { follow_user: string[] };
    const generated = followers.follow_user.filter((userid) => userid.startsWith('big7m'));
    expect(generated).toHaveLength(250);

    // Every contact of the first 100 generated members, page by page.
    let cursor = '';
    let rows = 0;
    do {
      const page = await post(`/cgi-bin/externalcontact/batch/get_by_user?access_token=${access}`, { userid_list: generated.slice(0, 100), limit: 100, cursor });
      expect(page.errcode).toBe(0);
      rows += (page.external_contact_list as unknown[]).length;
      cursor = String(page.next_cursor);
    } while (cursor);
    const expected = generateBigCorp(demoCorp, { members: 250, departments: 30, contacts: 1000, seed: 7 }).externalContacts.flatMap((c) => c.follow_user).filter((f) => generated.slice(0, 100).includes(f.userid));
    expect(rows).toBe(expected.length);
  });

  it('is gone after a reset, and generates a 5,000-member corp with 100,000 contacts in well under a second', async () => {
    await post('/__sim/reset', {});
    const access = await token();
    const followers = (await (await fetch(`${sim.url}/cgi-bin/externalcontact/get_follow_user_list?access_token=${access}`)).json()) as { follow_user: string[] };
    expect(followers.follow_user.filter((userid) => userid.startsWith('big'))).toEqual([]);
    const started = performance.now();
    generateBigCorp(demoCorp, { members: 5000, departments: 300, contacts: 100_000, seed: 1 });
    expect(performance.now() - started).toBeLessThan(2000);
    const refused = await fetch(`${sim.url}/__sim/big-corp`, { method: 'POST', body: JSON.stringify({ members: -1 }) });
    expect(refused.status).toBe(400);
  });
});
