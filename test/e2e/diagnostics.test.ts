/**
 * @module
 * The diagnostics page in Chromium against the running product: an admin opens it from a plain
 * browser, then the WeCom simulator takes the customer-contact permission away and the page, run
 * again, names the refusal (48002) and the console step that fixes it.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, Page } from 'playwright-core';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { launchBrowser, saveScreenshot } from './browser.ts';
import { simulatorControl } from '../simulator-control.ts';

const baseUrl = inject('baseUrl');
const simulatorUrl = inject('simulatorUrl');

let browser: Browser;

const sim = simulatorControl(simulatorUrl);

const check = (page: Page, id: string) => page.locator(`[data-testid="diagnostic-check"][data-check="${id}"]`);

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await sim('mode', { noContactPermission: false });
});

describe('the diagnostics page', () => {
  it('shows the customer-contact refusal with its errcode and fix after running again', async () => {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 360, height: 720 } });
    const page = await context.newPage();
    await page.goto(`${baseUrl}/auth/login?return=${encodeURIComponent('/#/admin/diagnostics')}`);
    await page.locator(`a.pick[data-userid="${demoIds.admin}"]`).click();
    await page.getByTestId('diagnostics-summary').waitFor();

    const ids = await page.locator('[data-testid="diagnostic-check"]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-check')));
    expect(ids).toEqual(['config', 'access_token', 'jssdk_tickets', 'customer_contact', 'visible_range', 'callback', 'origin']);
    expect(await check(page, 'customer_contact').getAttribute('data-status')).toBe('pass');
    expect(await check(page, 'access_token').getAttribute('data-status')).toBe('pass');
    // The page is on the worker's own origin, which it always signs for.
    expect(await check(page, 'origin').getAttribute('data-status')).toBe('pass');
    expect(await check(page, 'origin').locator('[data-detail="origin"] dd').textContent()).toBe(new URL(baseUrl).origin);
    expect(await check(page, 'callback').getByTestId('callback-url').textContent()).toBe(`${new URL(baseUrl).origin}/wecom/callback/${demoIds.corpId}/${demoIds.agentId}`);

    await sim('mode', { noContactPermission: true });
    await page.getByTestId('run-diagnostics').click();
    await page.locator('[data-testid="diagnostic-check"][data-check="customer_contact"][data-status="fail"]').waitFor();
    const contact = check(page, 'customer_contact');
    expect(await contact.getByTestId('check-errcode').textContent()).toContain('48002');
    expect(await contact.getByTestId('check-fix').textContent()).toContain('可调用接口的应用');
    expect(await page.getByTestId('summary-fail').getAttribute('data-count')).not.toBe('0');
    // Fits the 360 px sidebar: nothing pushes the page sideways.
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await saveScreenshot(page, 'admin-diagnostics');

    await page.locator('header.bar button.lang').click();
    expect(await contact.getByTestId('check-fix').textContent()).toContain('Add this app under');
    expect(await page.evaluate(() => document.documentElement.scrollWidth)).toBeLessThanOrEqual(360);
    await saveScreenshot(page, 'admin-diagnostics-en');
    await context.close();
  });
});
