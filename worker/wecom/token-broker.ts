/**
 * @module
 * Access tokens and JS-SDK tickets, per (corp, agent).
 *
 * Why a Durable Object: WeCom limits tickets to 100 an hour per app (400 per corp) and punishes
 * frequent gettoken calls, while a busy worker runs in many isolates at once. KV is eventually
 * consistent (a write can take up to a minute to show elsewhere), so isolates that refreshed on
 * their own would each call WeCom. Instead one `TokenBroker` per app (`idFromName(corpId/agentId)`)
 * is the only thing that ever calls gettoken or a ticket endpoint: concurrent requests await the
 * one refresh in flight, and the result is kept in its own storage (strongly consistent, survives
 * eviction).
 *
 * Reads stay cheap: the broker publishes every value to KV, and each isolate keeps a memory copy.
 * A reader takes memory, then KV, then asks the broker. Every value carries `refreshAt` (expiry
 * minus a 300 s margin) and a reader never uses a value past it: WxJava's 200 s plus room for KV's
 * up-to-60 s staleness and clock skew, so a token handed out always has minutes left.
 *
 * When WeCom refuses a token (40014/42001/40001) the client asks for a refresh naming the token it
 * used; the broker fetches a new one only if that is still its current token, so a burst of
 * refusals costs one gettoken. Tickets are refreshed on expiry; a signing request with
 * `refresh: true` (the page's signature failed) may force a refetch at most once a minute per app,
 * otherwise it is answered from the cache: a page stuck in a retry loop cannot burn the hourly limit.
 */
import { DurableObject } from 'cloudflare:workers';
import { configOf, findApp, type Config, type ConfigSource, type WeComApp } from '../env.ts';
import { log } from '../log.ts';
import { createWeComClient, fetchAccessToken, transportFor, type TokenSource, type WeComClient, type WeComTransportDeps } from './client.ts';
import { WeComError, WeComTransportError, failureFromData, failureToData, type WeComFailureData } from './errors.ts';
import { brokerName, isLease, leaseOf, ticketsKvKey, tokenKvKey, usable, type AppRef, type BrokerResult, type Lease, type TicketLeases } from './leases.ts';
import type { TicketReply } from './replies.ts';
import { singleFlight } from './single-flight.ts';

/** How often `refresh: true` may really refetch the tickets of one app. */
export const TICKET_FORCE_INTERVAL_MS = 60_000;
/** How long a token WeCom handed back after a refusal is not refetched for another refusal of it. */
const REISSUE_WINDOW_MS = 60_000;
/**
 * After gettoken fails for a reason only an admin can fix (wrong secret or corp id, untrusted IP)
 * or a rate limit, answer that failure from memory for this long instead of asking again: WeCom
 * blocks a source after about 2,000 failed calls an hour, and a busy sidebar would get there.
 */
export const TOKEN_FAILURE_BACKOFF_MS = 30_000;
/** KV refuses expirations under 60 s. */
const KV_MIN_TTL_S = 60;

/** The broker's own record of the token. */
interface StoredToken extends Lease {
  fetchedAt: number;
  /** gettoken answered a refusal with the very token that was refused. */
  reissued: boolean;
}

const leaseOnly = ({ value, expiresAt, refreshAt }: Lease): Lease => ({ value, expiresAt, refreshAt });


function toResult<T>(work: Promise<T>): Promise<BrokerResult<T>> {
  return work.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => {
      if (error instanceof WeComError || error instanceof WeComTransportError) return { ok: false as const, failure: failureToData(error) };
      throw error;
    },
  );
}

/**
 * The single refresher for one app. RPC methods take the app's ids (the broker reads the secret
 * and API base from the shared configuration, so no secret travels in a request).
 */
export class TokenBroker extends DurableObject<ConfigSource & { KV: KVNamespace }> {
  readonly #once = singleFlight();

