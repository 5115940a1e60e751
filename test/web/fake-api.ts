/**
 * @module
 * The worker, faked at the SPA's edge: a `fetch` stub answering from a route table and recording
 * every request (method, path, headers, body) in order.
 */
import { vi } from 'vitest';

export interface ApiCall {
  method: string;
  path: string;
  headers: Record<string, string>;
  body: unknown;
}

export interface Reply {
  status?: number;
  body?: unknown;
}

export type Route = Reply | ((call: ApiCall, nth: number) => Reply | Promise<Reply>);

export interface FakeApi {
  calls: ApiCall[];
  /** Requests matching `METHOD /path` (query ignored unless given). */
  count(key: string): number;
  find(key: string): ApiCall[];
  set(key: string, route: Route): void;
}

function matches(call: ApiCall, key: string): boolean {
  const [method, path] = key.split(' ');
  if (call.method !== method || !path) return false;
  return path.includes('?') ? call.path === path : call.path.split('?')[0] === path;
}

export function fakeApi(routes: Record<string, Route> = {}): FakeApi {
  const table = new Map(Object.entries(routes));
  const calls: ApiCall[] = [];
  const seen = new Map<string, number>();

  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init: RequestInit = {}) => {
      const url = new URL(String(input), 'http://127.0.0.1:8787');
      const headers: Record<string, string> = {};
      new Headers(init.headers).forEach((value, name) => (headers[name] = value));
      const call: ApiCall = {
        method: init.method ?? 'GET',
        path: `${url.pathname}${url.search}`,
        headers,
        body: typeof init.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined,
      };
      calls.push(call);
      const key = [...table.keys()].find((candidate) => candidate.includes('?') && matches(call, candidate)) ?? [...table.keys()].find((candidate) => matches(call, candidate));
      const route = key === undefined ? undefined : table.get(key);
      if (key === undefined || route === undefined) {
        return new Response(JSON.stringify({ error: 'not_found', message: `no fake for ${call.method} ${call.path}` }), { status: 404 });
      }
      const nth = (seen.get(key) ?? 0) + 1;
      seen.set(key, nth);
      const reply = typeof route === 'function' ? await route(call, nth) : route;
      const status = reply.status ?? 200;
      return new Response(reply.body === undefined ? null : JSON.stringify(reply.body), { status, headers: { 'content-type': 'application/json' } });
    }),
  );

  return {
    calls,
    count: (key) => calls.filter((call) => matches(call, key)).length,
    find: (key) => calls.filter((call) => matches(call, key)),
    set: (key, route) => table.set(key, route),
  };
}

export interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
}

export function deferred<T>(): Deferred<T> {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((done) => (resolve = done));
  return { promise, resolve };
}

/** Lets every pending promise chain (fetch, stores, Vue updates) run to its next real wait. */
export async function settle(rounds = 10): Promise<void> {
  for (let i = 0; i < rounds; i++) await new Promise((resolve) => setTimeout(resolve, 0));
}
