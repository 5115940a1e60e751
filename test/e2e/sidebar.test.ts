/**
 * @module
 * The sidebar in Chromium against the running product: the production SPA with the real
 * `@wecom/jssdk`, inside the simulated WeCom client (test/e2e/wecom.ts) whose native bridge checks
 * every JS-SDK signature against the WeCom simulator's tickets, the worker signing with tickets it
 * fetched from the simulator, and the real login path.
 */
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { launchBrowser, saveScreenshot } from './browser.ts';
import { invokedNames, switchChat, weComContext, type ClientOptions } from './wecom.ts';
import { simulatorControl } from '../simulator-control.ts';

const baseUrl = inject('baseUrl');
const simulatorUrl = inject('simulatorUrl');
const CHEN_JING = demoIds.externalUserIds.followedByTwo;

let browser: Browser;

const sim = simulatorControl(simulatorUrl);

/** A context inside the simulated WeCom client, signed in as `userid` through /auth/login and the simulator's OAuth page. */
async function signedIn(userid: string, client: ClientOptions = {}): Promise<BrowserContext> {
  const context = await weComContext(browser, simulatorUrl, client);
  const page = await context.newPage();
  await page.goto(`${baseUrl}/auth/login?return=/`);
  await page.locator(`a.pick[data-userid="${userid}"]`).click();
  await page.waitForURL(`${baseUrl}/`);
  await page.close();
  return context;
}

/** Opens the sidebar's configured URL as WeCom does, counting the signature requests the page makes. */
async function openSidebar(context: BrowserContext): Promise<{ page: Page; signatureRequests: Array<Record<string, unknown>> }> {
  const page = await context.newPage();
  const signatureRequests: Array<Record<string, unknown>> = [];
  page.on('request', (request) => {
    if (new URL(request.url()).pathname === '/api/jssdk/signatures') signatureRequests.push(request.postDataJSON() as Record<string, unknown>);
  });
  await page.goto(`${baseUrl}/#/`);
  return { page, signatureRequests };
}

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
});
afterEach(async () => {
  await sim('mode', { trustedDomains: null, noContactPermission: false });
});

