/**
 * @module
 * A small typed i18n: zh-CN unless the WeCom client or the browser says English.
 */
import { ref } from 'vue';
import { messages, type Locale, type MessageKey } from './messages.ts';

/** WeCom's user agent carries `Language/zh` or `Language/en`; a plain browser has navigator.language. */
export function detectLocale(userAgent: string, languages: readonly string[]): Locale {
  const fromClient = /Language\/([a-zA-Z_-]+)/.exec(userAgent)?.[1];
  const preferred = fromClient ?? languages[0] ?? 'zh-CN';
  return preferred.toLowerCase().startsWith('en') ? 'en' : 'zh-CN';
}

export const locale = ref<Locale>(
  typeof navigator === 'undefined' ? 'zh-CN' : detectLocale(navigator.userAgent, navigator.languages ?? [navigator.language]),
);

export type MessageParams = Record<string, string | number>;

function fill(text: string, params?: MessageParams): string {
  if (!params) return text;
  return text.replace(/\{(\w+)\}/g, (match, name: string) => (name in params ? String(params[name]) : match));
}

/** `{name}` placeholders are filled from `params`. */
export function t(key: MessageKey, params?: MessageParams): string {
  return fill(messages[locale.value][key], params);
}

/**
 * `t` over a page's own table (e.g. messages-diagnostics.ts), for strings that should load with
 * that page's lazy chunk rather than with the first load.
 */
export function translator<K extends string>(table: Readonly<Record<Locale, Readonly<Record<K, string>>>>): (key: K, params?: MessageParams) => string {
  return (key, params) => fill(table[locale.value][key], params);
}

export function setLocale(next: Locale): void {
  locale.value = next;
  if (typeof document === 'undefined') return;
  document.documentElement.lang = next;
  document.title = messages[next]['app.title'];
}

/** WeCom times are seconds, the worker's milliseconds. */
export function toMillis(at: number): number {
  return at < 1e11 ? at * 1000 : at;
}

/** Dates as the member's language writes them, from seconds or milliseconds. */
export function formatDate(at: number, withTime = false): string {
  const ms = toMillis(at);
  const options: Intl.DateTimeFormatOptions = withTime
    ? { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' }
    : { year: 'numeric', month: '2-digit', day: '2-digit' };
  return new Intl.DateTimeFormat(locale.value, options).format(new Date(ms));
}

export type { Locale, MessageKey };
