import { env, runInDurableObject } from 'cloudflare:test';
import { beforeEach, describe, expect, it } from 'vitest';
import { calls, sim } from './simulator-control.ts';
import { configOf, type WeComApp } from '../../worker/env.ts';
import { WeComError } from '../../worker/wecom/errors.ts';
import { REFRESH_MARGIN_S, brokerName, ticketsKvKey, tokenKvKey, type Lease, type TicketLeases } from '../../worker/wecom/leases.ts';
import { TICKET_FORCE_INTERVAL_MS } from '../../worker/wecom/token-broker.ts';
import { forgetCachedTokens, tokensFor } from '../../worker/wecom/tokens.ts';

// ---- the simulator's control API -------------------------------------------------------------



// ---- helpers ---------------------------------------------------------------------------------

function demoApp(): WeComApp {
  const result = configOf(env);
  if (!result.ok) throw new Error(result.problems.join('; '));
  const [app] = result.config.apps;
  if (!app) throw new Error('no demo app');
  return app;
}

const broker = () => env.TOKEN_BROKER.getByName(brokerName(demoApp()));
const ref = () => ({ corpId: demoApp().corpId, agentId: demoApp().agentId });

/** Reads or rewrites the broker's own storage. */
function inBroker<R>(run: (storage: DurableObjectStorage) => R): Promise<R> {
  return runInDurableObject(broker(), (_instance, state) => run(state.storage));
}

async function startCold(): Promise<void> {
  forgetCachedTokens();
  await env.KV.delete(tokenKvKey(demoApp()));
  await env.KV.delete(ticketsKvKey(demoApp()));
  await inBroker((storage) => storage.deleteAll());
}

async function brokerValue<T>(result: Promise<{ ok: true; value: T } | { ok: false }>): Promise<T> {
  const answer = await result;
  if (!answer.ok) throw new Error('the broker answered with a failure');
  return answer.value;
}

beforeEach(async () => {
  await sim('reset', {});
  await startCold();
});

