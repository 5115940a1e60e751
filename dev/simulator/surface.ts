/**
 * @module
 * What every request to WeCom's surface (APIs and pages; not `/__sim/*`) passes first: it is
 * counted per path (`/__sim/calls`), answered by an injected fault if one is due (`/__sim/faults`),
 * and, in the untrusted-IP mode, every `/cgi-bin` call answers 60020 (the 2022-06-20 trusted-IP
 * rule), gettoken included.
 */
import type { MiddlewareHandler } from 'hono';
import type { SimCore } from './state.ts';
import { sleep } from './util.ts';
import { wecomError, type SimEnv } from './wire.ts';

export function wecomSurface(core: SimCore): MiddlewareHandler<SimEnv> {
  const { state, now } = core;
  return async (c, next) => {
    const path = c.req.path;
    if (path.startsWith('/__sim/') || path === '/' || path === '/__sim') return next();
    state.calls[path] = (state.calls[path] ?? 0) + 1;

    const index = state.faults.findIndex((f) => f.path === path && f.remaining > 0);
    const fault = index === -1 ? undefined : state.faults[index];
    if (fault) {
      fault.remaining -= 1;
      if (fault.remaining <= 0) state.faults.splice(index, 1);
      if (fault.delayMs) await sleep(fault.delayMs, c.req.raw.signal);
      if (fault.body !== undefined) {
        const raw = fault.body;
        const text = typeof raw === 'string' ? raw : JSON.stringify(raw);
        return new Response(text, {
          status: fault.status ?? 200,
          headers: { 'content-type': typeof raw === 'string' ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8' },
        });
      }
      if (fault.errcode !== undefined) {
        const body = wecomError(c, now(), fault.errcode);
        if (fault.errmsg !== undefined) body.errmsg = fault.errmsg;
        return new Response(JSON.stringify(body), { status: fault.status ?? 200, headers: { 'content-type': 'application/json; charset=utf-8' } });
      }
      if (fault.status !== undefined) {
        return new Response(`<html><body><h1>${fault.status}</h1>simulated upstream failure</body></html>`, {
          status: fault.status,
          headers: { 'content-type': 'text/html; charset=utf-8' },
        });
      }
      // A delay alone: answer normally, late.
    }

    if (path.startsWith('/cgi-bin/') && state.modes.untrustedIp) return c.json(wecomError(c, now(), 60020));
    return next();
  };
}
