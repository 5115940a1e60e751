-- The hand-off chains that send app messages past one invocation's budget (worker/notify/chain.ts,
-- docs/storage.md): one row per app. Each cron run starts a new chain (a new `run`), which ends the
-- one before at its next hand-off; a hop goes on only by moving `hop` from its predecessor's value,
-- so a queue message delivered twice runs once. The counters describe the current chain.
CREATE TABLE app_message_chains (
  corp_id TEXT NOT NULL,
  agent_id TEXT NOT NULL,
  run TEXT NOT NULL,
  hop INTEGER NOT NULL,
  -- 1 from the start until a hop ends without handing on (nothing left it may do, or the hop limit).
  running INTEGER NOT NULL DEFAULT 1,
  started_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  sent INTEGER NOT NULL DEFAULT 0,
  max_hop_sends INTEGER NOT NULL DEFAULT 0,
  max_hop_wecom_calls INTEGER NOT NULL DEFAULT 0,
  max_hop_d1_queries INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (corp_id, agent_id)
);
