/**
 * @module
 * The sidebar in Chromium against the running product: the SPA built in simulator mode, whose
 * stand-in checks every JS-SDK signature against the WeCom simulator's tickets, the worker
 * signing with tickets it fetched from the simulator, and the real login path.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { demoIds } from '../fixtures/demo-corp.ts';
import { launchBrowser, saveScreenshot } from './browser.ts';

const baseUrl = inject('baseUrl');
const simulatorUrl = inject('simulatorUrl');
const WECOM_UA = (language: 'zh' | 'en') =>
  `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36 wxwork/4.1.20 MicroMessenger/7.0.1 Language/${language}`;

let browser: Browser;

async function simulator(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${simulatorUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
  if (!response.ok) throw new Error(`simulator ${path}: ${response.status} ${await response.text()}`);
}

/** A browser context signed in as `userid` through /auth/login and the simulator's OAuth page. */
async function signedIn(userid: string, language: 'zh' | 'en' = 'zh'): Promise<BrowserContext> {
  const context = await browser.newContext({ userAgent: WECOM_UA(language), locale: language === 'zh' ? 'zh-CN' : 'en-US', viewport: { width: 360, height: 720 } });
  const page = await context.newPage();
  await page.goto(`${baseUrl}/auth/login?return=/`);
  await page.locator(`a.pick[data-userid="${userid}"]`).click();
  await page.waitForURL(`${baseUrl}/`);
  await page.close();
  return context;
}

/** Opens the sidebar as WeCom would for a chat, counting the signature requests the page makes. */
async function openSidebar(context: BrowserContext, query: string): Promise<{ page: Page; signatureRequests: Array<Record<string, unknown>> }> {
  const page = await context.newPage();
  const signatureRequests: Array<Record<string, unknown>> = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/jssdk/signatures') signatureRequests.push(request.postDataJSON() as Record<string, unknown>);
  });
  await page.goto(`${baseUrl}/?${query}#/`);
  return { page, signatureRequests };
}

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await simulator('/__sim/mode', { trustedDomains: null, noContactPermission: false });
});

