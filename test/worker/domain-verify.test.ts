/**
 * @module
 * `GET /WW_verify_<code>.txt` from WECOM_DOMAIN_VERIFY, and the validation of that value.
 */
import { createExecutionContext, env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { describe, expect, it } from 'vitest';
import { createApp } from '../../worker/app.ts';
import type { Env } from '../../worker/bindings.ts';
import { readConfig } from '../../worker/env.ts';

const files = 'WW_verify_AbC123xyz.txt:k9Jd72Lmq0Zt, WW_verify_Second42.txt:second-content';

function get(path: string, overrides: Partial<Env> = { WECOM_DOMAIN_VERIFY: files }, method = 'GET'): Promise<Response> {
  return Promise.resolve(createApp().request(`https://crm.example.com${path}`, { method }, { ...env, ...overrides }, createExecutionContext()));
}

describe('GET /WW_verify_<code>.txt', () => {
  it('serves each configured file as plain text, exactly its content', async () => {
    const first = await get('/WW_verify_AbC123xyz.txt');
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toMatch(/^text\/plain/);
    expect(await first.text()).toBe('k9Jd72Lmq0Zt');
    const second = await get('/WW_verify_Second42.txt');
    expect(await second.text()).toBe('second-content');
  });

  it('answers HEAD the way WeCom may probe it', async () => {
    const response = await get('/WW_verify_AbC123xyz.txt', undefined, 'HEAD');
    expect(response.status).toBe(200);
  });

  it('answers an unknown verification file with a plain 404, not the SPA', async () => {
    for (const path of ['/WW_verify_Unknown.txt', '/WW_verify_AbC123xyz.txt.bak', '/WW_verify_']) {
      const response = await get(path);
      expect(response.status, path).toBe(404);
      expect(response.headers.get('content-type'), path).toMatch(/^text\/plain/);
      expect(await response.text()).toBe('Not Found');
    }
    const none = await exports.default.fetch('http://sidebar.test/WW_verify_AbC123xyz.txt');
    expect(none.status).toBe(404);
  });

  it('refuses malformed entries by name, like every other configuration value', () => {
    for (const [value, name] of [
      ['WW_verify_abc.txt', 'WW_verify_abc.txt'],
      ['WW_verify_abc.txt:', 'WW_verify_abc.txt'],
      ['ww_verify_abc.txt:x', 'ww_verify_abc.txt'],
      ['WW_verify_a-b.txt:x', 'WW_verify_a-b.txt'],
      ['verify.html:x', 'verify.html'],
    ] as const) {
      const result = readConfig({ ...env, WECOM_DOMAIN_VERIFY: value });
      expect(result.ok, value).toBe(false);
      if (!result.ok) {
        expect(result.problems).toEqual([
          `WECOM_DOMAIN_VERIFY entry "${name}" must be WW_verify_<code>.txt:<content>, the file name and text WeCom gives under 可信域名 → 申请校验域名`,
        ]);
      }
    }
    const twice = readConfig({ ...env, WECOM_DOMAIN_VERIFY: 'WW_verify_a.txt:1,WW_verify_a.txt:2' });
    expect(twice.ok ? [] : twice.problems).toEqual(['WECOM_DOMAIN_VERIFY lists WW_verify_a.txt twice with different contents']);
    const fine = readConfig({ ...env, WECOM_DOMAIN_VERIFY: files });
    expect(fine.ok && [...fine.config.domainVerifyFiles.keys()]).toEqual(['WW_verify_AbC123xyz.txt', 'WW_verify_Second42.txt']);
  });
});
