/**
 * @module
 * The one rule for when two written phone numbers are the same phone. Contact matching (the
 * remark mobiles members typed in WeCom) and the built-in CRM's mobile index both use it, so a
 * number that matches in one path matches in the other. Pure.
 *
 * A number is read as the digits one would dial from a phone in mainland China:
 * - a mainland mobile is its 11 digits: `+86 138-0013-8000`, `0086 13800138000`, `8613800138000`;
 * - a landline keeps its trunk zero and area code, so `+86 10 6552 9988` is `010-65529988`;
 * - an extension stays as digits after the number (`021-61234567 转 8001` is `021612345678001`),
 *   so two desks behind one switchboard are two numbers, not one;
 * - a number abroad is `00` and its country code, so `+1 415 555 0100` never reads as the mainland
 *   mobile `14155550100`.
 * A bare `86` without `+` or `00` is the country code only before an 11-digit mobile: before
 * anything else it may be the start of a local number.
 */

/** A mainland mobile: 11 digits, 1 then 3-9 (no area code starts that way: Beijing's is 010). */
const MAINLAND_MOBILE = /^1[3-9]\d{9}$/;
/** Written with an international prefix: `+`, `00`, or either inside an opening bracket. */
const INTERNATIONAL = /^[\s(（]*(\+|00)/;

/** The digits one dials for `raw` from mainland China; '' when it holds no digits. */
export function normaliseMobile(raw: string): string {
  const digits = raw.replace(/\D/g, '');
  if (INTERNATIONAL.test(raw)) {
    const number = digits.replace(/^00/, '');
    if (number === '') return '';
    if (!number.startsWith('86')) return `00${number}`;
    const national = number.slice(2);
    // After +86 an area code drops its trunk zero (`+86 21 …`); dialled at home it has one (`021 …`).
    return national === '' || MAINLAND_MOBILE.test(national) || national.startsWith('0') ? national : `0${national}`;
  }
  if (digits.length === 13 && digits.startsWith('86') && MAINLAND_MOBILE.test(digits.slice(2))) return digits.slice(2);
  return digits;
}

/**
 * Free text that looks like (part of) a phone number, as digits to look for inside stored numbers;
 * otherwise undefined. A fragment is not a whole number, so only a `+86`/`0086` prefix goes: the
 * rest of the rule (trunk zero, `00` abroad) would add digits the stored number may not have there.
 */
export function mobileFragment(text: string): string | undefined {
  if (!/^[\d\s+()-]+$/.test(text)) return undefined;
  const digits = text.replace(/\D/g, '');
  const national = INTERNATIONAL.test(text) ? digits.replace(/^(00)?86/, '') : digits;
  return national.length >= 4 ? national : undefined;
}
