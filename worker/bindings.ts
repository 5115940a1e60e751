/**
 * @module
 * The worker's bindings (wrangler.toml) and configuration values: what `env` holds in the fetch,
 * queue and scheduled handlers. Deep code never reads it: services are built from it at the edge.
 */
import type { ConfigSource } from './env.ts';
import type { JobParams } from './jobs/engine.ts';
import type { SendHop } from './notify/chains.ts';
import type { TokenBroker } from './wecom/token-broker.ts';

/** What the consumer receives: the D1 row id of a recorded callback event. */
export interface EventMessage {
  eventId: number;
}

/** The bindings wrangler.toml declares. */
export interface Bindings {
  KV: KVNamespace;
  DB: D1Database;
  EVENTS: Queue<EventMessage>;
  /** Hops of the app-message sending chains (notify/chains.ts): one batch of sends for one app each. */
  APP_MESSAGES: Queue<SendHop>;
  ASSETS: Fetcher;
  /** One per (corp, agent): the only refresher of access tokens and JS-SDK tickets. */
  TOKEN_BROKER: DurableObjectNamespace<TokenBroker>;
  /** Workers rate-limiting bindings (wrangler.toml `[[ratelimits]]`): login starts and signing per client IP, contact lookups per member. */
  LOGIN_LIMIT: RateLimit;
  SIGNING_LIMIT: RateLimit;
  CONTACT_LOOKUP_LIMIT: RateLimit;
  /** The long jobs (jobs/workflows.ts): one Workflow instance per org sync or reconciliation run. */
  ORG_SYNC_WORKFLOW: Workflow<JobParams>;
  RECONCILE_WORKFLOW: Workflow<JobParams>;
}

/** The bindings and every configuration value (worker/config-names.ts). */
export type Env = Bindings & ConfigSource;
