/**
 * @module
 * Puts a browser context inside the simulated WeCom client: the simulator's `/__sim/client.js`
 * (dev/simulator/client-script.ts), added to every page before the page's own scripts, as WeCom
 * injects its bridge. Playwright's init scripts are not subject to the page's CSP, as WeCom's
 * injection is not. The context's user agent (the HTTP header) is WeCom's too.
 */
import type { Browser, BrowserContext, BrowserContextOptions, Page } from 'playwright-core';
import { weComUserAgent } from '../../dev/simulator/client-config.ts';

export interface ClientOptions {
  version?: string;
  platform?: 'desktop' | 'mobile';
  bridge?: 'ready' | 'late' | 'none';
  lateMs?: number;
  entry?: string;
  contact?: string;
  chat?: string;
  perm?: 'none';
  /** Native APIs the client lacks. */
  missing?: string[];
  language?: 'zh' | 'en';
}

/** The simulated client's script for these options, as the simulator serves it. */
export async function clientScript(simulatorUrl: string, options: ClientOptions): Promise<string> {
  const query = new URLSearchParams();
  for (const [key, value] of Object.entries(options)) {
    if (key === 'language' || value === undefined) continue;
    query.set(key, Array.isArray(value) ? value.join(',') : String(value));
  }
  // The context sets the user agent (with the language) itself; the script leaves it alone.
  query.set('ua', '0');
  const response = await fetch(`${simulatorUrl}/__sim/client.js?${query.toString()}`);
  if (!response.ok) throw new Error(`client.js: ${response.status}`);
  return response.text();
}

export function userAgentFor(options: ClientOptions): string {
  const agent = weComUserAgent(options.version ?? '4.1.20', options.platform ?? 'desktop');
  return options.language === 'en' ? agent.replace('Language/zh', 'Language/en') : agent;
}

/** A context whose pages open inside the simulated WeCom client. */
export async function weComContext(browser: Browser, simulatorUrl: string, options: ClientOptions = {}, extra: BrowserContextOptions = {}): Promise<BrowserContext> {
  const context = await browser.newContext({
    userAgent: userAgentFor(options),
    locale: options.language === 'en' ? 'en-US' : 'zh-CN',
    viewport: options.platform === 'mobile' ? { width: 390, height: 780 } : { width: 360, height: 720 },
    ...extra,
  });
  await context.addInitScript({ content: await clientScript(simulatorUrl, options) });
  return context;
}

/** What the page's simulated client was asked, by native name. */
export function invokedNames(page: Page): Promise<string[]> {
  return page.evaluate(() => (window as unknown as { __weComClient: { invokes: Array<{ name: string }> } }).__weComClient.invokes.map((call) => call.name));
}

/** Moves the open sidebar to another chat, as the member does in the client. */
export async function switchChat(page: Page, next: { entry?: string; contact?: string; chat?: string }): Promise<void> {
  await page.evaluate((scene) => (window as unknown as { __weComClient: { switchChat(next: object): void } }).__weComClient.switchChat(scene), next);
}
