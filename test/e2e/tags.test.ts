/**
 * @module
 * Tagging a customer and editing the remark from the sidebar in Chromium, checked in WeCom's own
 * state (the simulator's `externalcontact/get`), not in the worker's copy.
 */
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { Browser } from 'playwright-core';
import { demoApp, demoIds } from '../../dev/fixtures/demo-corp.ts';
import { launchBrowser, saveScreenshot } from './browser.ts';
import { weComContext } from './wecom.ts';
import { simulatorControl } from '../simulator-control.ts';

const baseUrl = inject('baseUrl');
const simulatorUrl = inject('simulatorUrl');
const sim = simulatorControl(simulatorUrl);
const LIU_YANG = demoIds.externalUserIds.withoutUnionid;

let browser: Browser;

/** wangwu's relationship with the contact, as WeCom itself now shows it. */
async function inWeCom(): Promise<{ remark: string; tags: Array<{ tag_name: string }> } | undefined> {
  const { access_token: token } = (await (await fetch(`${simulatorUrl}/cgi-bin/gettoken?corpid=${demoIds.corpId}&corpsecret=${demoApp.secret}`)).json()) as { access_token: string };
  const body = (await (await fetch(`${simulatorUrl}/cgi-bin/externalcontact/get?access_token=${token}&external_userid=${LIU_YANG}`)).json()) as {
    follow_user: Array<{ userid: string; remark: string; tags: Array<{ tag_name: string }> }>;
  };
  return body.follow_user.find((f) => f.userid === 'wangwu');
}

beforeAll(async () => {
  browser = await launchBrowser();
});
afterAll(async () => {
  await browser?.close();
  await sim('reset', {});
});

describe('the WeCom relationship in the sidebar', () => {
  it('tags the customer and saves a remark, both in WeCom', async () => {
    await sim('reset', {});
    const context = await weComContext(browser, simulatorUrl, { entry: 'single_chat_tools', contact: LIU_YANG });
    const login = await context.newPage();
    await login.goto(`${baseUrl}/auth/login?return=/`);
    await login.locator('a.pick[data-userid="wangwu"]').click();
    await login.waitForURL(`${baseUrl}/`);
    await login.close();

    const page = await context.newPage();
    await page.goto(`${baseUrl}/#/`);
    const tags = page.getByTestId('wecom-tags');
    await tags.waitFor();
    const levelA = tags.locator('[data-tag="A类客户"]');
    expect(await levelA.getAttribute('aria-pressed')).toBe('false');
    await levelA.click();
    await page.waitForFunction(() => document.querySelector('[data-tag="A类客户"]')?.getAttribute('aria-pressed') === 'true');

    const editor = page.getByTestId('remark-editor');
    await editor.locator('input[name="remark"]').fill('刘洋-展会回访');
    await editor.locator('button[type="submit"]').click();
    await editor.getByRole('status').waitFor();
    await saveScreenshot(page, 'sidebar-tags-remark');

    const follow = await inWeCom();
    expect(follow?.tags.map((t) => t.tag_name)).toContain('A类客户');
    expect(follow?.remark).toBe('刘洋-展会回访');
    await context.close();
  });
});
