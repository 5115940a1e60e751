/**
 * @module
 * Bench part 4, the sidebar as a member meets it: the JavaScript a first load fetches (the scripts
 * index.html names in a production build, gzipped), and in Chromium the time from navigation to a
 * filled contact card, with the API requests the page makes and how many sequential round trips
 * they took: the production bundle with the real `@wecom/jssdk`, inside the simulated WeCom client
 * (the simulator's `/__sim/client.js`, injected as the e2e suite does).
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import type { Browser, BrowserContext, Request } from 'playwright-core';
import { build } from 'vite';
import { demoIds } from '../dev/fixtures/demo-corp.ts';
import { weComUserAgent } from '../dev/simulator/client-config.ts';
import { percentile, type Target } from './bench-product.ts';
import { launchChromium } from './chromium.ts';
import { root } from './local.ts';

export interface FirstLoadJs {
  files: Array<{ file: string; bytes: number; gzipBytes: number }>;
  bytes: number;
  gzipBytes: number;
}

/** A production build into a temporary directory; the scripts index.html loads or preloads are the first load. */
export async function firstLoadJs(): Promise<FirstLoadJs> {
  const outDir = mkdtempSync(join(tmpdir(), 'sidebar-bench-build-'));
  try {
    await build({ configFile: join(root, 'vite.config.ts'), mode: 'production', logLevel: 'warn', build: { outDir, emptyOutDir: true } });
    const html = readFileSync(join(outDir, 'index.html'), 'utf8');
    const names = new Set<string>();
    for (const match of html.matchAll(/<script[^>]*\bsrc="([^"]+\.js)"/g)) if (match[1]) names.add(match[1]);
    for (const match of html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+\.js)"/g)) if (match[1]) names.add(match[1]);
    const files = [...names].map((name) => {
      const content = readFileSync(join(outDir, name.replace(/^\//, '')));
      return { file: name, bytes: content.length, gzipBytes: gzipSync(content, { level: 9 }).length };
    });
    if (files.length === 0) throw new Error('index.html names no script');
    return { files, bytes: files.reduce((sum, f) => sum + f.bytes, 0), gzipBytes: files.reduce((sum, f) => sum + f.gzipBytes, 0) };
  } finally {
    rmSync(outDir, { recursive: true, force: true });
  }
}

export type SidebarResult =
  | {
      measured: true;
      /** The Chromium that ran it (scripts/chromium.ts decides which), e.g. `Chromium 156.0.8078.129`. */
      browser: string;
      runs: number;
      /** From navigation start (the page's own clock) to a contact card showing the contact's name. */
      cardMs: number[];
      medianCardMs: number;
      p90CardMs: number;
      /** `/api/*` requests each run made, and their paths in the first run. */
      apiRequests: number[];
      apiPaths: string[];
      /** Sequential round trips each run (see roundTrips), and the first run's requests by round trip. */
      apiRoundTrips: number[];
      apiRounds: string[][];
      /**
       * Judged on sequential round trips, not on the request count: requests that overlap cost one wait.
       * Goal 1: the page itself carries the member and the signatures (worker/routes/page.ts), so only
       * the contact read waits, after WeCom names the contact.
       */
      met: boolean;
    }
  | { measured: false; reason: string };

// Desktop WeCom's user agent, as the e2e suite uses it; the SDK decides on it whether it runs inside WeCom.
const WECOM_UA = weComUserAgent('4.1.20', 'desktop');
const CONTACT = demoIds.externalUserIds.followedByTwo;
const CONTACT_NAME = '陈静';

interface ApiRequest {
  label: string;
  startMs: number;
  /** Infinity while unfinished: it then overlaps everything that starts later. */
  endMs: number;
}

/**
 * Which sequential round trip each request is on: 1 for a request that started before any other
 * had ended, else one more than the latest round trip among the requests that ended before it
 * started. Requests that overlap in time share a round trip; the largest number is how many the
 * page waited for one after another. "Ended before" is strict, so the recursion cannot cycle.
 */
export function roundTrips(requests: readonly ApiRequest[]): number[] {
  return requests.map(function depth(request): number {
    let before = 0;
    for (const other of requests) if (other.endMs < request.startMs) before = Math.max(before, depth(other));
    return before + 1;
  });
}

/** The demo profiles' avatars point at WeCom's CDN: a bench on this machine asks nothing of other hosts. */
async function stayOnLoopback(context: BrowserContext): Promise<void> {
  await context.route(/^[a-z]+:\/\/(?!127\.0\.0\.1[:/])/, (route) => route.abort('blockedbyclient'));
}

export async function benchSidebar(target: Target, runs = 7): Promise<SidebarResult> {
  let browser: Browser | undefined;
  try {
    browser = await launchChromium();
    // Log in once through the simulator's OAuth page, then start every run from a cold cache with that session.
    const login = await browser.newContext({ userAgent: WECOM_UA, locale: 'zh-CN' });
    await stayOnLoopback(login);
    const loginPage = await login.newPage();
    await loginPage.goto(`${target.url}/auth/login?return=/`);
    await loginPage.locator('a.pick[data-userid="wangwu"]').click({ timeout: 15_000 });
    await loginPage.waitForURL(`${target.url}/`, { timeout: 15_000 });
    const storageState = await login.storageState();
    await login.close();
    // The simulated WeCom client for a 1:1 chat with the contact: its bridge goes into every page first.
    const clientResponse = await fetch(`${target.simulatorUrl}/__sim/client.js?entry=single_chat_tools&contact=${CONTACT}&ua=0`);
    if (!clientResponse.ok) throw new Error(`the simulator's client.js answered ${clientResponse.status}`);
    const clientScript = await clientResponse.text();

    const cardMs: number[] = [];
    const apiRequests: number[] = [];
    const apiRoundTrips: number[] = [];
    let apiPaths: string[] = [];
    let apiRounds: string[][] = [];
    const pageUrl = `${target.url}/#/`;
    for (let run = 0; run < runs; run++) {
      const context = await browser.newContext({ userAgent: WECOM_UA, locale: 'zh-CN', viewport: { width: 360, height: 720 }, storageState });
      await stayOnLoopback(context);
      await context.addInitScript({ content: clientScript });
      // The moment the card shows the name, on the page's clock (0 = navigation start).
      await context.addInitScript(
        ([name]) => {
          const flag = window as unknown as { __cardAt?: number };
          const check = () => {
            const card = document.querySelector('[data-testid="contact-card"]');
            if (flag.__cardAt === undefined && card?.textContent?.includes(name ?? '')) flag.__cardAt = performance.now();
          };
          new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
        },
        [CONTACT_NAME],
      );
      const page = await context.newPage();
      const seen: string[] = [];
      // Start and end as this process hears of them, on its own clock: only their order matters.
      const timed = new Map<Request, ApiRequest>();
      page.on('request', (request: Request) => {
        const url = new URL(request.url());
        if (url.origin !== target.url || !url.pathname.startsWith('/api/')) return;
        const label = `${request.method()} ${url.pathname}`;
        seen.push(label);
        timed.set(request, { label, startMs: performance.now(), endMs: Infinity });
      });
      const ended = (request: Request) => {
        const entry = timed.get(request);
        if (entry) entry.endMs = performance.now();
      };
      page.on('requestfinished', ended);
      page.on('requestfailed', ended);
      await page.goto(pageUrl);
      try {
        await page.waitForFunction(() => (window as unknown as { __cardAt?: number }).__cardAt !== undefined, undefined, { timeout: 20_000 });
      } catch {
        // Say what the page showed instead, and keep a picture of it for a person to look at.
        mkdirSync(join(root, 'test-results'), { recursive: true });
        await page.screenshot({ path: join(root, 'test-results', 'bench-sidebar.png'), fullPage: true }).catch(() => undefined);
        const shown = (await page.evaluate(() => document.body.innerText).catch(() => '')).replace(/\s+/g, ' ').trim().slice(0, 160);
        throw new Error(`no filled contact card within 20 s in run ${run + 1}; the page showed "${shown}" after API calls ${seen.join(', ') || 'none'} (screenshot: test-results/bench-sidebar.png)`);
      }
      // Anything the page still asks for right after the card is part of its first load.
      await page.waitForTimeout(500);
      cardMs.push(await page.evaluate(() => (window as unknown as { __cardAt?: number }).__cardAt ?? NaN));
      apiRequests.push(seen.length);
      const requests = [...timed.values()];
      const trips = roundTrips(requests);
      apiRoundTrips.push(Math.max(0, ...trips));
      if (run === 0) {
        apiPaths = [...seen];
        apiRounds = Array.from({ length: Math.max(0, ...trips) }, (_, round) => requests.filter((_, i) => trips[i] === round + 1).map((r) => r.label));
      }
      await context.close();
    }
    return {
      measured: true,
      browser: `Chromium ${browser.version()}`,
      runs,
      cardMs,
      medianCardMs: percentile(cardMs, 50),
      p90CardMs: percentile(cardMs, 90),
      apiRequests,
      apiPaths,
      apiRoundTrips,
      apiRounds,
      met: apiRoundTrips.every((n) => n <= 1),
    };
  } catch (error) {
    const message = error instanceof Error ? error.message.split('\n')[0] ?? error.message : String(error);
    return { measured: false, reason: message };
  } finally {
    await browser?.close();
  }
}
