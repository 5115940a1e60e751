/**
 * @module
 * `POST /__sim/jssdk/verify` for the simulated WeCom client (client.ts): it hands over the
 * signatures a page registered with, and this checks them the way the WeCom client would
 * (docs/wecom.md §3.1): `sha1("jsapi_ticket=T&noncestr=N&timestamp=TS&url=U")` with the corp ticket
 * for `config` and the app ticket for `agentConfig`, using only tickets this simulator issued to
 * that corp and app and that have not expired. A wrong URL (say, with its `#fragment`), a ticket
 * mixed up between config and agentConfig, or an expired ticket fails here as it would there.
 *
 * Request `{ url, corpId, agentId, config?: { timestamp, nonceStr, signature }, agentConfig?: … }`,
 * answer `{ config?: { ok, errMsg, errCode? }, agentConfig?: … }` for the signatures given.
 *
 * A body with `kind` is the older one-signature form, kept as it was for the tests that use it:
 * `{ kind: 'config' | 'agentConfig', url, timestamp, nonceStr, signature, agentid? }` answers
 * `{ ok, errMsg }`. It checks only live tickets of that kind (the app ticket of `agentid` when
 * given), of any corp, with no trusted-domain check and no reason.
 * Runtime-neutral like app.ts (WebCrypto only).
 */
import { Hono } from 'hono';
import { cors } from 'hono/cors';
import type { JsapiTicketRecord, SimulatorModes } from './state.ts';

export interface VerifierDeps {
  /** Read at each request: tickets come and go while the simulator runs. */
  tickets: () => readonly JsapiTicketRecord[];
  modes: () => SimulatorModes;
  /** The simulator's clock, Unix seconds. */
  now: () => number;
}

interface Signed {
  timestamp: string;
  nonceStr: string;
  signature: string;
}

export interface Verdict {
  ok: boolean;
  errMsg: string;
  errCode?: number;
  /** Why it failed, for people reading a test; WeCom's client says only the errMsg. */
  reason?: 'no_matching_ticket' | 'ticket_expired' | 'untrusted_domain';
}

type Kind = 'config' | 'agentConfig';

async function sha1Hex(text: string): Promise<string> {
  const digest = new Uint8Array(await crypto.subtle.digest('SHA-1', new TextEncoder().encode(text)));
  return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
}

/** The JS-SDK signature (lowercase hex) of `url` with `ticket` (docs/wecom.md §3.1). */
function signatureOf(ticket: JsapiTicketRecord, url: string, signed: Signed): Promise<string> {
  return sha1Hex(`jsapi_ticket=${ticket.ticket}&noncestr=${signed.nonceStr}&timestamp=${signed.timestamp}&url=${url}`);
}

function readSigned(value: unknown): Signed | undefined | 'invalid' {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null) return 'invalid';
  const { timestamp, nonceStr, signature } = value as Record<string, unknown>;
  if ((typeof timestamp !== 'string' && typeof timestamp !== 'number') || typeof nonceStr !== 'string' || typeof signature !== 'string') return 'invalid';
  // The SDK sends the timestamp as a string; the signed text holds it as digits either way.
  return { timestamp: String(timestamp), nonceStr, signature };
}

export function jssdkVerifier(deps: VerifierDeps) {
  async function verdict(kind: Kind, url: string, corpId: string, agentId: number, signed: Signed): Promise<Verdict> {
    const trusted = deps.modes().trustedDomains;
    let host = '';
    try {
      host = new URL(url).host;
    } catch {
      // Not a URL: no ticket signs it either; the host check below refuses it when domains are set.
    }
    if (trusted && !trusted.includes(host)) return { ok: false, errMsg: `${kind}:fail invalid url domain`, reason: 'untrusted_domain' };

    const candidates = deps
      .tickets()
      .filter((ticket) => ticket.corpid === corpId && (kind === 'config' ? ticket.kind === 'corp' : ticket.kind === 'agent' && ticket.agentid === agentId));
    const at = deps.now();
    let expired = false;
    for (const ticket of candidates) {
      if ((await signatureOf(ticket, url, signed)) !== signed.signature.toLowerCase()) continue;
      if (ticket.expiresAt > at) return { ok: true, errMsg: `${kind}:ok` };
      expired = true;
    }
    // 42012: the ticket the signature was made with is no longer available.
    if (expired) return { ok: false, errMsg: `${kind}:fail invalid signature`, errCode: 42012, reason: 'ticket_expired' };
    return { ok: false, errMsg: `${kind}:fail invalid signature`, errCode: 40093, reason: 'no_matching_ticket' };
  }

  /** The older one-signature form: live tickets of the kind only, compared exactly as given. */
  async function legacyVerdict(kind: Kind, url: string, agentid: number | undefined, signed: Signed): Promise<{ ok: boolean; errMsg: string }> {
    const at = deps.now();
    const candidates = deps
      .tickets()
      .filter((t) => t.kind === (kind === 'config' ? 'corp' : 'agent') && t.expiresAt > at && (kind === 'config' || agentid === undefined || t.agentid === agentid));
    for (const ticket of candidates) {
      if ((await signatureOf(ticket, url, signed)) === signed.signature) return { ok: true, errMsg: `${kind}:ok` };
    }
    return { ok: false, errMsg: `${kind}:invalid signature` };
  }

  return new Hono()
    .use('*', cors())
    .post('/verify', async (c) => {
      let body: unknown;
      try {
        const text = await c.req.text();
        body = text.trim() === '' ? {} : JSON.parse(text);
      } catch {
        return c.json({ error: 'bad_request', message: 'body must be JSON' }, 400);
      }
      if (typeof body !== 'object' || body === null || Array.isArray(body)) return c.json({ error: 'bad_request', message: 'body must be a JSON object' }, 400);
      const input = body as Record<string, unknown>;
      if ('kind' in input) {
        const { kind, url } = input;
        if (kind !== 'config' && kind !== 'agentConfig') return c.json({ error: 'bad_request', message: 'kind must be config or agentConfig' }, 400);
        const signed = readSigned(input);
        if (typeof url !== 'string' || signed === undefined || signed === 'invalid') {
          return c.json({ error: 'bad_request', message: 'url, timestamp, nonceStr and signature are required' }, 400);
        }
        const agentid = input.agentid === undefined ? undefined : Number(input.agentid);
        return c.json(await legacyVerdict(kind, url, agentid, signed));
      }
      const { url, corpId } = input;
      const agentId = typeof input.agentId === 'string' || typeof input.agentId === 'number' ? Number(input.agentId) : Number.NaN;
      const config = readSigned(input.config);
      const agentConfig = readSigned(input.agentConfig);
      if (typeof url !== 'string' || typeof corpId !== 'string') return c.json({ error: 'bad_request', message: 'url and corpId are required strings' }, 400);
      if (config === 'invalid' || agentConfig === 'invalid') return c.json({ error: 'bad_request', message: 'config and agentConfig must be { timestamp, nonceStr, signature }' }, 400);
      if (!config && !agentConfig) return c.json({ error: 'bad_request', message: 'give config, agentConfig or both' }, 400);
      if (agentConfig && !Number.isInteger(agentId)) return c.json({ error: 'bad_request', message: 'agentConfig needs the numeric agentId' }, 400);

      const answer: Partial<Record<Kind, Verdict>> = {};
      if (config) answer.config = await verdict('config', url, corpId, agentId, config);
      if (agentConfig) answer.agentConfig = await verdict('agentConfig', url, corpId, agentId, agentConfig);
      return c.json(answer);
    });
}