describe('TokenBroker (the Durable Object)', () => {
  it('answers a cold burst of concurrent requests with one gettoken', async () => {
    const stub = broker();
    const leases = await Promise.all(Array.from({ length: 60 }, () => brokerValue(stub.accessToken(ref()))));
    expect(new Set(leases.map((l) => l.value)).size).toBe(1);
    expect((await calls())('gettoken')).toBe(1);
  });

  it('fetches both tickets once for a cold burst, with one token', async () => {
    const stub = broker();
    const pairs = await Promise.all(Array.from({ length: 60 }, () => brokerValue(stub.tickets(ref(), false))));
    expect(new Set(pairs.map((p) => `${p.jsapi.value}/${p.agentConfig.value}`)).size).toBe(1);
    const count = await calls();
    expect(count('gettoken')).toBe(1);
    expect(count('get_jsapi_ticket')).toBe(1);
    expect(count('ticket/get')).toBe(1);
  });

  it('keeps values with a refresh time 300 s before expiry, in its storage and in KV', async () => {
    const lease = await brokerValue(broker().accessToken(ref()));
    expect(lease.expiresAt - lease.refreshAt).toBe(REFRESH_MARGIN_S * 1000);
    expect(lease.expiresAt - Date.now()).toBeGreaterThan(7000 * 1000);
    const stored = await inBroker((storage) => storage.kv.get<Lease>('token'));
    expect(stored).toMatchObject(lease);
    const published = await env.KV.get<Lease>(tokenKvKey(demoApp()), 'json');
    expect(published).toEqual(lease);

    const pair = await brokerValue(broker().tickets(ref(), false));
    expect(await env.KV.get<TicketLeases>(ticketsKvKey(demoApp()), 'json')).toEqual(pair);
  });

  it('refreshes a token once it is inside the margin, before it expires', async () => {
    const first = await brokerValue(broker().accessToken(ref()));
    await sim('calls/reset', {});
    // Still valid for four minutes: inside the 300 s margin.
    await inBroker((storage) => storage.kv.put('token', { ...first, refreshAt: Date.now() - 60_000, expiresAt: Date.now() + 240_000 }));
    const second = await brokerValue(broker().accessToken(ref()));
    expect((await calls())('gettoken')).toBe(1);
    expect(second.refreshAt).toBeGreaterThan(Date.now());
  });

  it('replaces a refused token once, however many callers report it', async () => {
    const stub = broker();
    const first = await brokerValue(stub.accessToken(ref()));
    await sim('calls/reset', {});
    const answers = await Promise.all(Array.from({ length: 30 }, () => brokerValue(stub.refreshAccessToken(ref(), first.value))));
    expect(new Set(answers.map((l) => l.value)).size).toBe(1);
    expect((await calls())('gettoken')).toBe(1);
    // A late report of the same stale token gets the new one without another fetch.
    await brokerValue(stub.refreshAccessToken(ref(), first.value));
    expect((await calls())('gettoken')).toBe(1);
  });

  it('refetches only the ticket that is expiring', async () => {
    await brokerValue(broker().tickets(ref(), false));
    await sim('calls/reset', {});
    await inBroker((storage) => {
      const lease = storage.kv.get<Lease>('agentConfigTicket');
      if (lease) storage.kv.put('agentConfigTicket', { ...lease, refreshAt: Date.now() - 1000 });
    });
    await brokerValue(broker().tickets(ref(), false));
    const count = await calls();
    expect(count('get_jsapi_ticket')).toBe(0);
    expect(count('ticket/get')).toBe(1);
  });

  it('grants a forced ticket refetch at most once a minute, and answers from the cache otherwise', async () => {
    const stub = broker();
    const first = await brokerValue(stub.tickets(ref(), false));
    await sim('calls/reset', {});

    const forced = await brokerValue(stub.tickets(ref(), true));
    let count = await calls();
    expect(count('get_jsapi_ticket')).toBe(1);
    expect(count('ticket/get')).toBe(1);

    for (let i = 0; i < 5; i++) {
      const { retryAfterMs, ...again } = await brokerValue(stub.tickets(ref(), true));
      expect(again).toEqual(forced);
      // Refused: it says how long until a refetch would be granted.
      expect(retryAfterMs).toBeGreaterThan(0);
      expect(retryAfterMs).toBeLessThanOrEqual(TICKET_FORCE_INTERVAL_MS);
    }
    count = await calls();
    expect(count('get_jsapi_ticket')).toBe(1);
    expect(count('ticket/get')).toBe(1);
    expect(first.jsapi.expiresAt).toBeLessThanOrEqual(forced.jsapi.expiresAt);

    // A minute later a forced refetch is granted again.
    await inBroker((storage) => storage.kv.put('ticketsForcedAt', Date.now() - TICKET_FORCE_INTERVAL_MS - 1));
    await brokerValue(stub.tickets(ref(), true));
    count = await calls();
    expect(count('get_jsapi_ticket')).toBe(2);
    expect(count('ticket/get')).toBe(2);
  });

  it('returns WeCom failures as data that the reader turns back into a WeComError', async () => {
    await sim('mode', { untrustedIp: true });
    const answer = await broker().tickets(ref(), false);
    expect(answer.ok).toBe(false);
    const error = await tokensFor(env, demoApp())
      .tickets()
      .then(
        () => undefined,
        (e: unknown) => e,
      );
    expect(error).toBeInstanceOf(WeComError);
    expect((error as WeComError).code).toBe('wecom_60020');
    expect((error as WeComError).status).toBe(503);
  });
});

