/**
 * @module
 * A session for node-side checks against a running product (e2e, scripts/bench-product.ts), through
 * the real login path (test/login.ts).
 */
import { logIn } from '../login.ts';
import { simulatorControl } from '../simulator-control.ts';

export function loginAs(baseUrl: string, simulatorUrl: string, userid: string): Promise<string> {
  return logIn((request) => fetch(request), { origin: baseUrl, sim: simulatorControl(simulatorUrl), code: { userid, flow: 'sso' } });
}
