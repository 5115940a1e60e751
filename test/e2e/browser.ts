/**
 * @module
 * The Chromium the suite drives (scripts/chromium.ts decides which), through playwright-core.
 * Nothing here downloads a browser.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../scripts/chromium.ts';
import { root } from '../../scripts/local.ts';

export const screenshotDir = join(root, 'test-results', 'screenshots');

export function launchBrowser(): Promise<Browser> {
  return launchChromium();
}

/** Saves a screenshot for a person to look at (test-results/ is git-ignored). */
export async function saveScreenshot(page: Page, name: string): Promise<void> {
  mkdirSync(screenshotDir, { recursive: true });
  await page.screenshot({ path: join(screenshotDir, `${name}.png`), fullPage: true });
}
