import { createExecutionContext, createScheduledController, env, waitOnExecutionContext } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import worker from '../../worker/index.ts';
import { CRM_IDEMPOTENCY_RETENTION_MS } from '../../worker/crm/builtin.ts';
import { HANDOFF_GRACE_MS } from '../../worker/events/dispatch.ts';
import { EVENT_RETENTION_MS } from '../../worker/events/store.ts';
import { PRUNE_CRON } from '../../worker/scheduled.ts';
import { sealCallback } from '../../worker/wecom/envelope.ts';
import { CALLBACK_WINDOW_SECONDS } from '../../worker/wecom/freshness.ts';
import { callbackPath, contactEventXml, demoKeys, eventsWithKeyContaining, nextNonce, unixNow, waitFor } from './callback-helpers.ts';

const DAY = 24 * 60 * 60 * 1000;

async function runCron(cron: string, scheduledTime: number): Promise<void> {
  const ctx = createExecutionContext();
  await worker.scheduled(createScheduledController({ cron, scheduledTime }), env, ctx);
  await waitOnExecutionContext(ctx);
}

async function insertEvent(marker: string, status: 'received' | 'applied' | 'failed', receivedAt: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO events (corp_id, agent_id, dedupe_key, kind, change_type, payload, status, received_at, applied_at)
     VALUES (?1, ?2, ?3, 'change_external_tag', 'update', '{}', ?4, ?5, ?6)`,
  )
    .bind(demoKeys.corpId, demoKeys.agentId, `prune|${marker}`, status, receivedAt, status === 'applied' ? receivedAt + 1000 : null)
    .run();
}

async function insertIdempotencyKey(key: string, createdAt: number): Promise<void> {
  await env.DB.prepare(
    `INSERT INTO crm_idempotency (corp_id, key, operation, request_hash, request_id, result_id, created_at)
     VALUES (?1, ?2, 'note', 'hash', 'request', 'result', ?3)`,
  )
    .bind(demoKeys.corpId, key, createdAt)
    .run();
}

async function idempotencyKeys(prefix: string): Promise<string[]> {
  const { results } = await env.DB.prepare('SELECT key FROM crm_idempotency WHERE key LIKE ?1 ORDER BY key').bind(`${prefix}%`).all<{ key: string }>();
  return results.map((row) => row.key);
}

describe('scheduled pruning', () => {
  it('keeps events far longer than a replay can be accepted', () => {
    expect(EVENT_RETENTION_MS).toBeGreaterThan(2 * CALLBACK_WINDOW_SECONDS * 1000);
  });

  it('deletes settled events past retention and keeps recent ones and those not yet applied', async () => {
    const now = Date.now();
    const old = now - EVENT_RETENTION_MS - DAY;
    await insertEvent('oldApplied', 'applied', old);
    await insertEvent('oldFailed', 'failed', old);
    await insertEvent('oldReceived', 'received', old);
    await insertEvent('recentApplied', 'applied', now - EVENT_RETENTION_MS + DAY);

    await runCron(PRUNE_CRON, now);

    const left = (await eventsWithKeyContaining('prune|')).map((row) => row.dedupe_key);
    expect(left).toEqual(['prune|oldReceived', 'prune|recentApplied']);
  });

  it('deletes CRM idempotency keys past retention and keeps recent ones', async () => {
    const now = Date.now();
    await insertIdempotencyKey('prune-old', now - CRM_IDEMPOTENCY_RETENTION_MS - DAY);
    await insertIdempotencyKey('prune-recent', now - CRM_IDEMPOTENCY_RETENTION_MS + DAY);

    await runCron(PRUNE_CRON, now);

    expect(await idempotencyKeys('prune-')).toEqual(['prune-recent']);
  });

  it('still deduplicates a replay of an applied event after a prune at the end of its window', async () => {
    const xml = contactEventXml({ changeType: 'edit_external_contact', userId: 'lisi', externalUserId: 'wmReplayAfterPrune', createTime: 1_800_000_800 });
    const sealed = await sealCallback(demoKeys, xml, unixNow(), nextNonce());
    const deliver = () =>
      exports.default.fetch(`http://sidebar.test${callbackPath}?${sealed.query}`, { method: 'POST', headers: { 'content-type': 'text/xml' }, body: sealed.body });
    expect((await deliver()).status).toBe(200);
    await waitFor(async () => ((await eventsWithKeyContaining('wmReplayAfterPrune'))[0]?.status === 'applied' ? true : undefined));

    // The latest moment the same signed request could still be inside the window, with skew both ways.
    await runCron(PRUNE_CRON, Date.now() + 2 * CALLBACK_WINDOW_SECONDS * 1000 + 60_000);

    expect((await deliver()).status).toBe(200);
    const rows = await eventsWithKeyContaining('wmReplayAfterPrune');
    expect(rows).toHaveLength(1);
    expect(rows[0]?.duplicates).toBe(1);
  });

  it('hands the queue an event recorded but never sent, and the consumer applies it', async () => {
    // What a callback leaves when its isolate dies between the 200 and the queue send (worker/events/dispatch.ts).
    await insertEvent('unsent', 'received', Date.now() - HANDOFF_GRACE_MS - 60_000);
    await insertEvent('unsentRecent', 'received', Date.now());

    await runCron(PRUNE_CRON, Date.now());

    const swept = await waitFor(async () => {
      const [row] = await eventsWithKeyContaining('prune|unsent');
      return row?.status === 'applied' ? row : undefined;
    });
    expect(swept.attempts).toBe(1);
    // A row younger than the grace still belongs to the request that recorded it.
    const recent = await env.DB.prepare("SELECT status, enqueued_at FROM events WHERE dedupe_key = 'prune|unsentRecent'").first<{ status: string; enqueued_at: number | null }>();
    expect(recent).toEqual({ status: 'received', enqueued_at: null });
  });
});
