/**
 * @module
 * Logging in through the real flow: /auth/login, a code from the simulator's OAuth stand-in, /auth/callback.
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { expect } from 'vitest';
import { cookieValue, logIn, type FetchApp } from '../login.ts';
import { sim } from './simulator-control.ts';

export { cookieValue };

export const origin = 'http://127.0.0.1:8787';

export async function simCode(userid: string, scope = 'snsapi_base'): Promise<string> {
  return ((await sim('oauth/code', { userid, scope, agentid: env.WECOM_AGENT_ID })) as { code: string }).code;
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

/** Logs a demo member in (test/login.ts) and returns the session cookie header value. */
export function login(userid: string, fetchApp: FetchApp = (r) => exports.default.fetch(r), scope = 'snsapi_base'): Promise<string> {
  return logIn(fetchApp, { origin, sim, code: { userid, scope, agentid: env.WECOM_AGENT_ID } });
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
  await sim('reset', {});
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
