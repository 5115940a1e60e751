/**
 * @module
 * What a WeCom failure means, in one table. The client's wording varies by version and by who
 * rewrote it: natively `agentConfig:fail_invalid_signature`, after `@wecom/jssdk` rewrites it
 * `agentConfig:invalidsignature` (errCode -1), in older texts `invalid signature`. So a failure
 * is judged by its errCode when that is a real code (the SDK's -1 means "none given"), else by
 * the text after the colon with spaces, underscores, a leading `fail`/`failed` and case removed.
 */

export type FailureMeaning = 'signature' | 'domain' | 'no_permission' | 'no_context' | 'unsupported' | 'cancelled' | 'unknown';

interface Rule {
  meaning: FailureMeaning;
  codes?: readonly number[];
  /** Normalised texts (no separators, lower case) the keyword contains. */
  texts?: readonly string[];
}

/**
 * 40093 invalid signature; 42012 the ticket is not (or no longer) one WeCom knows; 80001 the domain
 * is not a verified trusted domain. The order matters only for texts that could match twice.
 */
const RULES: readonly Rule[] = [
  { meaning: 'signature', codes: [40093, 42012], texts: ['invalidsignature', 'ticketnoavailable'] },
  { meaning: 'domain', codes: [80001], texts: ['invalidurldomain', 'notmatchanyreliabledomain'] },
  { meaning: 'no_permission', texts: ['nopermission', 'permissiondenied', 'accessdenied', 'offlineverifying'] },
  { meaning: 'no_context', texts: ['withoutcontext', 'notincontext'] },
  { meaning: 'unsupported', texts: ['functionnotexist', 'notsupport'] },
];

/** `getContext:fail_function_not_exist` → `functionnotexist`. */
export function normaliseKeyword(errMsg: string): string {
  const keyword = errMsg.includes(':') ? errMsg.slice(errMsg.indexOf(':') + 1) : errMsg;
  return keyword
    .toLowerCase()
    .replace(/[\s_-]/g, '')
    .replace(/^fail(ed)?/, '');
}

export function meaningOf(failure: { errMsg: string; errCode: number | undefined }): FailureMeaning {
  const code = failure.errCode !== undefined && failure.errCode !== -1 && failure.errCode !== 0 ? failure.errCode : undefined;
  if (code !== undefined) {
    const byCode = RULES.find((rule) => rule.codes?.includes(code));
    if (byCode) return byCode.meaning;
  }
  const text = normaliseKeyword(failure.errMsg);
  if (text === 'cancel') return 'cancelled';
  return RULES.find((rule) => rule.texts?.some((needle) => text.includes(needle)))?.meaning ?? 'unknown';
}
