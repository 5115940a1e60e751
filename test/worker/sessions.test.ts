import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { createSessionStore, SESSION_IDLE_SECONDS, SESSION_MAX_SECONDS } from '../../worker/identity/sessions.ts';

const fields = { userId: 1, corpId: 'wwdemo0000000001', agentId: '1000002', wecomUserId: 'wangwu', generation: 0 };
const HOUR = 60 * 60 * 1000;

function storeAt(clock: { now: number }) {
  return createSessionStore(env.KV, env.SESSION_SECRET!, () => clock.now);
}

describe('sessions', () => {
  it('slide: each use within the idle time keeps the session alive', async () => {
    const clock = { now: Date.now() };
    const { id } = await storeAt(clock).create(fields);
    for (let step = 0; step < 3; step++) {
      clock.now += SESSION_IDLE_SECONDS * 1000 - HOUR;
      expect(await storeAt(clock).read(id)).toMatchObject({ wecomUserId: 'wangwu' });
    }
  });

  it('end after the idle time without use', async () => {
    const clock = { now: Date.now() };
    const { id } = await storeAt(clock).create(fields);
    clock.now += SESSION_IDLE_SECONDS * 1000 + 1000;
    expect(await storeAt(clock).read(id)).toBeUndefined();
  });

  it('never outlive the maximum, however active', async () => {
    const clock = { now: Date.now() };
    const { id } = await storeAt(clock).create(fields);
    clock.now += SESSION_MAX_SECONDS * 1000 + 1000;
    expect(await storeAt(clock).read(id)).toBeUndefined();
  });

  it('refuse malformed ids without touching KV, and revoke', async () => {
    const store = createSessionStore(env.KV, env.SESSION_SECRET!);
    expect(await store.read('../../etc')).toBeUndefined();
    const { id } = await store.create(fields);
    await store.revoke(id);
    expect(await store.read(id)).toBeUndefined();
  });
});
