/**
 * @module
 * The reader side of access tokens and JS-SDK tickets, used in every isolate: memory, then KV,
 * then the app's TokenBroker (wecom/token-broker.ts says why one broker per app does the fetching).
 * A reader never uses a value past its `refreshAt` (wecom/leases.ts).
 */
import type { Config, WeComApp } from '../env.ts';
import { createWeComClient, transportFor, type TokenSource, type WeComClient, type WeComTransportDeps } from './client.ts';
import { failureFromData } from './errors.ts';
import { brokerName, isLease, isTicketLeases, ticketsKvKey, tokenKvKey, usable, type AppRef, type BrokerResult, type TicketLeases, type Lease } from './leases.ts';
import { singleFlight } from './single-flight.ts';
import type { TokenBroker } from './token-broker.ts';


/** The bindings the reader needs, and nothing else. */
export interface TokenBindings {
  KV: KVNamespace;
  TOKEN_BROKER: DurableObjectNamespace<TokenBroker>;
}

/** An app's tokens and tickets: a `TokenSource` for the client, plus the JS-SDK tickets. */
export interface AppTokens extends TokenSource {
  /**
   * Both ticket values; `refresh` asks the broker to refetch (granted at most once a minute per app;
   * when refused, `retryAfterMs` says how long until it would be). Never send these to a browser.
   */
  tickets(options?: { refresh?: boolean }): Promise<{ jsapi: string; agentConfig: string; retryAfterMs?: number }>;
}

const memory = new Map<string, Lease | TicketLeases>();
/** One read of a key at a time per isolate: a burst of requests on a cold isolate asks KV and the broker once. */
const share = singleFlight();

/** Drops this isolate's memory copies. Tests use it to start cold; production never needs it. */
export function forgetCachedTokens(): void {
  memory.clear();
}

async function unwrap<T>(result: Promise<BrokerResult<T>>): Promise<T> {
  const answer = await result;
  if (!answer.ok) throw failureFromData(answer.failure);
  return answer.value;
}

async function readKv<T>(kv: KVNamespace, key: string, check: (value: unknown) => value is T): Promise<T | undefined> {
  try {
    const value: unknown = await kv.get(key, 'json');
    return check(value) ? value : undefined;
  } catch {
    return undefined;
  }
}

export function tokensFor(env: TokenBindings, app: AppRef): AppTokens {
  const ref: AppRef = { corpId: app.corpId, agentId: app.agentId };
  const broker = () => env.TOKEN_BROKER.getByName(brokerName(ref));
  const tokenKey = tokenKvKey(ref);
  const ticketKey = ticketsKvKey(ref);

  async function accessToken(): Promise<string> {
    const cached = memory.get(tokenKey);
    if (isLease(cached) && usable(cached, Date.now())) return cached.value;
    const lease = await share(tokenKey, async () => {
      const stored = await readKv(env.KV, tokenKey, isLease);
      if (usable(stored, Date.now())) return stored;
      return unwrap(broker().accessToken(ref));
    });
    memory.set(tokenKey, lease);
    return lease.value;
  }

  async function refreshAccessToken(stale: string): Promise<string> {
    const lease = await share(`${tokenKey}#refused:${stale}`, () => unwrap(broker().refreshAccessToken(ref, stale)));
    memory.set(tokenKey, lease);
    return lease.value;
  }

  async function tickets(options: { refresh?: boolean } = {}): Promise<{ jsapi: string; agentConfig: string; retryAfterMs?: number }> {
    let pair: TicketLeases;
    if (options.refresh) {
      const { retryAfterMs, ...leases } = await share(`${ticketKey}#refresh`, () => unwrap(broker().tickets(ref, true)));
      memory.set(ticketKey, leases);
      const values = { jsapi: leases.jsapi.value, agentConfig: leases.agentConfig.value };
      return retryAfterMs === undefined ? values : { ...values, retryAfterMs };
    } else {
      const cached = memory.get(ticketKey);
      const now = Date.now();
      if (isTicketLeases(cached) && usable(cached.jsapi, now) && usable(cached.agentConfig, now)) {
        pair = cached;
      } else {
        pair = await share(ticketKey, async () => {
          const stored = await readKv(env.KV, ticketKey, isTicketLeases);
          const at = Date.now();
          if (stored && usable(stored.jsapi, at) && usable(stored.agentConfig, at)) return stored;
          return unwrap(broker().tickets(ref, false));
        });
      }
    }
    memory.set(ticketKey, pair);
    return { jsapi: pair.jsapi.value, agentConfig: pair.agentConfig.value };
  }

  return { accessToken, refreshAccessToken, tickets };
}

/** How a route gets a client for one configured app. */
export function wecomClientFor(
  env: TokenBindings,
  config: Pick<Config, 'apiBase' | 'apiProxyToken'>,
  app: WeComApp,
  options: Pick<WeComTransportDeps, 'fetch' | 'timeoutMs' | 'retryDelaysMs'> = {},
): WeComClient {
  return createWeComClient({ ...transportFor(config, app, options), tokens: tokensFor(env, app) });
}
