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

/**
 * Why WeCom would not describe a member it had just authenticated (user/get), and what an admin
 * changes. The page never repeats WeCom's hint: for some codes it names the worker's egress IP.
 */
export function memberLookupProblem(errcode: number | undefined, code: string, retry: string): PageText {
  if (errcode === 60011) {
    return {
      title: "不在应用可见范围 · Outside the app's visible range",
      zh: '企业微信确认了你的身份，但你不在本应用的可见范围内，所以不能使用客户侧边栏。请管理员在企业微信管理后台「应用管理 → 本应用 → 可见范围」中加入你或你所在的部门，然后重新登录。',
      en: "WeCom confirmed who you are, but you are outside this app's visible range, so you cannot use the customer sidebar. An admin must add you or your department to the app's visible range (应用管理 → this app → 可见范围) in the WeCom admin console; then log in again.",
      retry,
    };
  }
  if (errcode === 60111) {
    return {
      title: '通讯录中没有你 · Not in the directory',
      zh: '企业微信通讯录中找不到你的成员账号（可能已被删除或改了账号）。请管理员在企业微信管理后台「通讯录」中确认你的账号，然后重新登录。',
      en: "WeCom's directory does not list your member account (it may have been deleted or renamed). An admin must check your account in the WeCom admin console (通讯录 / Contacts); then log in again.",
      retry,
    };
  }
  return {
    title: '无法确认成员身份 · Could not confirm your membership',
    zh: `查询你的企业微信成员信息失败（${code}），因此暂时不能登录。请稍后重试；如果一直失败，请管理员打开本系统的「诊断」页查看原因。`,
    en: `Looking up your WeCom member record failed (${code}), so you cannot log in for now. Try again later; if it keeps failing, an admin can see why on this product's Diagnostics page.`,
    retry,
  };
}