  accessToken(app: AppRef): Promise<BrokerResult<Lease>> {
    return toResult(this.#token(app));
  }

  /** WeCom refused `stale`: replace it, unless it was already replaced. */
  refreshAccessToken(app: AppRef, stale: string): Promise<BrokerResult<Lease>> {
    return toResult(this.#token(app, stale));
  }

  /** Both tickets; `refresh` refetches them if the last forced refetch is a minute old, else answers from the cache. */
  tickets(app: AppRef, refresh: boolean): Promise<BrokerResult<TicketLeases & { retryAfterMs?: number }>> {
    return toResult(this.#tickets(app, refresh));
  }

  #setup(ref: AppRef): { app: WeComApp; config: Config; deps: WeComTransportDeps } {
    const result = configOf(this.env);
    if (!result.ok) throw new Error(`TokenBroker: the worker is not configured (${result.problems.join('; ')})`);
    const app = findApp(result.config, ref.corpId, ref.agentId);
    if (!app) throw new Error(`TokenBroker: no configured app ${brokerName(ref)}`);
    return { app, config: result.config, deps: transportFor(result.config, app) };
  }

  // The synchronous storage API matters here: between reading the current value and joining or
  // starting a flight there is no await, so no request can slip in and start a second refresh.
  #token(ref: AppRef, stale?: string): Promise<Lease> {
    const now = Date.now();
    const current = this.ctx.storage.kv.get<StoredToken>('token');
    if (usable(current, now)) {
      if (current.value !== stale) return Promise.resolve(leaseOnly(current));
      // WeCom hands back the live token while it is valid: if it already answered a refusal of this
      // very token with the same token, asking again cannot help; the caller's one retry decides.
      if (current.reissued && now - current.fetchedAt < REISSUE_WINDOW_MS) return Promise.resolve(leaseOnly(current));
    }
    const failed = this.ctx.storage.kv.get<{ failure: WeComFailureData; until: number }>('tokenFailure');
    if (failed && now < failed.until) return Promise.reject(failureFromData(failed.failure));
    return this.#once('token', async () => {
      const { deps } = this.#setup(ref);
      let reply;
      try {
        reply = await fetchAccessToken(deps);
      } catch (error) {
        if (error instanceof WeComError && (error.kind === 'configuration' || error.kind === 'rate_limited')) {
          this.ctx.storage.kv.put('tokenFailure', { failure: failureToData(error), until: Date.now() + TOKEN_FAILURE_BACKOFF_MS });
        }
        throw error;
      }
      this.ctx.storage.kv.delete('tokenFailure');
      const fetchedAt = Date.now();
      const lease = leaseOf(reply.access_token, reply.expires_in, fetchedAt);
      const stored: StoredToken = { ...lease, fetchedAt, reissued: stale !== undefined && reply.access_token === stale };
      this.ctx.storage.kv.put('token', stored);
      log('info', 'wecom.token_refreshed', {
        corpId: ref.corpId,
        agentId: ref.agentId,
        reason: stale !== undefined ? 'refused' : current ? 'expiring' : 'cold',
        reissued: stored.reissued,
        expiresIn: reply.expires_in,
      });
      await this.#publish(tokenKvKey(ref), lease);
      return lease;
    });
  }

  #tickets(ref: AppRef, refresh: boolean): Promise<TicketLeases & { retryAfterMs?: number }> {
    const now = Date.now();
    let force = false;
    let retryAfterMs: number | undefined;
    if (refresh) {
      const last = this.ctx.storage.kv.get<number>('ticketsForcedAt') ?? 0;
      if (now - last >= TICKET_FORCE_INTERVAL_MS) {
        force = true;
        // Recorded before the fetch: a refetch that fails still spends the minute, so a failing page cannot loop.
        this.ctx.storage.kv.put('ticketsForcedAt', now);
      } else {
        log('info', 'wecom.tickets_refresh_throttled', { corpId: ref.corpId, agentId: ref.agentId, sinceLastMs: now - last });
        // Said to the page, so a page whose fresh tickets are refused again can say when to retry.
        retryAfterMs = TICKET_FORCE_INTERVAL_MS - (now - last);
      }
    }
    const jsapi = this.ctx.storage.kv.get<Lease>('jsapiTicket');
    const agentConfig = this.ctx.storage.kv.get<Lease>('agentConfigTicket');
    if (!force && usable(jsapi, now) && usable(agentConfig, now)) return Promise.resolve(retryAfterMs === undefined ? { jsapi, agentConfig } : { jsapi, agentConfig, retryAfterMs });
    // A forced request that finds a refetch already running joins it: those tickets are as new as any.
    return this.#once('tickets', async () => {
      const client = this.#client(ref);
      const at = Date.now();
      const [freshJsapi, freshAgentConfig] = await Promise.all([
        force || !usable(jsapi, at) ? this.#fetchTicket(ref, 'jsapiTicket', force, () => client.getJsapiTicket()) : jsapi,
        force || !usable(agentConfig, at) ? this.#fetchTicket(ref, 'agentConfigTicket', force, () => client.getAgentConfigTicket()) : agentConfig,
      ]);
      const pair: TicketLeases = { jsapi: freshJsapi, agentConfig: freshAgentConfig };
      await this.#publish(ticketsKvKey(ref), pair);
      return pair;
    });
  }

  async #fetchTicket(ref: AppRef, key: 'jsapiTicket' | 'agentConfigTicket', forced: boolean, fetchTicket: () => Promise<TicketReply>): Promise<Lease> {
    const reply = await fetchTicket();
    const lease = leaseOf(reply.ticket, reply.expires_in, Date.now());
    this.ctx.storage.kv.put(key, lease);
    log('info', 'wecom.ticket_refreshed', { corpId: ref.corpId, agentId: ref.agentId, ticket: key, forced, expiresIn: reply.expires_in });
    return lease;
  }

  /** A client whose token source is this broker itself (not its stub: that would call back into this object). */
  #client(ref: AppRef): WeComClient {
    const { deps } = this.#setup(ref);
    const tokens: TokenSource = {
      accessToken: async () => (await this.#token(ref)).value,
      refreshAccessToken: async (stale) => (await this.#token(ref, stale)).value,
    };
    return createWeComClient({ ...deps, tokens });
  }

  async #publish(key: string, value: Lease | TicketLeases): Promise<void> {
    const expiresAt = isLease(value) ? value.expiresAt : Math.min(value.jsapi.expiresAt, value.agentConfig.expiresAt);
    const ttl = Math.max(KV_MIN_TTL_S, Math.ceil((expiresAt - Date.now()) / 1000));
    try {
      await this.env.KV.put(key, JSON.stringify(value), { expirationTtl: ttl });
    } catch (error) {
      // KV is only the fast path; the broker still answers.
      log('warn', 'wecom.kv_publish_failed', { key, message: error instanceof Error ? error.message : String(error) });
    }
  }
}
