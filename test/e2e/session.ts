/**
 * @module
 * A session for node-side e2e checks, through the real login path: /auth/login, a code from the
 * simulator's OAuth stand-in, /auth/callback.
 */
export async function loginAs(baseUrl: string, simulatorUrl: string, userid: string): Promise<string> {
  const start = await fetch(`${baseUrl}/auth/login?return=/`, { redirect: 'manual' });
  const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
  const stateCookie = start.headers.getSetCookie().find((c) => c.startsWith('oauth_state='))?.split(';')[0] ?? '';
  const codeResponse = await fetch(`${simulatorUrl}/__sim/oauth/code`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ userid, flow: 'sso' }) });
  const { code } = (await codeResponse.json()) as { code: string };
  const done = await fetch(`${baseUrl}/auth/callback?code=${code}&state=${state}`, { headers: { cookie: stateCookie }, redirect: 'manual' });
  const sid = done.headers.getSetCookie().find((c) => c.startsWith('sid='))?.split(';')[0];
  if (!sid) throw new Error(`login as ${userid} failed with ${done.status}`);
  return sid;
}
