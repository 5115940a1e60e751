import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';

describe('GET /healthz', () => {
  it('reports reachable bindings and a complete configuration without printing secrets', async () => {
    const response = await exports.default.fetch('http://sidebar.test/healthz');
    expect(response.status).toBe(200);
    const text = await response.text();
    expect(JSON.parse(text)).toEqual({
      ok: true,
      bindings: { kv: 'ok', d1: 'ok', queue: 'ok' },
      config: { complete: true, apps: 1 },
    });
    for (const secret of [env.WECOM_SECRET, env.SESSION_SECRET, env.WECOM_ENCODING_AES_KEY, env.WECOM_CALLBACK_TOKEN]) {
      expect(text).not.toContain(secret);
    }
  });

  it('names every missing production value, still without secrets', async () => {
    const app = createApp();
    const bare = { ...env, WECOM_SECRET: undefined, SESSION_SECRET: 'short', WECOM_ENCODING_AES_KEY: 'x'.repeat(42) };
    const response = await app.request('/healthz', {}, bare);
    const body = await response.json<{ ok: boolean; config: { complete: boolean; problems: string[] } }>();
    expect(response.status).toBe(200);
    expect(body.ok).toBe(false);
    expect(body.config.complete).toBe(false);
    expect(body.config.problems).toEqual([
      'WECOM_SECRET is missing',
      'WECOM_ENCODING_AES_KEY must be exactly 43 letters or digits (got 42 characters)',
      'SESSION_SECRET must be at least 32 characters of random text',
    ]);
  });

  it('refuses other routes with 503 and the configuration problems while config is incomplete', async () => {
    const app = createApp();
    const response = await app.request('/api/me', {}, { ...env, WECOM_CORP_ID: undefined });
    expect(response.status).toBe(503);
    const body = await response.json<{ error: string; message: string }>();
    expect(body.error).toBe('config_incomplete');
    expect(body.message).toContain('WECOM_CORP_ID is missing');
  });
});
