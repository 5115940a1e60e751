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

export function t(key: MessageKey): string {
  return messages[locale.value][key];
}
