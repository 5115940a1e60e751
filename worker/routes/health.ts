/**
 * @module
 * `GET /healthz`: public, secret-free status of the bindings and the configuration.
 */
import { Hono } from 'hono';
import { configOf } from '../env.ts';
import type { AppEnv } from '../types.ts';

type Check = 'ok' | 'error' | 'missing';

async function probe(run: () => Promise<unknown>): Promise<Check> {
  try {
    await run();
    return 'ok';
  } catch {
    return 'error';
  }
}

export const health = new Hono<AppEnv>().get('/', async (c) => {
  const env = c.env;
  const [kv, d1] = await Promise.all([
    env.KV ? probe(() => env.KV.get('health:probe')) : Promise.resolve<Check>('missing'),
    env.DB ? probe(() => env.DB.prepare('SELECT 1').first()) : Promise.resolve<Check>('missing'),
  ]);
  // A queue cannot be read without sending to it; a bound producer is what the worker can know.
  const queue: Check = env.EVENTS && typeof env.EVENTS.send === 'function' ? 'ok' : 'missing';
  const config = configOf(env);
  const bindingsOk = kv === 'ok' && d1 === 'ok' && queue === 'ok';
  return c.json({
    ok: bindingsOk && config.ok,
    bindings: { kv, d1, queue },
    config: config.ok ? { complete: true, apps: config.config.apps.length } : { complete: false, problems: config.problems },
  });
});