describe('the sidebar next to a chat', () => {
  it('opens a 1:1 chat: signatures from the page itself, agentConfig alone verified by the client, the contact card', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING });
    const { page, signatureRequests } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    expect(await page.getByTestId('followers').textContent()).toContain('王五');
    // The worker put the signatures for this page into its HTML (worker/routes/page.ts): none asked for.
    expect(signatureRequests).toEqual([]);
    // A client from 3.0.24 on: the SDK runs agentConfig only, never config (preVerifyJSAPI).
    expect(await invokedNames(page)).toEqual(['agentConfig', 'getContext', 'getCurExternalContact']);
    await saveScreenshot(page, 'sidebar-contact');
    await context.close();
  });

  it('runs under its Content-Security-Policy: the real SDK, signing and the contact card, with no violation', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING });
    await context.addInitScript(() => {
      const seen: string[] = [];
      (window as unknown as { cspViolations: string[] }).cspViolations = seen;
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} ${event.blockedURI}`));
    });
    const { page } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    const csp = (await page.request.get(`${baseUrl}/`)).headers()['content-security-policy'] ?? '';
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('127.0.0.1:');
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
    const context = await signedIn('wangwu', { entry: 'group_chat_tools', chat: demoIds.chatId });
    const { page, signatureRequests } = await openSidebar(context);
    await page.getByTestId('group-chat').locator('h2').waitFor();
    expect(await page.getByTestId('group-chat').textContent()).toContain('星河贸易项目群');
    expect(await page.getByTestId('external-members').locator('li').count()).toBe(3);
    await saveScreenshot(page, 'sidebar-group');
    await page.locator(`[data-member="${CHEN_JING}"]`).click();
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    expect(signatureRequests).toHaveLength(0);
    await context.close();
  });

  it('shows the contact card when opened from a contact profile, on a mobile client', async () => {
    const context = await signedIn('wangwu', { entry: 'contact_profile', contact: CHEN_JING, platform: 'mobile' });
    const { page } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    await context.close();
  });

  it('follows the member to another chat while the sidebar stays open', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING });
    const { page, signatureRequests } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    // The sidebar re-reads the context at most every 2 s after it comes back into view.
    await page.waitForTimeout(2100);
    await switchChat(page, { entry: 'group_chat_tools', chat: demoIds.chatId });
    await page.getByTestId('group-chat').locator('h2').waitFor();
    expect(await page.getByTestId('group-chat').textContent()).toContain('星河贸易项目群');
    expect(signatureRequests).toHaveLength(0);
    await context.close();
  });

  it('falls back to getCurExternalContact on a client before 3.0.24, which has no getContext', async () => {
    const context = await signedIn('wangwu', { version: '3.0.16', entry: 'single_chat_tools', contact: CHEN_JING });
    const { page, signatureRequests } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    // Before 3.0.24 the SDK runs config (the corp ticket) first, then agentConfig.
    expect(await invokedNames(page)).toEqual(['preVerifyJSAPI', 'agentConfig', 'getContext', 'getCurExternalContact']);
    expect(signatureRequests).toHaveLength(0);
    await context.close();
  });

  it('waits for a bridge that arrives late', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING, bridge: 'late', lateMs: 1500 });
    const { page } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    await context.close();
  });

  it('says to open the page from the WeCom sidebar when the user agent says WeCom but no bridge arrives', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING, bridge: 'none' });
    const started = Date.now();
    const { page } = await openSidebar(context);
    await page.getByTestId('problem-no_bridge').waitFor({ timeout: 15_000 });
    expect(Date.now() - started).toBeLessThan(12_000);
    expect(await page.getByTestId('problem-no_bridge').textContent()).toContain('请从企业微信侧边栏打开本页面');
    await saveScreenshot(page, 'sidebar-no-bridge');
    await context.close();
  });

  it('creates a customer for an unbound contact, edits it, and shows a concurrent edit as a conflict', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: demoIds.externalUserIds.withoutUnionid });
    const { page } = await openSidebar(context);
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
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING, perm: 'none' });
    const { page } = await openSidebar(context);
    await page.getByTestId('problem-no_permission').waitFor();
    expect(await page.getByTestId('problem-no_permission').textContent()).toContain('可调用接口的应用');
    await context.close();
  });

  it('names the trusted-domain setting when WeCom refuses the page domain, without re-signing', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING });
    await sim('mode', { trustedDomains: ['sidebar.example.com'] });
    const { page, signatureRequests } = await openSidebar(context);
    await page.getByTestId('problem-untrusted_domain').waitFor();
    expect(await page.getByTestId('problem-untrusted_domain').textContent()).toContain('可信域名');
    expect(signatureRequests).toHaveLength(0);
    await saveScreenshot(page, 'sidebar-untrusted-domain');
    await context.close();
  });

  it('speaks English when the WeCom client does', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING, language: 'en' });
    const { page } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('Followed by');
    await context.close();
  });

  it('refreshes once when WeCom refuses the signature in its own words (fail_invalid_signature, no code)', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING });
    // WeCom no longer knows the tickets the worker holds: the client answers agentConfig:fail_invalid_signature,
    // which the SDK hands on as agentConfig:invalidsignature with errCode -1.
    await sim('tickets/revoke', {});
    const { page, signatureRequests } = await openSidebar(context);
    await page.getByTestId('contact-card').waitFor();
    // The page's own signatures were refused: one request, for fresh tickets.
    expect(signatureRequests).toEqual([{ url: `${baseUrl}/`, refresh: true }]);
    expect(await invokedNames(page)).toEqual(['agentConfig', 'agentConfig', 'getContext', 'getCurExternalContact']);
    await context.close();
  });
});

describe('the sidebar after one round trip', () => {
  it('fills the card with one sequential round trip after WeCom names the contact: GET /api/contacts/:id alone', async () => {
    const context = await signedIn('wangwu', { entry: 'single_chat_tools', contact: CHEN_JING });
    // When the page hears getCurExternalContact's answer, on its own clock (the client's bridge is there before this runs).
    await context.addInitScript(() => {
      type Callback = (result: unknown) => void;
      const bridge = (window as unknown as { WeixinJSBridge: { invoke(name: string, params: unknown, callback?: Callback): void } }).WeixinJSBridge;
      const invoke = bridge.invoke.bind(bridge);
      bridge.invoke = (name, params, callback) =>
        invoke(name, params, (result) => {
          if (name === 'getCurExternalContact') (window as unknown as { answeredAt: number }).answeredAt = performance.now();
          callback?.(result);
        });
    });
    const page = await context.newPage();
    const requests: string[] = [];
    page.on('request', (request) => {
      const url = new URL(request.url());
      if (url.origin === baseUrl && url.pathname.startsWith('/api/')) requests.push(`${request.method()} ${url.pathname}`);
    });
    await page.goto(`${baseUrl}/#/`);
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    await page.getByTestId('wecom-tags').waitFor();
    // Nothing before WeCom's answer (the member and the signatures came with the page), one request after it
    // for the card; the member's WeCom tags (a chunk of their own) are asked for only once the card is there.
    expect(requests).toEqual([`GET /api/contacts/${CHEN_JING}`, `GET /api/contacts/${CHEN_JING}/tags`]);
    const timing = await page.evaluate(() => ({
      answeredAt: (window as unknown as { answeredAt?: number }).answeredAt ?? NaN,
      api: (performance.getEntriesByType('resource') as PerformanceResourceTiming[])
        .filter((entry) => new URL(entry.name).pathname.startsWith('/api/'))
        .map((entry) => ({ path: new URL(entry.name).pathname, startTime: entry.startTime, responseEnd: entry.responseEnd })),
    }));
    expect(timing.api.map((entry) => entry.path)).toEqual([`/api/contacts/${CHEN_JING}`, `/api/contacts/${CHEN_JING}/tags`]);
    expect(timing.api[1]!.startTime).toBeGreaterThanOrEqual(timing.api[0]!.responseEnd);
    expect(timing.api[0]!.startTime).toBeGreaterThanOrEqual(timing.answeredAt);
    await context.close();
  });

  it('sends WeCom without a session to OAuth before any HTML, and comes back to the same page with the card', async () => {
    const context = await weComContext(browser, simulatorUrl, { entry: 'single_chat_tools', contact: CHEN_JING });
    const page = await context.newPage();
    const documents: Array<{ url: string; status: number }> = [];
    page.on('response', (response) => {
      if (response.request().isNavigationRequest()) documents.push({ url: response.url(), status: response.status() });
    });
    await page.goto(`${baseUrl}/?from=toolbar#/`);
    await page.locator('a.pick[data-userid="wangwu"]').click();
    await page.getByTestId('contact-card').waitFor();
    expect(await page.getByTestId('contact-card').textContent()).toContain('陈静');
    // The first answer for the page is the redirect itself, to WeCom's in-app OAuth.
    expect(documents[0]).toEqual({ url: `${baseUrl}/?from=toolbar`, status: 302 });
    expect(documents[1]?.url).toMatch(new RegExp(`^${simulatorUrl}/connect/oauth2/authorize\\?`));
    expect(page.url()).toMatch(new RegExp(`^${baseUrl}/\\?from=toolbar(#|$)`));
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
