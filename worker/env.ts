/**
 * @module
 * The worker's one validated configuration reader (bindings are typed in bindings.ts).
 * Configuration names are part of the product's interface: tests, `npm run dev`
 * and deployments set them; worker/config-names.ts lists them and the README explains them.
 */
import type { ConfigName } from './config-names.ts';

/** Configuration as the worker receives it: every value a string, each unset until configured. */
export type ConfigSource = Partial<Record<ConfigName, string>>;

/** One WeCom self-built app: agent ids repeat across corps, so it is always keyed by both. */
export interface WeComApp {
  corpId: string;
  agentId: string;
  secret: string;
  callbackToken: string;
  encodingAESKey: string;
}

export interface Config {
  apps: WeComApp[];
  apiBase: string;
  oauthBase: string;
  loginBase: string;
  sessionSecret: string;
  adminUserIds: string[];
  /** `PUBLIC_ORIGIN`: this product's own origin, never taken from a request's Host header. */
  publicOrigin: string;
  trustedOrigins: string[];
  oauthScope: 'snsapi_base' | 'snsapi_privateinfo';
  defaultRole: 'admin' | 'manager' | 'sales' | 'viewer';
  autoCreateCustomers: boolean;
  /** `NOTIFY_NEW_CUSTOMERS`: an app message to the member when their new contact became a customer. */
  notifyNewCustomers: boolean;
  /** `WECOM_API_PROXY_TOKEN`, when set. */
  apiProxyToken?: string;
  /** `WECOM_DOMAIN_VERIFY`: file name (`WW_verify_….txt`) → the content WeCom expects in it. */
  domainVerifyFiles: ReadonlyMap<string, string>;
  /** `CRM` and, for `http`, its URL, token and per-attempt timeout. */
  crm: CrmConfig;
}

export type CrmConfig = { kind: 'builtin' } | { kind: 'http'; baseUrl: string; token: string; timeoutMs: number };

export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

export const DEFAULT_API_BASE = 'https://qyapi.weixin.qq.com';
export const DEFAULT_OAUTH_BASE = 'https://open.weixin.qq.com';
export const DEFAULT_LOGIN_BASE = 'https://login.work.weixin.qq.com';

const CORP_ID = /^w[wx][0-9a-zA-Z]{6,32}$/;
const AGENT_ID = /^[0-9]{1,10}$/;
const CALLBACK_TOKEN = /^[0-9a-zA-Z]{1,32}$/;
const AES_KEY = /^[0-9a-zA-Z]{43}$/;
const MIN_SESSION_SECRET = 32;

type AppField = keyof WeComApp;
const APP_FIELDS: Record<AppField, { variable: string; check: (v: string) => string | undefined }> = {
  corpId: { variable: 'WECOM_CORP_ID', check: (v) => (CORP_ID.test(v) ? undefined : 'must look like a WeCom corp id (ww followed by letters and digits)') },
  agentId: { variable: 'WECOM_AGENT_ID', check: (v) => (AGENT_ID.test(v) ? undefined : 'must be the numeric AgentId of the app') },
  secret: { variable: 'WECOM_SECRET', check: (v) => (v.trim() === v && v.length >= 8 ? undefined : "must be the app's Secret (no spaces)") },
  callbackToken: { variable: 'WECOM_CALLBACK_TOKEN', check: (v) => (CALLBACK_TOKEN.test(v) ? undefined : 'must be 1-32 letters or digits, as set under 接收消息 → 设置API接收') },
  encodingAESKey: { variable: 'WECOM_ENCODING_AES_KEY', check: (v) => (AES_KEY.test(v) ? undefined : `must be exactly 43 letters or digits (got ${v.length} characters)`) },
};

function readApp(source: Record<AppField, unknown>, label: (field: AppField) => string, problems: string[]): WeComApp | undefined {
  const app: Partial<WeComApp> = {};
  let complete = true;
  for (const field of Object.keys(APP_FIELDS) as AppField[]) {
    const raw = source[field];
    const value = typeof raw === 'number' ? String(raw) : raw;
    if (typeof value !== 'string' || value === '') {
      problems.push(`${label(field)} is missing`);
      complete = false;
      continue;
    }
    const problem = APP_FIELDS[field].check(value);
    if (problem) {
      problems.push(`${label(field)} ${problem}`);
      complete = false;
      continue;
    }
    app[field] = value;
  }
  return complete ? (app as WeComApp) : undefined;
}

