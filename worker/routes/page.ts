/**
 * @module
 * `GET /`: the sidebar's HTML (the SPA routes in the fragment, so this is its only page), with what
 * the boot needs already in it, so the member waits for one round trip after WeCom names the
 * contact instead of three:
 * - with a session: the member (as `GET /api/me` answers) and both JS-SDK signatures for exactly
 *   this page URL (as `POST /api/jssdk/signatures` answers), in a `<script type="application/json"
 *   id="boot">` that the SPA reads (web/api/boot.ts). JSON is data, not script, so the policy's
 *   `script-src 'self'` still holds. The page is signed only when the request names PUBLIC_ORIGIN
 *   or one of TRUSTED_ORIGINS: the Host header alone never earns a signature.
 * - inside WeCom (its user agent) without a session: straight to WeCom's OAuth, back to this path
 *   and query, as `GET /auth/login` would send it, under the same rate limit. No HTML first.
 * - elsewhere without a session: the page says there is none, and the SPA does what it did after
 *   a 401 (the not-in-WeCom screen, or the QR login on the admin pages).
 * The HTML itself comes from the ASSETS binding, with the headers web/public/_headers gives it (the
 * Content-Security-Policy among them: one policy, one place). A page that carries a member is never
 * cached (`no-store`, `Vary: Cookie`); the hashed files under /assets stay cacheable.
 */
import { Hono, type Context } from 'hono';
import { configOf, findApp } from '../env.ts';
import { readMember, type Member } from '../identity/guard.ts';
import { isWeComUserAgent, safeReturnPath } from '../identity/oauth.ts';
import { byClientIp, enforceLimit } from '../http/rate-limit.ts';
import { log } from '../log.ts';
import { edgeServices } from '../services.ts';
import { checkSignableUrl } from '../wecom/jssdk.ts';
import type { AppEnv } from '../types.ts';
import { chooseApp, startLogin } from './auth.ts';
import { signPage, type PageSignatures } from './jssdk.ts';
import { meBody } from './me.ts';

/** The boot block's JSON. `me: null` means there is no session; `signatures` is null when the page could not be signed. */
export interface BootData {
  me: ReturnType<typeof meBody> | null;
  signatures: (PageSignatures & { url: string }) | null;
}

/**
 * The block, safe inside HTML: `<` escaped keeps `</script>` and `<!--` out of the text, so no
 * value can end the element early. Only a member's own name, roles and signatures go in; no
 * ticket, token or secret.
 */
export function bootBlock(data: BootData): string {
  return `<script type="application/json" id="boot">${JSON.stringify(data).replace(/</g, '\\u003c')}</script>`;
}

function inject(html: string, block: string): string {
  const at = html.indexOf('</head>');
  return at === -1 ? `${block}${html}` : `${html.slice(0, at)}${block}${html.slice(at)}`;
}

async function signaturesFor(c: Context<AppEnv>, corpId: string, agentId: string): Promise<BootData['signatures']> {
  const config = c.var.config;
  const app = findApp(config, corpId, agentId);
  if (!app) return null;
  const page = checkSignableUrl(c.req.url, [config.publicOrigin, ...config.trustedOrigins]);
  if (!page.ok) {
    // The SPA asks POST /api/jssdk/signatures instead, which refuses the same way and says why.
    log('warn', 'page.unsigned', { corpId, reason: page.reason, ...(page.origin ? { origin: page.origin } : {}) });
    return null;
  }
  try {
    return { url: page.url, ...(await signPage(edgeServices(c.env, config).tokensFor(app), app, page.url, false)) };
  } catch (error) {
    // WeCom or the broker failed: the SPA's own request will meet the same failure and show it.
    log('warn', 'page.signing_failed', { corpId, message: error instanceof Error ? error.message : String(error) });
    return null;
  }
}

export const sidebarPage = new Hono<AppEnv>().get('/', async (c) => {
  const asset = await c.env.ASSETS.fetch(new URL('/', c.req.url));
  // Its own copy: the binding's headers are immutable, and the middleware adds to these.
  const headers = new Headers(asset.headers);
  if (!asset.ok || !(headers.get('content-type') ?? '').startsWith('text/html')) return new Response(asset.body, { status: asset.status, headers });
  // Whatever this page says depends on the cookie (and the user agent): no cache may keep it.
  headers.delete('etag');
  headers.delete('content-length');
  headers.set('cache-control', 'no-store');
  headers.set('vary', 'Cookie, User-Agent');
  const html = await asset.text();
  const page = (block = '') => new Response(block === '' ? html : inject(html, block), { status: 200, headers });

  // An incomplete configuration serves the page as it is; the SPA's first API call says what is missing.
  const result = configOf(c.env);
  if (!result.ok) return page();
  c.set('config', result.config);

  let member: Member;
  try {
    member = await readMember(c);
  } catch (error) {
    // Without the block the SPA boots as before (GET /api/me, POST /api/jssdk/signatures) and shows what fails.
    log('error', 'page.member_failed', { message: error instanceof Error ? error.message : String(error) });
    return page();
  }
  if (!member.ok) {
    const app = chooseApp(c);
    if (app && isWeComUserAgent(c.req.header('user-agent'))) {
      await enforceLimit(c, 'LOGIN_LIMIT', byClientIp, 60);
      const url = new URL(c.req.url);
      c.header('vary', 'Cookie, User-Agent');
      return startLogin(c, app, safeReturnPath(`${url.pathname}${url.search}`));
    }
    return page(bootBlock({ me: null, signatures: null }));
  }
  const { session, user } = member;
  return page(bootBlock({ me: meBody(user, session), signatures: await signaturesFor(c, session.corpId, session.agentId) }));
});
