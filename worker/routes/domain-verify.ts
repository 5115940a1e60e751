/**
 * @module
 * `GET /WW_verify_<code>.txt`: the files WeCom fetches from the domain root before it accepts the
 * domain as the app's trusted domain (可信域名). They come from `WECOM_DOMAIN_VERIFY`, so verifying
 * a new domain needs a secret change, not a rebuild, and no corp's code ever lands in the repo.
 * wrangler.toml sends `/WW_verify_*` to the worker before the SPA's asset fallback could answer.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types.ts';

export const domainVerify = new Hono<AppEnv>().get('/:file{WW_verify_[^/]*}', (c) => {
  const content = c.var.config.domainVerifyFiles.get(c.req.param('file'));
  // A plain 404, not the SPA's index.html: WeCom must not mistake a page for the file.
  if (content === undefined) return c.text('Not Found', 404, { 'cache-control': 'no-store' });
  return c.text(content, 200, { 'cache-control': 'no-store' });
});
