/**
 * @module
 * Logging a demo member in through the real flow, for worker and e2e tests alike: /auth/login, a
 * code from the simulator's OAuth stand-in, /auth/callback. `fetchApp` reaches the worker (its
 * exported handler in workerd, a running server over HTTP in e2e).
 */
import type { SimControl } from './simulator-control.ts';

export type FetchApp = (request: Request) => Promise<Response>;

/** The value of cookie `name` among a response's Set-Cookie headers. */
export function cookieValue(response: Response, name: string): string | undefined {
  for (const header of response.headers.getSetCookie()) {
    const [pair] = header.split(';');
    const index = pair?.indexOf('=') ?? -1;
    if (pair && index > 0 && pair.slice(0, index) === name) return pair.slice(index + 1);
  }
  return undefined;
}

export interface LoginOptions {
  /** The worker's origin, as the requests name it. */
  origin: string;
  sim: SimControl;
  /** The body of `POST /__sim/oauth/code` (the member's `userid`, and `scope`, `agentid` or `flow`). */
  code: { userid: string } & Record<string, unknown>;
}

/** Logs a demo member in and returns the session cookie as a Cookie header value (`sid=…`). */
export async function logIn(fetchApp: FetchApp, options: LoginOptions): Promise<string> {
  const { origin, sim } = options;
  const start = await fetchApp(new Request(`${origin}/auth/login?return=/`, { redirect: 'manual' }));
  const state = new URL(start.headers.get('location') ?? '').searchParams.get('state') ?? '';
  const stateCookie = cookieValue(start, 'oauth_state') ?? '';
  const { code } = (await sim('oauth/code', options.code)) as { code: string };
  const done = await fetchApp(
    new Request(`${origin}/auth/callback?code=${code}&state=${state}`, { headers: { cookie: `oauth_state=${stateCookie}` }, redirect: 'manual' }),
  );
  const sid = cookieValue(done, 'sid');
  if (done.status !== 302 || !sid) throw new Error(`login as ${options.code.userid} failed with ${done.status}`);
  return `sid=${sid}`;
}