describe('the sidebar next to a chat', () => {
  it('opens a 1:1 chat: one signatures request, registration verified by the simulator, the contact card', async () => {
    const context = await signedIn('wangwu');
    const { page, signatureRequests } = await openSidebar(context, `entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}`);
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    expect(await page.getByTestId('followers').textContent()).toContain('王五');
    expect(signatureRequests).toEqual([{ url: `${baseUrl}/?entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}` }]);
    // The stand-in asked both signers once (config and agentConfig) and the simulator accepted both.
    const standIn = page.getByTestId('wecom-standin');
    expect(await standIn.getAttribute('data-registration')).toBe('ok');
    expect(await standIn.getAttribute('data-signer-calls')).toBe('2');
    await saveScreenshot(page, 'sidebar-contact');
    await context.close();
  });

  it('runs under its Content-Security-Policy: the stand-in, signing and the contact card, with no violation', async () => {
    const context = await signedIn('wangwu');
    await context.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} ${event.blockedURI}`));
    });
    const { page } = await openSidebar(context, `entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}`);
    await page.getByTestId('contact-card').waitFor();
    const csp = (await page.request.get(`${baseUrl}/`)).headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(await page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations)).toEqual([]);
    // An inline script, as an injected one would be, is refused.
    expect(await page.evaluate(() => new Promise<boolean>((resolve) => {
      const script = document.createElement('script');
      script.textContent = 'window.inlineRan = true';
      document.body.append(script);
      setTimeout(() => resolve((window as unknown as { inlineRan?: boolean }).inlineRan === true), 50);
    }))).toBe(false);
    await context.close();
  });

  it('lists a customer group and opens a member’s card without signing again', async () => {
    const context = await signedIn('wangwu');
    const { page, signatureRequests } = await openSidebar(context, `entry=group_chat_tools&chat=${demoIds.chatId}`);
    await page.getByTestId('group-chat').locator('h2').waitFor();
    expect(await page.getByTestId('group-chat').textContent()).toContain('星河贸易项目群');
    expect(await page.getByTestId('external-members').locator('li').count()).toBe(3);
    await saveScreenshot(page, 'sidebar-group');
    await page.locator(`[data-member="${demoIds.externalUserIds.followedByTwo}"]`).click();
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    expect(signatureRequests).toHaveLength(1);
    await context.close();
  });

  it('creates a customer for an unbound contact, edits it, and shows a concurrent edit as a conflict', async () => {
    const context = await signedIn('wangwu');
    const { page } = await openSidebar(context, `entry=single_chat_tools&contact=${demoIds.externalUserIds.withoutUnionid}`);
    await page.getByTestId('bind-panel').waitFor();
    await page.getByTestId('start-create').click();
    await page.getByTestId('create-form').locator('button[type="submit"]').click();
    await page.getByTestId('customer-record').waitFor();

    // Someone else saves the record in between: the worker must answer our next save with 412.
    const cookie = (await context.cookies(baseUrl)).map((c) => `${c.name}=${c.value}`).join('; ');
    const contact = (await (await fetch(`${baseUrl}/api/contacts/${demoIds.externalUserIds.withoutUnionid}`, { headers: { cookie } })).json()) as { customer: { id: string; version: number } };
    const other = await fetch(`${baseUrl}/api/customers/${contact.customer.id}`, {
      method: 'PATCH',
      headers: { cookie, origin: baseUrl, 'content-type': 'application/json', 'if-match': `"${contact.customer.version}"` },
      body: JSON.stringify({ company: '别人改的公司' }),
    });
    expect(other.status).toBe(200);

    const company = page.locator('[data-testid="customer-record"] [data-field="company"]');
    await company.locator('button').click();
    await company.locator('input').fill('我改的公司');
    await company.locator('button[type="submit"]').click();
    await page.getByTestId('conflict').waitFor();
    expect(await page.getByTestId('conflict-theirs').textContent()).toBe('别人改的公司');
    expect(await page.getByTestId('conflict-mine').textContent()).toBe('我改的公司');
    await saveScreenshot(page, 'sidebar-conflict');
    await page.getByTestId('conflict-reapply').click();
    await page.getByTestId('conflict').waitFor({ state: 'detached' });
    expect(await company.textContent()).toContain('我改的公司');
    await context.close();
  });

  it('says so when the app lacks the customer-contact permission', async () => {
    const context = await signedIn('wangwu');
    const { page } = await openSidebar(context, `entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}&perm=none`);
    await page.getByTestId('problem-no_permission').waitFor();
    expect(await page.getByTestId('problem-no_permission').textContent()).toContain('可调用接口的应用');
    await context.close();
  });

  it('names the trusted-domain setting when WeCom refuses the page domain, without re-signing', async () => {
    const context = await signedIn('wangwu');
    await simulator('/__sim/mode', { trustedDomains: ['sidebar.example.com'] });
    const { page, signatureRequests } = await openSidebar(context, `entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}`);
    await page.getByTestId('problem-untrusted_domain').waitFor();
    expect(await page.getByTestId('problem-untrusted_domain').textContent()).toContain('可信域名');
    expect(signatureRequests).toHaveLength(1);
    await saveScreenshot(page, 'sidebar-untrusted-domain');
    await context.close();
  });

  it('speaks English when the WeCom client does', async () => {
    const context = await signedIn('wangwu', 'en');
    const { page } = await openSidebar(context, `entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}`);
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('Followed by');
    await context.close();
  });

  // Runs last in this file: it moves the simulator's clock past every ticket's lifetime.
  it('recovers from tickets WeCom no longer accepts by asking once for fresh signatures', async () => {
    const context = await signedIn('wangwu');
    await simulator('/__sim/clock', { advanceSeconds: 7300 });
    const { page, signatureRequests } = await openSidebar(context, `entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}`);
    await page.getByTestId('contact-card').waitFor();
    expect(signatureRequests).toEqual([
      { url: `${baseUrl}/?entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}` },
      { url: `${baseUrl}/?entry=single_chat_tools&contact=${demoIds.externalUserIds.followedByTwo}`, refresh: true },
    ]);
    await context.close();
  });
});

describe('the admin pages', () => {
  it('let an admin start an org sync and follow it to its result, from a plain browser', async () => {
    const context = await browser.newContext({ locale: 'zh-CN', viewport: { width: 360, height: 720 } });
    const login = await context.newPage();
    await login.goto(`${baseUrl}/auth/login?return=${encodeURIComponent('/#/admin/users')}`);
    await login.locator(`a.pick[data-userid="${demoIds.admin}"]`).click();
    await login.getByTestId('admin-users').waitFor();
    await login.locator('[data-testid="admin-user"]').first().waitFor();
    expect(await login.getByTestId('admin-users').textContent()).toContain('张三');
    await login.getByTestId('start-sync').click();
    await login.locator('[data-testid="sync-status"]:is([data-status="succeeded"], [data-status="failed"])').waitFor({ timeout: 30_000 });
    await saveScreenshot(login, 'admin-users');
    await context.close();
  });
});