function readApps(env: ConfigSource, problems: string[]): WeComApp[] {
  if (env.WECOM_APPS) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(env.WECOM_APPS);
    } catch {
      problems.push('WECOM_APPS is not valid JSON (expected an array of { corpId, agentId, secret, callbackToken, encodingAESKey })');
      return [];
    }
    if (!Array.isArray(parsed) || parsed.length === 0) {
      problems.push('WECOM_APPS must be a non-empty JSON array of apps');
      return [];
    }
    const apps: WeComApp[] = [];
    parsed.forEach((entry, index) => {
      if (typeof entry !== 'object' || entry === null) {
        problems.push(`WECOM_APPS[${index}] must be an object`);
        return;
      }
      const app = readApp(entry as Record<AppField, unknown>, (field) => `WECOM_APPS[${index}].${field}`, problems);
      if (app) apps.push(app);
    });
    const seen = new Set<string>();
    for (const app of apps) {
      const key = `${app.corpId}/${app.agentId}`;
      if (seen.has(key)) problems.push(`WECOM_APPS lists ${key} twice`);
      seen.add(key);
    }
    return apps;
  }
  const single = readApp(
    {
      corpId: env.WECOM_CORP_ID,
      agentId: env.WECOM_AGENT_ID,
      secret: env.WECOM_SECRET,
      callbackToken: env.WECOM_CALLBACK_TOKEN,
      encodingAESKey: env.WECOM_ENCODING_AES_KEY,
    },
    (field) => APP_FIELDS[field].variable,
    problems,
  );
  return single ? [single] : [];
}

/** An absolute http(s) URL; a path prefix is kept (egress proxies mount WeCom under one), a trailing slash is not. */
function readBase(name: string, value: string | undefined, fallback: string, problems: string[]): string {
  const raw = value && value !== '' ? value : fallback;
  try {
    const url = new URL(raw);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error('scheme');
    if (url.search || url.hash) throw new Error('query');
    return url.href.replace(/\/+$/, '');
  } catch {
    problems.push(`${name} must be an absolute http(s) URL without query or fragment`);
    return fallback;
  }
}

function readList(value: string | undefined): string[] {
  return (value ?? '')
    .split(',')
    .map((item) => item.trim())
    .filter((item) => item !== '');
}

/** `https://crm.example.com` as the URL parser normalizes it, or undefined for anything with a path, query or credentials. */
function asOrigin(item: string): string | undefined {
  try {
    const url = new URL(item);
    if (url.protocol !== 'https:' && url.protocol !== 'http:') return undefined;
    return url.href.replace(/\/$/, '') === url.origin ? url.origin : undefined;
  } catch {
    return undefined;
  }
}

function readOrigins(value: string | undefined, problems: string[]): string[] {
  const origins: string[] = [];
  for (const item of readList(value)) {
    const origin = asOrigin(item);
    if (origin) origins.push(origin);
    else problems.push(`TRUSTED_ORIGINS entry "${item}" must be an origin such as https://crm.example.com`);
  }
  return origins;
}

function readPublicOrigin(value: string | undefined, problems: string[]): string {
  if (!value) {
    problems.push('PUBLIC_ORIGIN is missing (the origin members open the sidebar at, such as https://crm.example.com)');
    return '';
  }
  const origin = asOrigin(value.trim());
  if (!origin) problems.push('PUBLIC_ORIGIN must be an origin such as https://crm.example.com (scheme and host, no path)');
  return origin ?? '';
}

const ON_OFF = ['on', 'off', 'true', 'false', '1', '0'];

const DOMAIN_VERIFY_ENTRY = /^(WW_verify_[A-Za-z0-9]+\.txt):(.*)$/s;

/** The files WeCom fetches from the domain root to prove the site is the corp's (可信域名 → 申请校验域名). */
function readDomainVerify(value: string | undefined, problems: string[]): Map<string, string> {
  const files = new Map<string, string>();
  for (const item of readList(value)) {
    const match = DOMAIN_VERIFY_ENTRY.exec(item);
    const name = match?.[1];
    const content = match?.[2]?.trim() ?? '';
    if (!name || content === '') {
      // Only the part before the colon is echoed: /healthz shows problems to anyone.
      problems.push(`WECOM_DOMAIN_VERIFY entry "${(item.split(':')[0] ?? '').slice(0, 40)}" must be WW_verify_<code>.txt:<content>, the file name and text WeCom gives under 可信域名 → 申请校验域名`);
      continue;
    }
    if (files.has(name) && files.get(name) !== content) problems.push(`WECOM_DOMAIN_VERIFY lists ${name} twice with different contents`);
    files.set(name, content);
  }
  return files;
}

/** `CRM_TIMEOUT_MS` when unset: per attempt, so a slow company CRM fails a sidebar request in seconds. */
export const DEFAULT_CRM_TIMEOUT_MS = 5_000;

