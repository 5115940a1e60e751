/**
 * @module
 * Quick replies in Chromium against the running product, inside the simulated WeCom client: a
 * demo reply (dev/fixtures/demo-replies.ts) sent into the chat lands in the simulated client's
 * chat, exactly as previewed, and is counted for the admins; outside a chat toolbar the sidebar
 * copies it instead and says why.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import type { ManagedReplyList } from '../../worker/wire.ts';
import { launchBrowser, saveScreenshot } from './browser.ts';
import { loginAs } from './session.ts';
import { weComContext, type ClientOptions } from './wecom.ts';

const baseUrl = inject('baseUrl');
const simulatorUrl = inject('simulatorUrl');
const CHEN_JING = demoIds.externalUserIds.followedByTwo;

let browser: Browser;

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});

async function sidebarAs(userid: string, client: ClientOptions): Promise<{ context: BrowserContext; page: Page }> {
  const context = await weComContext(browser, simulatorUrl, client, { permissions: ['clipboard-read', 'clipboard-write'] });
  const login = await context.newPage();
  await login.goto(`${baseUrl}/auth/login?return=/`);
  await login.locator(`a.pick[data-userid="${userid}"]`).click();
  await login.waitForURL(`${baseUrl}/`);
  await login.close();
  const page = await context.newPage();
  await page.goto(`${baseUrl}/#/`);
  await page.getByTestId('contact-card').waitFor();
  await page.getByTestId('quick-replies').locator('summary').click();
  await page.getByTestId('quick-reply').first().waitFor();
  return { context, page };
}

function replyTitled(page: Page, title: string) {
  return page.getByTestId('quick-reply').filter({ has: page.locator('strong', { hasText: title }) });
}

async function usageOf(title: string): Promise<{ sentCount: number; copiedCount: number; lastUsedAt: number | null }> {
  const cookie = await loginAs(baseUrl, simulatorUrl, 'zhangsan');
  const response = await fetch(`${baseUrl}/api/replies/manage`, { headers: { cookie } });
  expect(response.status).toBe(200);
  const reply = ((await response.json()) as ManagedReplyList).replies.find((candidate) => candidate.title === title);
  if (!reply) throw new Error(`no reply ${title}`);
  return reply;
}

describe('quick replies in the sidebar', () => {
  it('sends a reply into the 1:1 chat in one tap: the simulated client receives exactly the preview', async () => {
    const before = await usageOf('问候');
    const { context, page } = await sidebarAs('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING });
    try {
      // wangwu is in 华东销售部: its own reply is there, a corp-wide one too.
      await replyTitled(page, '展会回访').waitFor();
      const greeting = replyTitled(page, '问候');
      const preview = (await greeting.getByTestId('reply-preview').textContent())?.trim() ?? '';
      expect(preview).toBe('陈静-星河贸易您好，我是示例科技的王五，很高兴为您服务。');
      await greeting.getByTestId('reply-send').click();
      await greeting.getByTestId('reply-notice').waitFor();
      expect(await greeting.getByTestId('reply-notice').textContent()).toContain('已发送到当前聊天');
      const sent = await page.evaluate(() => (window as unknown as { __weComClient: { sent: unknown[] } }).__weComClient.sent);
      expect(sent).toMatchObject([{ entry: 'single_chat_tools', to: CHEN_JING, msgtype: 'text', body: { content: preview } }]);
      await saveScreenshot(page, 'sidebar-quick-replies');
      await expect.poll(async () => (await usageOf('问候')).sentCount).toBe(before.sentCount + 1);
    } finally {
      await context.close();
    }
  });

  it('outside a chat toolbar (a contact’s profile) copies the reply instead, and says so', async () => {
    const before = await usageOf('产品介绍');
    const { context, page } = await sidebarAs('wangwu', { entry: 'contact_profile', contact: CHEN_JING });
    try {
      const card = replyTitled(page, '产品介绍');
      expect(await page.getByTestId('reply-send').count()).toBe(0);
      await card.getByTestId('reply-copy').click();
      await card.getByTestId('reply-notice').waitFor();
      expect(await card.getByTestId('reply-notice').getAttribute('data-kind')).toBe('copied_here');
      expect(await card.getByTestId('reply-notice').textContent()).toContain('此处不是聊天工具栏');
      expect(await page.evaluate(() => navigator.clipboard.readText())).toBe('示例科技产品介绍\n给陈静的产品手册\nhttps://example.com/products');
      const invoked = await page.evaluate(() => (window as unknown as { __weComClient: { invokes: Array<{ name: string }> } }).__weComClient.invokes.map((call) => call.name));
      expect(invoked).not.toContain('sendChatMessage');
      await expect.poll(async () => (await usageOf('产品介绍')).copiedCount).toBe(before.copiedCount + 1);
    } finally {
      await context.close();
    }
  });
});