describe('TokenBroker after a gettoken failure an admin must fix', () => {
  it('answers the failure from memory for a while instead of asking WeCom again', async () => {
    await sim('mode', { untrustedIp: true });
    for (let i = 0; i < 10; i++) {
      const answer = await broker().accessToken(ref());
      expect(answer.ok).toBe(false);
    }
    expect((await calls())('gettoken')).toBe(1);

    // Once the backoff has passed (and the admin has fixed it), the next request asks again.
    await sim('mode', { untrustedIp: false });
    await inBroker((storage) => {
      const failed = storage.kv.get<{ until: number }>('tokenFailure');
      if (failed) storage.kv.put('tokenFailure', { ...failed, until: Date.now() - 1 });
    });
    expect((await broker().accessToken(ref())).ok).toBe(true);
    expect((await calls())('gettoken')).toBe(2);
    expect(await inBroker((storage) => storage.kv.get('tokenFailure'))).toBeUndefined();
  });

  it('does not hold on to a transient failure', async () => {
    await sim('faults', { path: 'gettoken', status: 500, times: 3 });
    expect((await broker().accessToken(ref())).ok).toBe(false);
    expect((await broker().accessToken(ref())).ok).toBe(true);
  });
});

describe('tokensFor (the reader in every isolate)', () => {
  it('reads a published token from KV without asking the broker', async () => {
    const lease: Lease = { value: 'TOKEN-FROM-KV', expiresAt: Date.now() + 7_000_000, refreshAt: Date.now() + 6_700_000 };
    await env.KV.put(tokenKvKey(demoApp()), JSON.stringify(lease), { expirationTtl: 7000 });
    expect(await tokensFor(env, demoApp()).accessToken()).toBe('TOKEN-FROM-KV');
    expect((await calls())('gettoken')).toBe(0);
    expect(await inBroker((storage) => storage.kv.get('token'))).toBeUndefined();
  });

  it('ignores a KV value past its refresh time and asks the broker', async () => {
    const lease: Lease = { value: 'OLD-TOKEN', expiresAt: Date.now() + 200_000, refreshAt: Date.now() - 100_000 };
    await env.KV.put(tokenKvKey(demoApp()), JSON.stringify(lease), { expirationTtl: 200 });
    const token = await tokensFor(env, demoApp()).accessToken();
    expect(token).not.toBe('OLD-TOKEN');
    expect((await calls())('gettoken')).toBe(1);
  });

  it('keeps a memory copy, so a second read needs neither KV nor the broker', async () => {
    const tokens = tokensFor(env, demoApp());
    const first = await tokens.accessToken();
    await env.KV.delete(tokenKvKey(demoApp()));
    await inBroker((storage) => storage.deleteAll());
    expect(await tokens.accessToken()).toBe(first);
    expect((await calls())('gettoken')).toBe(1);
  });

  it('asks the broker to replace a refused token and remembers the new one', async () => {
    const tokens = tokensFor(env, demoApp());
    const first = await tokens.accessToken();
    await sim('tokens/invalidate', {});
    const second = await tokens.refreshAccessToken(first);
    expect(second).not.toBe(first);
    expect(await tokens.accessToken()).toBe(second);
    expect((await calls())('gettoken')).toBe(2);
  });

  it('does not refetch again when WeCom handed the refused token back (it returns the live token while valid)', async () => {
    const tokens = tokensFor(env, demoApp());
    const first = await tokens.accessToken();
    // Not invalidated in the simulator: gettoken answers with the same token.
    expect(await tokens.refreshAccessToken(first)).toBe(first);
    expect(await tokens.refreshAccessToken(first)).toBe(first);
    expect(await brokerValue(broker().refreshAccessToken(ref(), first))).toMatchObject({ value: first });
    expect((await calls())('gettoken')).toBe(2);
  });

  it('serves tickets from memory and sends refresh requests to the broker', async () => {
    const tokens = tokensFor(env, demoApp());
    const first = await tokens.tickets();
    expect(first.jsapi).not.toBe(first.agentConfig);
    expect(await tokens.tickets()).toEqual(first);
    await sim('calls/reset', {});
    const refreshed = await tokens.tickets({ refresh: true });
    expect((await calls())('ticket/get')).toBe(1);
    expect(await tokens.tickets()).toEqual(refreshed);
  });
});
