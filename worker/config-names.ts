/**
 * @module
 * Every configuration name the worker reads: the one list `Env` (worker/env.ts), `npm run dev`
 * (scripts/local.ts), `npm run deploy` (scripts/deploy.ts) and the README's table follow
 * (test/deploy/config-names.test.ts holds the README to it). Pure, so Node scripts import it too.
 */
export const CONFIG_NAMES = [
  'WECOM_CORP_ID',
  'WECOM_AGENT_ID',
  'WECOM_SECRET',
  'WECOM_CALLBACK_TOKEN',
  'WECOM_ENCODING_AES_KEY',
  'WECOM_APPS',
  'WECOM_API_BASE',
  'WECOM_OAUTH_BASE',
  'WECOM_LOGIN_BASE',
  'SESSION_SECRET',
  'ADMIN_USERIDS',
  // The origin members open the sidebar at (`https://crm.example.com`): JS-SDK pages are signed for it and writes must come from it.
  'PUBLIC_ORIGIN',
  'TRUSTED_ORIGINS',
  // Optional shared secret sent as `X-Proxy-Token` on every WeCom call, so the fixed-IP egress proxy serves only this worker.
  'WECOM_API_PROXY_TOKEN',
  // WeCom's trusted-domain check files, `WW_verify_<code>.txt:<content>`, comma-separated: served at the site root.
  'WECOM_DOMAIN_VERIFY',
  // `snsapi_base` (default, silent) or `snsapi_privateinfo` (consent; unlocks mobile via getuserdetail).
  'WECOM_OAUTH_SCOPE',
  // The role a member gets at first login or org sync: admin, manager, sales (default) or viewer.
  'DEFAULT_ROLE',
  // `on` (default): a new contact no customer matches becomes a basic customer owned by the member who added them.
  'AUTO_CREATE_CUSTOMERS',
  // `on` (default): a member gets an app message when a contact they add becomes a new customer.
  'NOTIFY_NEW_CUSTOMERS',
  // Where customers live: `builtin` (default, D1) or `http` (the company's own CRM, docs/crm-openapi.yaml).
  'CRM',
  // With `CRM=http`: the base URL the contract's `/v1/...` paths are appended to.
  'CRM_BASE_URL',
  // With `CRM=http`: the bearer token the company CRM issued to this worker.
  'CRM_API_TOKEN',
  // With `CRM=http`: milliseconds per CRM call attempt (default 5000).
  'CRM_TIMEOUT_MS',
  // `on` (default): the first request of an isolate starts an org sync for every app that never had one (worker/jobs/first-sync.ts).
  'FIRST_SYNC',
  // Steps a long job's Workflow instance takes before the run goes on in a new one (default 900: Workers Free allows 1,024 per instance).
  'JOB_STEPS_PER_INSTANCE',
] as const;

export type ConfigName = (typeof CONFIG_NAMES)[number];

/** One app's five values; `WECOM_APPS` stands in for all five. */
export const APP_CONFIG_NAMES = ['WECOM_CORP_ID', 'WECOM_AGENT_ID', 'WECOM_SECRET', 'WECOM_CALLBACK_TOKEN', 'WECOM_ENCODING_AES_KEY'] as const satisfies readonly ConfigName[];

/** Without these (or `WECOM_APPS` in place of the app's five) every route answers 503. */
export const REQUIRED_CONFIG = [...APP_CONFIG_NAMES, 'SESSION_SECRET', 'PUBLIC_ORIGIN'] as const satisfies readonly ConfigName[];

/** Not enforced by the worker, but a real corp needs them: calls from Cloudflare's own IPs get 60020, and someone must be admin. */
export const RECOMMENDED_CONFIG = ['WECOM_API_BASE', 'WECOM_API_PROXY_TOKEN', 'ADMIN_USERIDS'] as const satisfies readonly ConfigName[];
