/**
 * @module
 * The app messages' cards (WeCom `textcard`, docs/wecom.md §7.2): title and description cut to
 * WeCom's byte limits on a character boundary, and the link that opens the sidebar on a customer.
 * Pure: plain values in, the card out. The cards are in Chinese, the corp's language; the same
 * reminder always yields the same bytes, which WeCom's duplicate check compares (deliver.ts).
 */

/** WeCom cuts longer values itself, possibly mid-character; we cut first, on a character boundary. */
export const TITLE_MAX_BYTES = 128;
export const DESCRIPTION_MAX_BYTES = 512;

export interface Textcard {
  title: string;
  description: string;
  url: string;
}

const encoder = new TextEncoder();

export function byteLength(text: string): number {
  return encoder.encode(text).length;
}

/** `text` cut to at most `max` UTF-8 bytes, whole characters only, with `…` when cut. */
export function fitBytes(text: string, max: number): string {
  if (byteLength(text) <= max) return text;
  const budget = max - byteLength('…');
  if (budget < 0) return '';
  let out = '';
  let used = 0;
  for (const char of text) {
    const size = byteLength(char);
    if (used + size > budget) break;
    out += char;
    used += size;
  }
  return `${out}…`;
}

/** The description's markup is WeCom's own (`<div class="gray|normal|highlight">`): words people wrote must not add to it. */
function plain(text: string): string {
  return text.replace(/</g, '＜').replace(/>/g, '＞').replace(/&/g, '＆').replace(/\s+/g, ' ').trim();
}

type Line = { style: 'gray' | 'normal' | 'highlight'; text: string };

/** Lines in order; each gets what it needs of the 512 bytes, the last (free text) what is left. */
function description(lines: readonly Line[]): string {
  const wrap = (line: Line, text: string) => `<div class="${line.style}">${text}</div>`;
  const kept = lines.filter((line) => plain(line.text) !== '');
  let left = DESCRIPTION_MAX_BYTES - kept.reduce((sum, line) => sum + byteLength(wrap(line, '')), 0);
  return kept
    .map((line) => {
      const text = fitBytes(plain(line.text), Math.max(0, left));
      left -= byteLength(text);
      return wrap(line, text);
    })
    .join('');
}

/** `YYYY-MM-DD HH:mm` in China time (UTC+8, no daylight saving), where the corp's members are. */
export function chinaTime(at: number): string {
  const d = new Date(at + 8 * 3_600_000);
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}-${pad(d.getUTCMonth() + 1)}-${pad(d.getUTCDate())} ${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}`;
}

/**
 * The sidebar on one customer. The id travels in the query, not only the fragment: inside WeCom a
 * page without a session is sent through OAuth at once, and only the path and query come back
 * (worker/routes/page.ts; a fragment never reaches the server). The SPA routes `?customer=` to
 * `#/customer/<id>` (web/router.ts).
 */
export function customerLink(publicOrigin: string, customerId: string): string {
  return `${publicOrigin}/?customer=${encodeURIComponent(customerId)}`;
}

/** A contact with no customer record: the contact screen (`#/contact/<id>`) in the same way (`?external=`: `contact` in a page's query is the simulated WeCom client's in development). */
export function contactLink(publicOrigin: string, externalUserId: string): string {
  return `${publicOrigin}/?external=${encodeURIComponent(externalUserId)}`;
}

function card(title: string, lines: readonly Line[], url: string): Textcard {
  return { title: fitBytes(plain(title), TITLE_MAX_BYTES), description: description(lines), url };
}

export function reminderCard(input: { customerName: string; dueAt: number; note: string; url: string }): Textcard {
  return card(`跟进提醒：${input.customerName}`, [
    { style: 'gray', text: `约定跟进时间 ${chinaTime(input.dueAt)}` },
    { style: 'normal', text: input.note },
  ], input.url);
}

export function lostCustomerCard(input: { customerName: string; memberName: string; at: number; url: string }): Textcard {
  return card(`客户删除了成员：${input.customerName}`, [
    { style: 'gray', text: chinaTime(input.at) },
    { style: 'highlight', text: `${input.customerName} 已删除 ${input.memberName}，请尽快跟进` },
  ], input.url);
}

export function newCustomerCard(input: { customerName: string; at: number; url: string }): Textcard {
  return card(`新客户：${input.customerName}`, [
    { style: 'gray', text: chinaTime(input.at) },
    { style: 'normal', text: '添加客户时已自动建档，点击查看并补充资料' },
  ], input.url);
}