function readCrm(env: ConfigSource, problems: string[]): CrmConfig {
  const kind = env.CRM || 'builtin';
  if (kind === 'builtin') return { kind };
  if (kind !== 'http') {
    problems.push('CRM must be builtin or http');
    return { kind: 'builtin' };
  }
  let baseUrl = '';
  if (!env.CRM_BASE_URL) problems.push("CRM_BASE_URL is missing (CRM=http needs the company CRM's API base URL)");
  else baseUrl = readBase('CRM_BASE_URL', env.CRM_BASE_URL, '', problems);
  const token = env.CRM_API_TOKEN ?? '';
  if (token.trim() === '') problems.push('CRM_API_TOKEN is missing (CRM=http needs the bearer token the company CRM issued)');
  let timeoutMs = DEFAULT_CRM_TIMEOUT_MS;
  if (env.CRM_TIMEOUT_MS) {
    timeoutMs = Number(env.CRM_TIMEOUT_MS);
    // A member in the sidebar waits on every call: past 30 s an error they can retry serves them better.
    if (!/^[0-9]+$/.test(env.CRM_TIMEOUT_MS) || timeoutMs < 100 || timeoutMs > 30_000) {
      problems.push('CRM_TIMEOUT_MS must be a whole number of milliseconds from 100 to 30000');
    }
  }
  return { kind, baseUrl, token, timeoutMs };
}

/** Reads and checks every configuration value; the result names every missing or malformed one. */
export function readConfig(env: ConfigSource): ConfigResult {
  const problems: string[] = [];
  const apps = readApps(env, problems);
  const apiBase = readBase('WECOM_API_BASE', env.WECOM_API_BASE, DEFAULT_API_BASE, problems);
  const oauthBase = readBase('WECOM_OAUTH_BASE', env.WECOM_OAUTH_BASE, DEFAULT_OAUTH_BASE, problems);
  const loginBase = readBase('WECOM_LOGIN_BASE', env.WECOM_LOGIN_BASE, DEFAULT_LOGIN_BASE, problems);
  const sessionSecret = env.SESSION_SECRET ?? '';
  if (sessionSecret === '') problems.push('SESSION_SECRET is missing');
  else if (sessionSecret.length < MIN_SESSION_SECRET) problems.push(`SESSION_SECRET must be at least ${MIN_SESSION_SECRET} characters of random text`);
  const publicOrigin = readPublicOrigin(env.PUBLIC_ORIGIN, problems);
  const trustedOrigins = readOrigins(env.TRUSTED_ORIGINS, problems);
  const oauthScope = env.WECOM_OAUTH_SCOPE || 'snsapi_base';
  if (oauthScope !== 'snsapi_base' && oauthScope !== 'snsapi_privateinfo') problems.push('WECOM_OAUTH_SCOPE must be snsapi_base or snsapi_privateinfo');
  const defaultRole = env.DEFAULT_ROLE || 'sales';
  if (defaultRole !== 'admin' && defaultRole !== 'manager' && defaultRole !== 'sales' && defaultRole !== 'viewer') {
    problems.push('DEFAULT_ROLE must be one of admin, manager, sales, viewer');
  }
  const autoCreate = (env.AUTO_CREATE_CUSTOMERS || 'on').toLowerCase();
  if (!ON_OFF.includes(autoCreate)) problems.push('AUTO_CREATE_CUSTOMERS must be on or off');
  const notifyNew = (env.NOTIFY_NEW_CUSTOMERS || 'on').toLowerCase();
  if (!ON_OFF.includes(notifyNew)) problems.push('NOTIFY_NEW_CUSTOMERS must be on or off');
  const crm = readCrm(env, problems);
  const domainVerifyFiles = readDomainVerify(env.WECOM_DOMAIN_VERIFY, problems);
  if (problems.length > 0) return { ok: false, problems };
  return {
    ok: true,
    config: {
      apps,
      apiBase,
      oauthBase,
      loginBase,
      sessionSecret,
      adminUserIds: readList(env.ADMIN_USERIDS),
      publicOrigin,
      trustedOrigins,
      oauthScope: oauthScope as Config['oauthScope'],
      defaultRole: defaultRole as Config['defaultRole'],
      crm,
      autoCreateCustomers: ['on', 'true', '1'].includes(autoCreate),
      notifyNewCustomers: ['on', 'true', '1'].includes(notifyNew),
      domainVerifyFiles,
      ...(env.WECOM_API_PROXY_TOKEN ? { apiProxyToken: env.WECOM_API_PROXY_TOKEN } : {}),
    },
  };
}

const cache = new WeakMap<object, ConfigResult>();

/** `readConfig`, once per isolate and env object. */
export function configOf(env: ConfigSource): ConfigResult {
  let result = cache.get(env);
  if (!result) {
    result = readConfig(env);
    cache.set(env, result);
  }
  return result;
}

export function findApp(config: Config, corpId: string, agentId: string): WeComApp | undefined {
  return config.apps.find((app) => app.corpId === corpId && app.agentId === agentId);
}
