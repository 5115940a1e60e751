/**
 * @module
 * Picks the CRM implementation the configuration names (`CRM`): the D1 one or the HTTP proxy.
 */
import type { Config } from '../env.ts';
import { createBuiltinCrm } from './builtin.ts';
import { createHttpCrm } from './http.ts';
import type { Crm } from './port.ts';

export function crmFor(env: { DB: D1Database }, config: Pick<Config, 'crm'>, fetcher?: typeof fetch): Crm {
  const crm = config.crm;
  if (crm.kind === 'http') {
    return createHttpCrm({ baseUrl: crm.baseUrl, token: crm.token, timeoutMs: crm.timeoutMs, ...(fetcher ? { fetch: fetcher } : {}) });
  }
  return createBuiltinCrm(env.DB);
}
