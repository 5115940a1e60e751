/**
 * @module
 * How old a signed callback may be. WeCom signs the `timestamp` query parameter (its send time,
 * Unix seconds) together with the message, so a captured request cannot be re-dated; refusing
 * timestamps far from now turns a replay into a short-lived risk that the dedupe table covers.
 */

/**
 * ±5 minutes. WeCom expects an answer within 5 s and retries a failed delivery three times, so a
 * genuine delivery (or retry) reaches us well under a minute after it was signed. The rest of the
 * window absorbs clock skew between WeCom's and Cloudflare's clocks, in either direction.
 */
export const CALLBACK_WINDOW_SECONDS = 5 * 60;

export type Freshness = { ok: true } | { ok: false; reason: string };

/** `timestamp` is the already well-formed decimal string from the query; `nowMs` is epoch ms. */
export function checkCallbackTime(timestamp: string, nowMs: number, windowSeconds = CALLBACK_WINDOW_SECONDS): Freshness {
  const skew = Number(timestamp) - Math.floor(nowMs / 1000);
  if (Math.abs(skew) <= windowSeconds) return { ok: true };
  return { ok: false, reason: `timestamp is ${Math.abs(skew)} s ${skew < 0 ? 'old' : 'in the future'}, outside ±${windowSeconds} s` };
}
