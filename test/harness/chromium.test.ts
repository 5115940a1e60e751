/**
 * Which Chromium e2e and the bench drive (scripts/chromium.ts): the machine's own when present, else
 * the one the @sparticuz/chromium devDependency ships, which must launch under playwright-core.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { launchChromium, pickChromium, resolveChromium } from '../../scripts/chromium.ts';

const missing = join(import.meta.dirname, 'no-such-chromium');
// Any executable file stands in for an installed /usr/bin/chromium when only the choice is tested.
const present = process.execPath;

describe('which Chromium', () => {
  it('takes the system one when present, else the npm one', () => {
    expect(pickChromium(undefined, present)).toEqual({ source: 'system', path: present });
    expect(pickChromium('auto', missing)).toEqual({ source: 'npm' });
    expect(pickChromium(undefined, missing)).toEqual({ source: 'npm' });
  });

  it('follows E2E_CHROMIUM: npm even with a system one, system or fail, or a given executable', () => {
    expect(pickChromium('npm', present)).toEqual({ source: 'npm' });
    expect(() => pickChromium('system', missing)).toThrow(/E2E_CHROMIUM=system/);
    expect(pickChromium(present, missing)).toEqual({ source: 'path', path: present });
    expect(() => pickChromium(missing, present)).toThrow(/not an executable/);
    expect(() => pickChromium('chrome', present)).toThrow(/expected auto, system, npm/);
  });

  it('keeps every Chromium off the network, and the npm one as isolated as any user’s', async () => {
    const npm = await resolveChromium('npm');
    expect(npm.executablePath).toMatch(/node_modules\/\.cache\/sparticuz-chromium-[\d.]+\/chromium$/);
    expect(npm.args).toContain('--disable-background-networking');
    expect(npm.args).toContain('--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1');
    for (const loosening of ['--disable-web-security', '--allow-running-insecure-content', '--single-process']) expect(npm.args).not.toContain(loosening);
    expect(npm.args.some((arg) => arg.includes('site-per-process'))).toBe(false);
  });

  it('launches the npm one under playwright-core and loads a page from loopback only', async () => {
    const server = createServer((_request, response) => response.end('<p id="ok">served on loopback</p>'));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const browser = await launchChromium('npm');
    try {
      expect(browser.version()).toMatch(/^\d+\./);
      const page = await browser.newPage();
      await page.goto(`http://127.0.0.1:${(server.address() as AddressInfo).port}/`);
      expect(await page.textContent('#ok')).toBe('served on loopback');
      // Outside hosts resolve to nothing.
      await expect(page.goto('http://example.com/', { timeout: 10_000 })).rejects.toThrow(/ERR_NAME_NOT_RESOLVED/);
    } finally {
      await browser.close();
      server.close();
    }
  });
});
