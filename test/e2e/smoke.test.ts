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
