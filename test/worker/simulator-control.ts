/**
 * @module
 * The WeCom simulator's control API (`/__sim/*`) from inside worker tests: reset, faults, modes,
 * and the upstream call counters the token-economy tests read.
 */
import { env } from 'cloudflare:test';

export async function sim(path: string, body?: unknown, method = body === undefined ? 'GET' : 'POST'): Promise<unknown> {
  const init: RequestInit = { method };
  if (body !== undefined) {
    init.body = JSON.stringify(body);
    init.headers = { 'content-type': 'application/json' };
  }
  const response = await fetch(`${env.WECOM_API_BASE ?? ''}/__sim/${path}`, init);
  const text = await response.text();
  if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
  return text === '' ? undefined : (JSON.parse(text) as unknown);
}

/** Upstream calls per WeCom API path since the last reset, e.g. `count('gettoken')`. */
export async function calls(): Promise<(path: string) => number> {
  const counts = (await sim('calls')) as Record<string, number>;
  return (path) => counts[`/cgi-bin/${path}`] ?? 0;
}
