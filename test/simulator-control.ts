/**
 * @module
 * The WeCom simulator's control API (`/__sim/*`), for worker tests (inside workerd) and e2e tests
 * (in Node) alike. `sim(path, body?, method?)` is the one meaning of `sim` in the tests: a control
 * call that answers the parsed JSON and throws on a non-2xx answer.
 */
export type SimControl = (path: string, body?: unknown, method?: string) => Promise<unknown>;

export function simulatorControl(base: string): SimControl {
  return async (path, body, method = body === undefined ? 'GET' : 'POST') => {
    const init: RequestInit = { method };
    if (body !== undefined) {
      init.body = JSON.stringify(body);
      init.headers = { 'content-type': 'application/json' };
    }
    const response = await fetch(`${base}/__sim/${path}`, init);
    const text = await response.text();
    if (!response.ok) throw new Error(`simulator ${method} ${path}: ${response.status} ${text}`);
    return text === '' ? undefined : (JSON.parse(text) as unknown);
  };
}

/** Upstream calls per WeCom API path since the last reset, e.g. `count('gettoken')`. */
export async function callCounter(sim: SimControl): Promise<(path: string) => number> {
  const counts = (await sim('calls')) as Record<string, number>;
  return (path) => counts[`/cgi-bin/${path}`] ?? 0;
}
