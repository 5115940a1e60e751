/**
 * @module
 * `GET /__sim/client.js`: the simulated WeCom client (client.ts) as a script for a page. The e2e
 * harness and the bench add it to every page of a browser context before the page's own scripts
 * (Playwright `addInitScript`); `npm run dev` builds the SPA with a `<script src>` to it
 * (vite.config.ts, simulator mode only). The production SPA never contains it.
 *
 * Query (all optional): `version` (wxwork version, default 4.1.20), `platform` (`desktop`|`mobile`),
 * `bridge` (`ready`|`late`|`none`), `lateMs`, `entry`, `contact`, `chat`, `perm` (`none`),
 * `missing` (comma-separated native API names), `ua` (`0`: leave the user agent alone).
 * With `page=1` the same names are read from the page's own query instead, for a developer's
 * browser: a page URL without `entry` stays a plain browser, with a small panel to open a chat.
 */
import { Hono } from 'hono';
import { clientConfig } from './client-config.ts';
import type { SimCore } from './state.ts';
import type { SimEnv } from './wire.ts';

const CLIENT_MODULE: string = './client.ts';

interface PageCode {
  installWeComClient: (...args: never[]) => unknown;
  fromPage: (...args: never[]) => unknown;
}

export function clientScriptRoutes(core: SimCore): Hono<SimEnv> {
  const routes = new Hono<SimEnv>();
  routes.get('/client.js', async (c) => {
    // The page code, loaded at run time so that this server-side module never type-checks DOM code.
    const page = (await import(/* @vite-ignore */ CLIENT_MODULE)) as PageCode;
    const corp = core.corp();
    const query = new URL(c.req.url).searchParams;
    const config = clientConfig(query, {
      contact: corp.externalContacts[0]?.external_contact.external_userid ?? '',
      chat: corp.groupChats[0]?.chat_id ?? '',
      verifyUrl: new URL('/__sim/jssdk/verify', c.req.url).toString(),
    });
    // Bundlers that keep function names wrap them in `__name(...)`; the page has no such helper.
    const prelude = 'var __name = function (target) { return target; };';
    let body: string;
    if (query.get('page') === '1') {
      const choices = {
        contacts: corp.externalContacts.map((entry) => ({ id: entry.external_contact.external_userid, label: entry.external_contact.name })),
        chats: corp.groupChats.map((chat) => ({ id: chat.chat_id, label: chat.name })),
      };
      body = `(${page.fromPage.toString()})(window, ${JSON.stringify(config)}, ${JSON.stringify(choices)}, ${page.installWeComClient.toString()});`;
    } else {
      body = `window.__weComClient = (${page.installWeComClient.toString()})(window, ${JSON.stringify(config)});`;
    }
    return c.body(`/* WeCom simulated client (the WeCom simulator; never part of the product) */\n;(function () { ${prelude}\n${body}\n})();\n`, 200, {
      'content-type': 'text/javascript; charset=utf-8',
      'cache-control': 'no-store',
      'access-control-allow-origin': '*',
    });
  });
  return routes;
}
