import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { launchBrowser, saveScreenshot } from './browser.ts';

describe('the product on local serving', () => {
  const baseUrl = inject('baseUrl');
  let browser: Browser;

  beforeAll(async () => {
    browser = await launchBrowser();
  });
  afterAll(async () => {
    await browser?.close();
  });

  it('answers /healthz green', async () => {
    const response = await fetch(`${baseUrl}/healthz`);
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ ok: true, bindings: { kv: 'ok', d1: 'ok', queue: 'ok' } });
  });

  it('serves the SPA, its fallback routes and its files with the security headers', async () => {
    for (const path of ['/', '/index.html', '/some/deep/link']) {
      const response = await fetch(`${baseUrl}${path}`);
      expect(response.status, path).toBe(200);
      const csp = response.headers.get('content-security-policy') ?? '';
      expect(csp, path).toContain("script-src 'self'");
      expect(csp, path).toContain("frame-ancestors 'none'");
      expect(response.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(response.headers.get('referrer-policy'), path).toBe('strict-origin-when-cross-origin');
    }
    const html = await (await fetch(`${baseUrl}/`)).text();
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeTruthy();
    const asset = await fetch(`${baseUrl}${script}`);
    expect(asset.headers.get('x-content-type-options')).toBe('nosniff');
    // The page is the worker's (it carries the member when there is one): never cached; the files stay cacheable.
    const page = await fetch(`${baseUrl}/`);
    expect(page.headers.get('cache-control')).toBe('no-store');
    expect(page.headers.get('vary')).toContain('Cookie');
    expect(await page.text()).toContain('<script type="application/json" id="boot">{"me":null,"signatures":null}</script>');
    expect(asset.headers.get('cache-control') ?? '').not.toContain('no-store');
    // The rules file configures serving; it is not itself served.
    expect(await (await fetch(`${baseUrl}/_headers`)).text()).not.toContain('Content-Security-Policy:');
  });

  it('loads the sidebar shell in a plain browser and says it is not inside WeCom', async () => {
    const page = await browser.newPage({ locale: 'zh-CN' });
    await page.goto(`${baseUrl}/`);
    await page.getByTestId('not-in-wecom').waitFor();
    expect(await page.locator('#app').count()).toBe(1);
    expect(await page.getByTestId('not-in-wecom').textContent()).toContain('请在企业微信中打开');
    await saveScreenshot(page, 'not-in-wecom');
    await page.close();
  });
});
