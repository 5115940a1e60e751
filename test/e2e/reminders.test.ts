/**
 * @module
 * A follow-up reminder end to end: set through the worker, sent by the reminder cron (fired with
 * `wrangler dev --test-scheduled`), received by the WeCom simulator as a textcard, and its link
 * opened in the simulated WeCom client: through OAuth (no session yet) and back onto that customer.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { REMINDER_CRON } from '../../worker/crons.ts';
import { simulatorControl } from '../simulator-control.ts';
import { launchBrowser, saveScreenshot } from './browser.ts';
import { loginAs } from './session.ts';
import { weComContext } from './wecom.ts';

const baseUrl = inject('baseUrl');
const simulatorUrl = inject('simulatorUrl');
const sim = simulatorControl(simulatorUrl);
const CONTACT = demoIds.externalUserIds.withoutUnionid;

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function call(cookie: string, method: string, path: string, body?: unknown): Promise<unknown> {
  const response = await fetch(`${baseUrl}${path}`, {
    method,
    headers: { cookie, origin: baseUrl, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${await response.text()}`);
  return response.json();
}

interface SimMessage {
  request: { touser: string; textcard?: { title: string; url: string } };
  delivered: string[];
}

async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('a follow-up reminder', () => {
  it("is sent to the owner as a textcard whose link opens that customer, after WeCom's login", async () => {
    const cookie = await loginAs(baseUrl, simulatorUrl, 'wangwu');
    const contact = (await call(cookie, 'GET', `/api/contacts/${CONTACT}`)) as { customer: { id: string } | null };
    const customer = contact.customer ?? ((await call(cookie, 'POST', `/api/contacts/${CONTACT}/customer`, { name: '刘洋（提醒）' })) as { customer: { id: string } }).customer;
    // A minute ago is still accepted (a slow form), so the next run sends it.
    await call(cookie, 'PUT', `/api/customers/${customer.id}/follow-up`, { dueAt: Date.now() - 60_000, note: '回访报价' });

    const fired = await fetch(`${baseUrl}/__scheduled?cron=${encodeURIComponent(REMINDER_CRON)}`);
    expect(fired.status).toBe(200);
    // The trigger answers at once; the job runs on in waitUntil.
    const reminder = await waitFor(async () => {
      const { messages } = (await sim('messages')) as { messages: SimMessage[] };
      return messages.find((m) => m.request.textcard?.url.includes(`customer=${encodeURIComponent(customer.id)}`) && m.request.textcard.title.startsWith('跟进提醒'));
    });
    expect(reminder.delivered).toEqual(['wangwu']);
    const url = reminder.request.textcard!.url;
    expect(url.startsWith(`${baseUrl}/?`)).toBe(true);

    // A member opens the card in the WeCom client with no session: WeCom's OAuth, then back to the link.
    const context = await weComContext(browser, simulatorUrl, { entry: 'normal' });
    const page = await context.newPage();
    await page.goto(url);
    await page.locator('a.pick[data-userid="wangwu"]').click();
    await page.waitForURL(url);
    await page.getByTestId('customer-view').waitFor();
    expect(await page.getByTestId('customer-record').textContent()).toContain('刘洋');
    await page.getByTestId('follow-up').getByText('未设置跟进时间').waitFor();
    await page.getByTestId('timeline').getByText('发送了跟进提醒').first().waitFor();
    await saveScreenshot(page, 'reminder-link');
    await context.close();
  });
});
