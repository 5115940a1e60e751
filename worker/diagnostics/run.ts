/**
 * @module
 * Live diagnostics: the checks an admin would otherwise run by trial and error in the WeCom admin
 * console, each answering with what it found (en and zh) and the console step that fixes it.
 *
 * Each check takes only what it needs: the configuration (pure, config-checks.ts), a WeCom
 * transport or client (wecom-checks.ts), KV and D1 (callback-check.ts); their wording is in
 * wording.ts. `runDiagnostics` wires them for one app. Rules they keep:
 * - gettoken is called directly, never through the token broker: a refusal must be diagnosed as
 *   it happens, not hidden behind (or written into) the broker's cache. WeCom hands back the live
 *   token while it is valid, so this does not replace the broker's token.
 * - The JS-SDK tickets come from the broker, which fetches only when its cache is cold: a page an
 *   admin reloads must not spend the 100-an-hour ticket limit.
 * - No retries: a diagnostic reports what it saw, and failed calls count towards WeCom's blocks.
 * - Checks that need an access token are not run when gettoken failed (`blockedBy`): each would
 *   only repeat the same refusal, and cost another failed call.
 * - Nothing here puts a secret, a token or a ticket into a result.
 */
import type { Config, WeComApp } from '../env.ts';
import { createWeComClient, transportFor } from '../wecom/client.ts';
import type { CheckResult, CheckStatus, DiagnosticsReport } from '../wire.ts';
import { checkCallback } from './callback-check.ts';
import { checkConfiguration, checkOrigin } from './config-checks.ts';
import { checkAccessToken, checkCustomerContact, checkTickets, checkVisibleRange, diagnosticTokenSource } from './wecom-checks.ts';
import { blocked } from './wording.ts';

/** Per attempt; a diagnostic should answer while the admin still looks at the page. */
export const DIAGNOSTIC_TIMEOUT_MS = 8_000;

export interface DiagnosticsInput {
  config: Config;
  app: WeComApp;
  kv: KVNamespace;
  db: D1Database;
  /** The broker's tickets for `app` (`tokensFor(env, app).tickets`). */
  tickets: () => Promise<{ jsapi: string; agentConfig: string }>;
  /** KV key of the last verification (`CALLBACK_VERIFIED_KEY(corpId, agentId)`). */
  callbackVerifiedKey: string;
  /** The worker's own origin: callbacks reach it there and it always signs pages there. */
  ownOrigin: string;
  /** The origin the admin's page is on. */
  origin: string;
  fetch?: typeof fetch;
  now?: () => number;
}

/** Every check for one app, in the order an admin would fix them. */
export async function runDiagnostics(input: DiagnosticsInput): Promise<DiagnosticsReport> {
  const { config, app } = input;
  const deps = transportFor(config, app, { timeoutMs: DIAGNOSTIC_TIMEOUT_MS, retryDelaysMs: [], ...(input.fetch ? { fetch: input.fetch } : {}) });

  const configCheck = checkConfiguration({ ok: true, config });
  const originCheck = checkOrigin(input.origin, input.ownOrigin, config.trustedOrigins);
  const [token, callbackCheck] = await Promise.all([
    checkAccessToken(deps),
    checkCallback(
      { kv: input.kv, db: input.db },
      {
        corpId: app.corpId,
        agentId: app.agentId,
        verifiedKey: input.callbackVerifiedKey,
        callbackUrl: `${input.ownOrigin}/wecom/callback/${encodeURIComponent(app.corpId)}/${encodeURIComponent(app.agentId)}`,
      },
    ),
  ]);
  let wecomChecks: CheckResult[];
  if (token.token === undefined) {
    wecomChecks = [blocked('jssdk_tickets', 'access_token'), blocked('customer_contact', 'access_token'), blocked('visible_range', 'access_token')];
  } else {
    const client = createWeComClient({ ...deps, tokens: diagnosticTokenSource(deps, token.token) });
    const [tickets, contactAndRange] = await Promise.all([
      checkTickets(input.tickets),
      checkCustomerContact(client).then(async (contact) => [contact.result, await checkVisibleRange(client, contact.followUsers)] as const),
    ]);
    wecomChecks = [tickets, ...contactAndRange];
  }

  const checks = [configCheck, token.result, ...wecomChecks, callbackCheck, originCheck];
  const summary: Record<CheckStatus, number> = { pass: 0, warn: 0, fail: 0 };
  for (const check of checks) summary[check.status] += 1;
  return {
    app: { corpId: app.corpId, agentId: app.agentId },
    origin: input.origin,
    checkedAt: (input.now ?? Date.now)(),
    ok: summary.fail === 0,
    summary,
    checks,
  };
}
