import { createExecutionContext, createMessageBatch, env, getQueueResult } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import type { EventMessage } from '../../worker/bindings.ts';
import { consumeDeadLetters, consumeEvents, retryDelaySeconds } from '../../worker/events/consumer.ts';
import { createRegistry } from '../../worker/events/registry.ts';
import { createEventStore } from '../../worker/events/store.ts';
import type { WeComEvent } from '../../worker/wecom/events.ts';

const corpId = env.WECOM_CORP_ID!;
const agentId = env.WECOM_AGENT_ID!;
let sequence = 0;

async function recordEvent(externalUserId: string) {
  sequence += 1;
  const event: WeComEvent = {
    kind: 'change_external_contact',
    changeType: 'add_external_contact',
    corpId,
    createTime: 1_800_001_000 + sequence,
    userId: 'lisi',
    externalUserId,
  };
  const store = createEventStore(env.DB);
  const outcome = await store.record({
    corpId,
    agentId,
    dedupeKey: `test|${externalUserId}|${sequence}`,
    kind: event.kind,
    changeType: event.changeType,
    event,
    now: Date.now(),
  });
  return { store, id: outcome.id, event };
}

async function deliver(queue: string, eventId: number, attempts: number, run: (batch: MessageBatch<EventMessage>) => Promise<void>) {
  const batch = createMessageBatch<EventMessage>(queue, [{ id: `m${eventId}-${attempts}`, timestamp: new Date(), attempts, body: { eventId } }]);
  const ctx = createExecutionContext();
  await run(batch);
  return getQueueResult(batch, ctx);
}

describe('event consumer', () => {
  it('runs the handlers for the kind and marks the event applied', async () => {
    const { store, id } = await recordEvent('wmApplied');
    const seen: string[] = [];
    const registry = createRegistry().on('change_external_contact', async (event) => {
      seen.push(event.externalUserId);
    });
    const result = await deliver('wecom-events', id, 1, (batch) => consumeEvents(batch, env, registry));
    expect(result.explicitAcks).toEqual([`m${id}-1`]);
    expect(seen).toEqual(['wmApplied']);
    expect((await store.get(id))?.status).toBe('applied');
  });

  it('does not apply an already applied event again when the queue redelivers it', async () => {
    const { id } = await recordEvent('wmRedelivered');
    let calls = 0;
    const registry = createRegistry().on('change_external_contact', async () => {
      calls += 1;
    });
    await deliver('wecom-events', id, 1, (batch) => consumeEvents(batch, env, registry));
    const again = await deliver('wecom-events', id, 2, (batch) => consumeEvents(batch, env, registry));
    expect(again.explicitAcks).toHaveLength(1);
    expect(calls).toBe(1);
  });

  it('records a failing attempt and asks the queue to retry with backoff', async () => {
    const { store, id } = await recordEvent('wmFlaky');
    const registry = createRegistry().on('change_external_contact', async () => {
      throw new Error('CRM unreachable');
    });
    const result = await deliver('wecom-events', id, 3, (batch) => consumeEvents(batch, env, registry));
    expect(result.retryMessages).toMatchObject([{ msgId: `m${id}-3` }]);
    expect(result.explicitAcks).toEqual([]);
    const stored = await store.get(id);
    expect(stored?.status).toBe('received');
    expect(stored?.attempts).toBe(3);
    expect(stored?.lastError).toContain('CRM unreachable');
  });

  it('marks the event failed, keeping its last error, when it reaches the dead-letter queue', async () => {
    const { store, id } = await recordEvent('wmDead');
    const registry = createRegistry().on('change_external_contact', async () => {
      throw new Error('customer table locked');
    });
    await deliver('wecom-events', id, 6, (batch) => consumeEvents(batch, env, registry));
    const result = await deliver('wecom-events-dlq', id, 1, (batch) => consumeDeadLetters(batch, env));
    expect(result.explicitAcks).toHaveLength(1);
    const stored = await store.get(id);
    expect(stored?.status).toBe('failed');
    expect(stored?.lastError).toContain('customer table locked');
  });

  it('backs off exponentially and caps the delay', () => {
    expect([1, 2, 3, 4, 10].map(retryDelaySeconds)).toEqual([5, 10, 20, 40, 300]);
  });
});
