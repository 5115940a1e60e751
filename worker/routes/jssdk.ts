/**
 * @module
 * `POST /api/jssdk/signatures` with `{ url, refresh?, corpId?, agentId? }`: both JS-SDK signatures
 * (corp `config` and app `agentConfig`) for one page, in one answer. Public: `ww.register` runs
 * before sign-in, and a signature is useless outside the WeCom client on that exact page. It
 * signs only pages on PUBLIC_ORIGIN or on TRUSTED_ORIGINS (configuration, never the Host header),
 * so it is no signing oracle for other sites. Tickets never leave the worker. `refresh: true` makes
 * the broker refetch tickets WeCom allows only 100 times an hour, so it needs a session.
 */
import { Hono, type Context } from 'hono';
import * as v from 'valibot';
import type { AppEnv } from '../types.ts';
import { findApp, type Config, type WeComApp } from '../env.ts';
import { AppError } from '../errors.ts';
import { requireUser } from '../identity/guard.ts';
import { log } from '../log.ts';
import { edgeServices } from '../services.ts';
import { checkSignableUrl, createNonce, signJsSdk } from '../wecom/jssdk.ts';
import type { AppTokens } from '../wecom/tokens.ts';
import type { PageSignatures } from '../wire.ts';

const SignatureRequest = v.object({
  url: v.pipe(v.string('url must be the page URL (location.href) as a string'), v.nonEmpty('url must not be empty'), v.maxLength(4096, 'url is longer than 4096 characters')),
  // `refresh: true` after a failed registration; the broker grants a real refetch at most once a minute.
  refresh: v.optional(v.boolean('refresh must be true or false')),
  corpId: v.optional(v.pipe(v.string('corpId must be a string'), v.nonEmpty())),
  agentId: v.optional(v.union([v.pipe(v.string(), v.nonEmpty()), v.pipe(v.number(), v.integer())], 'agentId must be the numeric AgentId')),
});

type SignatureRequest = v.InferOutput<typeof SignatureRequest>;

async function readRequest(c: Context<AppEnv>): Promise<SignatureRequest> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    throw new AppError(400, 'invalid_json', 'The body must be JSON: { "url": "<location.href>" }');
  }
  const parsed = v.safeParse(SignatureRequest, body);
  if (!parsed.success) throw new AppError(400, 'invalid_request', `Invalid signature request: ${v.summarize(parsed.issues)}`);
  return parsed.output;
}

function selectApp(config: Config, request: SignatureRequest): WeComApp {
  const { corpId } = request;
  const agentId = request.agentId === undefined ? undefined : String(request.agentId);
  if (corpId === undefined && agentId === undefined) {
    const [only] = config.apps;
    if (only && config.apps.length === 1) return only;
    throw new AppError(400, 'app_required', 'Several WeCom apps are configured: send corpId and agentId to choose one.');
  }
  if (corpId === undefined || agentId === undefined) {
    throw new AppError(400, 'app_required', 'Send both corpId and agentId, or neither when one app is configured.');
  }
  const app = findApp(config, corpId, agentId);
  if (!app) throw new AppError(400, 'unknown_app', `No WeCom app ${corpId}/${agentId} is configured.`);
  return app;
}

export const jssdk = new Hono<AppEnv>().post('/signatures', async (c) => {
  const request = await readRequest(c);
  const config = c.get('config');
  const app = selectApp(config, request);
  const allowed = [config.publicOrigin, ...config.trustedOrigins];
  const page = checkSignableUrl(request.url, allowed);
  if (!page.ok) {
    if (page.reason === 'foreign_origin') {
      // The wire says which rule refused; the log says which origin asked.
      log('warn', 'jssdk.foreign_origin', { corpId: app.corpId, agentId: app.agentId, origin: page.origin });
      throw new AppError(400, 'untrusted_origin', "Only pages on this worker's own origin or on TRUSTED_ORIGINS are signed.");
    }
    throw new AppError(400, 'invalid_url', 'url must be the absolute http(s) URL of the page (location.href), without credentials.');
  }

  // Anyone may ask for a signature; only a member may make the worker spend a ticket refetch.
  if (request.refresh === true) await requireUser(c, async () => {});
  const signed = await signPage(edgeServices(c.env, config).tokensFor(app), app, page.url, request.refresh === true);
  c.header('cache-control', 'no-store');
  return c.json(signed);
});

export type { PageSignatures };

/** Both signatures for `url`, which the caller has already judged signable (checkSignableUrl). */
export async function signPage(tokens: AppTokens, app: WeComApp, url: string, refresh: boolean): Promise<PageSignatures> {
  const tickets = await tokens.tickets({ refresh });
  const timestamp = Math.floor(Date.now() / 1000);
  const [corpSignature, appSignature] = await Promise.all([
    signJsSdk({ ticket: tickets.jsapi, nonceStr: createNonce(), timestamp, url }),
    signJsSdk({ ticket: tickets.agentConfig, nonceStr: createNonce(), timestamp, url }),
  ]);
  const throttled = tickets.retryAfterMs === undefined ? {} : { retryAfter: Math.ceil(tickets.retryAfterMs / 1000) };
  return { corpId: app.corpId, agentId: app.agentId, config: corpSignature, agentConfig: appSignature, ...throttled };
}
