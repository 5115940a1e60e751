/**
 * @module
 * Logging in through the real flow: /auth/login, a code from the simulator's OAuth stand-in, /auth/callback.
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { expect } from 'vitest';

export const origin = 'http://127.0.0.1:8787';
export const sim = env.WECOM_API_BASE!;

export async function simulator(path: string, body?: unknown): Promise<Response> {
  return fetch(`${sim}${path}`, body === undefined ? {} : { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
}

export async function simCode(userid: string, scope = 'snsapi_base'): Promise<string> {
  const response = await simulator('/__sim/oauth/code', { userid, scope, agentid: env.WECOM_AGENT_ID });
  expect(response.status).toBe(200);
  return ((await response.json()) as { code: string }).code;
}

export function cookieValue(response: Response, name: string): string | undefined {
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(';');
    const index = pair?.indexOf('=') ?? -1;
    if (pair && index > 0 && pair.slice(0, index) === name) return pair.slice(index + 1);
  }
  return undefined;
}

export async function startLogin(returnTo = '/', userAgent = 'Mozilla/5.0 Chrome/156'): Promise<{ state: string; stateCookie: string; location: string }> {
  const response = await exports.default.fetch(`${origin}/auth/login?return=${encodeURIComponent(returnTo)}`, {
    headers: { 'user-agent': userAgent },
    redirect: 'manual',
  });
  expect(response.status).toBe(302);
  const location = response.headers.get('location')!;
  const state = new URL(location).searchParams.get('state')!;
  const stateCookie = cookieValue(response, 'oauth_state')!;
  return { state, stateCookie, location };
}

export function callback(query: string, cookie: string): Promise<Response> {
  return exports.default.fetch(`${origin}/auth/callback?${query}`, { headers: { cookie }, redirect: 'manual' });
}

/** Logs a demo member in and returns the session cookie header value. */
export async function login(
  userid: string,
  fetchApp: (request: Request) => Promise<Response> = (r) => exports.default.fetch(r),
  scope = 'snsapi_base',
): Promise<string> {
  const start = await fetchApp(new Request(`${origin}/auth/login?return=/`, { redirect: 'manual' }));
  const state = new URL(start.headers.get('location')!).searchParams.get('state')!;
  const stateCookie = cookieValue(start, 'oauth_state')!;
  const code = await simCode(userid, scope);
  const done = await fetchApp(
    new Request(`${origin}/auth/callback?code=${code}&state=${state}`, { headers: { cookie: `oauth_state=${stateCookie}` }, redirect: 'manual' }),
  );
  expect(done.status).toBe(302);
  const sid = cookieValue(done, 'sid');
  expect(sid).toBeTruthy();
  return `sid=${sid}`;
}

/** A request as the SPA sends it: from the product's own origin, with a body only as JSON. */
export function api(path: string, cookie: string, init: RequestInit = {}): Promise<Response> {
  const headers: Record<string, string> = { origin, ...(init.headers as Record<string, string>), cookie };
  if (init.body !== undefined && !Object.keys(headers).some((name) => name.toLowerCase() === 'content-type')) headers['content-type'] = 'application/json';
  return exports.default.fetch(`${origin}${path}`, { ...init, headers });
}

export async function resetIdentity(): Promise<void> {
  await env.DB.batch([
    env.DB.prepare('DELETE FROM user_roles'),
    env.DB.prepare('DELETE FROM user_departments'),
    env.DB.prepare('DELETE FROM users'),
    env.DB.prepare('DELETE FROM departments'),
    env.DB.prepare('DELETE FROM job_runs'),
  ]);
  await simulator('/__sim/reset', {});
}

/** Roles belong to this product, not to WeCom: tests give them the way an admin would. */
export async function setRole(userid: string, role: string): Promise<void> {
  const user = await env.DB.prepare('SELECT id FROM users WHERE corp_id = ?1 AND wecom_userid = ?2').bind(env.WECOM_CORP_ID, userid).first<{ id: number }>();
  if (!user) throw new Error(`${userid} has not logged in`);
  await env.DB.batch([
    env.DB.prepare('DELETE FROM user_roles WHERE user_id = ?1').bind(user.id),
    env.DB.prepare("INSERT INTO user_roles (user_id, role, granted_by, granted_at) VALUES (?1, ?2, 'test', 0)").bind(user.id, role),
  ]);
}
