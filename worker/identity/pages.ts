/**
 * @module
 * The few HTML pages the login flow shows itself (before the SPA has a session), in zh-CN and en.
 */

function escape(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

export interface PageText {
  title: string;
  zh: string;
  en: string;
  /** A same-origin path to try again from. */
  retry?: string;
}

export function loginProblemPage(text: PageText): string {
  const retry = text.retry ? `<p><a href="${escape(text.retry)}">重新登录 · Log in again</a></p>` : '';
  return `<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escape(text.title)}</title>
<style>body{font-family:-apple-system,'PingFang SC','Microsoft YaHei',sans-serif;margin:0;padding:32px 16px;color:#1f2329;background:#f5f6f7;text-align:center}
h1{font-size:17px}p{font-size:14px;line-height:1.6;color:#646a73}a{color:#0f7fff}</style></head>
<body><main><h1>${escape(text.title)}</h1><p>${escape(text.zh)}</p><p lang="en">${escape(text.en)}</p>${retry}</main></body></html>`;
}
