/**
 * @module
 * The chains that carry app-message sending past one invocation (`app_message_chains`,
 * docs/storage.md). The reminder cron sends a first batch for each app (hop 0) and, when work is
 * left, hands the rest to the `app-messages` queue: each message there means "send one more batch
 * for this app", and its consumer hands on the next hop only while work remains. Guards:
 * - one chain per app: a cron run starts a new one (a new `run`), and the one before stops at its
 *   next hand-off, so overlapping runs never multiply the chains;
 * - a hop runs only by moving the row's `hop` on from its predecessor, so a queue message delivered
 *   twice sends one batch;
 * - at most MAX_HOPS hops per cron run;
 * - a hop hands on only when work it may do remains (service.ts `more`): members at WeCom's limit
 *   wait for the next cron, so the queue never loops on them.
 * The claims in the outbox still decide who sends a message; the chains only bound the effort.
 */

/** wrangler.toml `[[queues.consumers]]`. */
export const APP_MESSAGES_QUEUE = 'app-messages';

/** A queue message of `app-messages`: hop `hop` of chain `run` for one app. */
export interface SendHop {
  corpId: string;
  agentId: string;
  run: string;
  hop: number;
  /** This app queues the corp's due follow-ups (one app per corp does). */
  followUps: boolean;
}

/** 100 × SENDS_PER_INVOCATION = 2,500 sends per app per cron run: more than one chain of hops run one after another sends in five minutes. */
export const MAX_HOPS = 100;

/** What one invocation spent, for the chain's counters. */
export interface HopMeter {
  sent: number;
  wecomCalls: number;
  d1Queries: number;
}

export interface Chain {
  run: string;
  hop: number;
  running: boolean;
  startedAt: number;
  updatedAt: number;
  sent: number;
  maxHopSends: number;
  maxHopWecomCalls: number;
  maxHopD1Queries: number;
}

interface Row {
  run: string;
  hop: number;
  running: number;
  started_at: number;
  updated_at: number;
  sent: number;
  max_hop_sends: number;
  max_hop_wecom_calls: number;
  max_hop_d1_queries: number;
}

export function createChains(db: D1Database, app: { corpId: string; agentId: string }) {
  const { corpId, agentId } = app;
  return {
    /** Hop 0: this run's chain replaces the app's previous one, counters and all. */
    async start(run: string, now: number): Promise<void> {
      await db
        .prepare(
          `INSERT INTO app_message_chains (corp_id, agent_id, run, hop, started_at, updated_at) VALUES (?1, ?2, ?3, 0, ?4, ?4)
           ON CONFLICT (corp_id, agent_id) DO UPDATE SET run = ?3, hop = 0, running = 1, started_at = ?4, updated_at = ?4,
             sent = 0, max_hop_sends = 0, max_hop_wecom_calls = 0, max_hop_d1_queries = 0`,
        )
        .bind(corpId, agentId, run, now)
        .run();
    },

    /** True for exactly one delivery of `hop`: the chain is still this run's and its last hop was the one before. */
    async advance(hop: Pick<SendHop, 'run' | 'hop'>, now: number): Promise<boolean> {
      if (hop.hop < 1 || hop.hop > MAX_HOPS) return false;
      const { meta } = await db
        .prepare('UPDATE app_message_chains SET hop = ?4, updated_at = ?5 WHERE corp_id = ?1 AND agent_id = ?2 AND run = ?3 AND hop = ?4 - 1')
        .bind(corpId, agentId, hop.run, hop.hop, now)
        .run();
      return meta.changes > 0;
    },

    /** A hop's counters; `handedOn`: the next hop is queued, so the chain still runs. */
    async record(run: string, meter: HopMeter, handedOn: boolean, now: number): Promise<void> {
      await db
        .prepare(
          `UPDATE app_message_chains SET sent = sent + ?4, max_hop_sends = MAX(max_hop_sends, ?4), max_hop_wecom_calls = MAX(max_hop_wecom_calls, ?5),
             max_hop_d1_queries = MAX(max_hop_d1_queries, ?6), updated_at = ?7, running = ?8
           WHERE corp_id = ?1 AND agent_id = ?2 AND run = ?3`,
        )
        .bind(corpId, agentId, run, meter.sent, meter.wecomCalls, meter.d1Queries, now, handedOn ? 1 : 0)
        .run();
    },

    async get(): Promise<Chain | undefined> {
      const row = await db.prepare('SELECT * FROM app_message_chains WHERE corp_id = ?1 AND agent_id = ?2').bind(corpId, agentId).first<Row>();
      return row
        ? {
            run: row.run,
            hop: row.hop,
            running: row.running === 1,
            startedAt: row.started_at,
            updatedAt: row.updated_at,
            sent: row.sent,
            maxHopSends: row.max_hop_sends,
            maxHopWecomCalls: row.max_hop_wecom_calls,
            maxHopD1Queries: row.max_hop_d1_queries,
          }
        : undefined;
    },
  };
}
