/**
 * @module
 * A simulated WeCom client, played where the real one meets a page: its native bridge. The real
 * client injects `window.WeixinJSBridge` (`invoke(name, params, callback)`, `on(name, callback)`)
 * into the pages of its built-in browser and fires `WeixinJSBridgeReady` on `document`; its user
 * agent carries `wxwork/<version>`. `@wecom/jssdk` reads nothing else, so a page running the real
 * SDK cannot tell this from WeCom as far as the sidebar's APIs go.
 *
 * What it plays, and what the code relies on (README, "Playing WeCom on one machine"):
 * - `preVerifyJSAPI` (config) checks the signature against the corp ticket, `agentConfig` against
 *   the app ticket, both over the page's own `location.href` without the fragment: the URL is
 *   never passed, the client reads it itself. The check is the simulator's (`/__sim/jssdk/verify`),
 *   so only tickets the simulator issued and that have not expired pass.
 * - clients before 3.0.24 refuse `agentConfig` until `preVerifyJSAPI` succeeded (the SDK runs
 *   config first there); from 3.0.24 on agentConfig alone suffices.
 * - answers are native: `err_msg` with underscores (`agentConfig:fail_invalid_signature`,
 *   `getCurExternalContact:fail_no_permission`, `system:function_not_exist`), with an `err_code`
 *   only for an expired ticket (42012). The SDK turns these into `errMsg`/`errCode`.
 * - an API the client lacks (`missing`, by default `getContext` below 3.0.24) answers
 *   `system:function_not_exist`; the customer APIs need a verified agentConfig that listed them
 *   and the customer-contact permission; `getCurExternalContact`/`getCurExternalChat` need an
 *   entry that has that context.
 * - `sendChatMessage` sends only from a chat toolbar (`single_chat_tools`, `group_chat_tools`, and
 *   `chat_attachment`, `single_kf_tools`), else `sendChatMessage:fail_without_context_of_external_contact`;
 *   what it sends lands in `sent` (the chat the client is in), and the panel of `fromPage` lists it.
 * - the bridge can be there at once, arrive late, or never arrive (the user agent still says WeCom).
 * - `switchChat` moves the open sidebar to another chat, hiding and showing the page as the
 *   client does.
 *
 * `installWeComClient` and `fromPage` are self-contained (no outer names at run time): the
 * simulator serves their source text as `/__sim/client.js` (client-script.ts), and DOM tests call
 * `installWeComClient` on their window. Browser code: only type-checked with the DOM library, so
 * the simulator's server side loads it at run time (client-script.ts) and never imports it.
 */
/// <reference lib="dom" />
import type { VerifyPort, VerifyVerdict, WeComClientConfig } from './client-config.ts';

export type { VerifyPort, VerifyRequest, VerifyVerdict, WeComClientConfig } from './client-config.ts';
export { weComUserAgent } from './client-config.ts';

export type NativeResult = Record<string, unknown> & { err_msg: string };

/** A message the page sent into the open chat with `sendChatMessage`. */
export interface SentMessage {
  entry: string;
  /** The external contact of a 1:1 chat, or the customer group's chat id. */
  to: string;
  msgtype: string;
  /** The body for `msgtype` as the page gave it, e.g. `{ content }` for text. */
  body: Record<string, unknown>;
  at: number;
}

/** The DOM event on `document` that announces each sent message (detail: SentMessage). */
export const SENT_EVENT = 'wecom-sim:sent';

export interface SimulatedWeCom {
  readonly config: WeComClientConfig;
  /** Every invoke, in order: `name` and the params the page sent. */
  readonly invokes: Array<{ name: string; params: Record<string, unknown> }>;
  /** What the page sent into the chat, in order. */
  readonly sent: SentMessage[];
  /** Moves the open sidebar to another chat (or entry); the page is hidden and shown again. */
  switchChat(next: Partial<Pick<WeComClientConfig, 'entry' | 'contact' | 'chat' | 'permission'>>): void;
  /** Defines the bridge now (for a test that plays a late bridge by hand). */
  arrive(): void;
  /** Takes the bridge and the user agent away again (DOM tests share one window). */
  uninstall(): void;
}

export function installWeComClient(win: Window & typeof globalThis, config: WeComClientConfig, verifyPort?: VerifyPort): SimulatedWeCom {
  const doc = win.document;
  const nav = win.navigator;
  const invokes: Array<{ name: string; params: Record<string, unknown> }> = [];
  const sent: SentMessage[] = [];
  const listeners: Record<string, Array<(result: unknown) => void>> = {};
  const scene = { entry: config.entry, contact: config.contact, chat: config.chat, permission: config.permission };
  const verified: { corp: boolean; agent: string[] | null; agentSignature: string } = { corp: false, agent: null, agentSignature: '' };
  const restore: Array<() => void> = [];
  const contactEntries = ['single_chat_tools', 'contact_profile', 'single_kf_tools'];
  const customerApis = ['getCurExternalContact', 'getCurExternalChat', 'openUserProfile', 'getContext', 'sendChatMessage'];
  const chatEntries = ['single_chat_tools', 'group_chat_tools', 'chat_attachment', 'single_kf_tools'];
  const msgtypes = ['text', 'image', 'video', 'file', 'news', 'miniprogram', 'msgmenu', 'channels_shop_product'];

  const older = (version: string, than: string): boolean => {
    const a = version.split('.');
    const b = than.split('.');
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      const x = parseInt(a[i] ?? '', 10) || 0;
      const y = parseInt(b[i] ?? '', 10) || 0;
      if (x !== y) return x < y;
    }
    return false;
  };
  const beforeAgentOnly = older(config.version, '3.0.24');

  const override = (target: object, key: string, value: unknown): void => {
    const own = Object.getOwnPropertyDescriptor(target, key);
    Object.defineProperty(target, key, { configurable: true, get: () => value });
    restore.push(() => {
      if (own) Object.defineProperty(target, key, own);
      else delete (target as Record<string, unknown>)[key];
    });
  };

  if (config.setUserAgent) {
    const mobile = config.platform === 'mobile';
    override(nav, 'userAgent', mobile
      ? `Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Mobile/15E148 wxwork/${config.version} MicroMessenger/7.0.1 Language/zh ColorScheme/Light`
      : `Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36 wxwork/${config.version} MicroMessenger/7.0.1 Language/zh`);
    override(nav, 'platform', mobile ? 'iPhone' : 'Win32');
  }

  const verify: VerifyPort =
    verifyPort ??
    (async (request) => {
      const response = await win.fetch(config.verifyUrl, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(request) });
      if (!response.ok) throw new Error(`the WeCom simulator answered ${response.status}`);
      return (await response.json()) as { config?: VerifyVerdict; agentConfig?: VerifyVerdict };
    });

  const pageUrl = (): string => win.location.href.split('#')[0] ?? win.location.href;

  /** WeCom's own words for a refused signature: underscores, and a code only for a ticket it no longer knows. */
  const refusal = (prefix: string, verdict: VerifyVerdict | undefined): NativeResult => {
    if (!verdict) return { err_msg: `${prefix}:fail_system_error` };
    if (verdict.reason === 'untrusted_domain') return { err_msg: `${prefix}:fail_invalid_url_domain` };
    if (verdict.reason === 'ticket_expired') return { err_msg: `${prefix}:fail_invalid_signature`, err_code: 42012 };
    return { err_msg: `${prefix}:fail_invalid_signature` };
  };

  const str = (value: unknown): string => (typeof value === 'string' || typeof value === 'number' ? String(value) : '');
  const list = (value: unknown): string[] => (Array.isArray(value) ? value.map(String) : typeof value === 'string' ? value.split(';') : []);
  const record = (value: unknown): Record<string, unknown> | null => (typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : null);
  const isWebUrl = (value: unknown): boolean => typeof value === 'string' && /^https?:\/\/[^\s]+$/.test(value);

  /** Into the open chat, as WeCom would: what is wrong with the message, in its words, or nothing. */
  function sendIntoChat(params: Record<string, unknown>): NativeResult {
    if (!chatEntries.includes(scene.entry)) return { err_msg: 'sendChatMessage:fail_without_context_of_external_contact' };
    const msgtype = str(params.msgtype);
    const body = record(params[msgtype]);
    if (!msgtypes.includes(msgtype) || !body) return { err_msg: 'sendChatMessage:fail_invalid_msgtype' };
    if (msgtype === 'text' && str(body.content).trim() === '') return { err_msg: 'sendChatMessage:fail_invalid_content' };
    if (msgtype === 'news' && (!isWebUrl(body.link) || str(body.title) === '')) return { err_msg: 'sendChatMessage:fail_invalid_link' };
    if ((msgtype === 'news' || msgtype === 'miniprogram') && body.imgUrl !== undefined && body.imgUrl !== '' && !isWebUrl(body.imgUrl)) return { err_msg: 'sendChatMessage:fail_invalid_imgUrl' };
    const message: SentMessage = { entry: scene.entry, to: scene.entry === 'group_chat_tools' ? scene.chat : scene.contact, msgtype, body, at: Date.now() };
    sent.push(message);
    // The literal, not SENT_EVENT: this function runs in the page as its own source text.
    doc.dispatchEvent(new win.CustomEvent('wecom-sim:sent', { detail: message }));
    return { err_msg: 'sendChatMessage:ok' };
  }

  async function answer(name: string, params: Record<string, unknown>): Promise<NativeResult> {
    if (config.missing.includes(name)) return { err_msg: 'system:function_not_exist' };
    if (name === 'preVerifyJSAPI') {
      let verdicts;
      try {
        verdicts = await verify({ url: pageUrl(), corpId: str(params.appId), config: { timestamp: str(params.verifyTimestamp), nonceStr: str(params.verifyNonceStr), signature: str(params.verifySignature) } });
      } catch {
        return { err_msg: 'config:fail_system_error' };
      }
      if (!verdicts.config?.ok) return refusal('config', verdicts.config);
      verified.corp = true;
      return { err_msg: 'config:ok' };
    }
    if (name === 'agentConfig') {
      if (beforeAgentOnly && !verified.corp) return { err_msg: 'agentConfig:fail_no_permission' };
      let verdicts;
      try {
        verdicts = await verify({
          url: pageUrl(),
          corpId: str(params.corpid),
          agentId: str(params.agentid),
          agentConfig: { timestamp: str(params.timestamp), nonceStr: str(params.nonceStr), signature: str(params.signature) },
        });
      } catch {
        return { err_msg: 'agentConfig:fail_system_error' };
      }
      if (!verdicts.agentConfig?.ok) {
        verified.agent = null;
        return refusal('agentConfig', verdicts.agentConfig);
      }
      verified.agent = list(params.jsApiList);
      verified.agentSignature = str(params.signature);
      return { err_msg: 'agentConfig:ok' };
    }
    if (customerApis.includes(name)) {
      // These need the app identity (agentConfig) listing them, and the page must still carry it.
      if (!verified.agent || !verified.agent.includes(name) || str(params.verifySignature) !== verified.agentSignature) return { err_msg: `${name}:fail_no_permission` };
      if (name === 'getContext') return { err_msg: 'getContext:ok', entry: scene.entry, shareTicket: '' };
      if (name === 'openUserProfile') return { err_msg: 'openUserProfile:ok' };
      if (scene.permission === 'none') return { err_msg: `${name}:fail_no_permission` };
      if (name === 'sendChatMessage') return sendIntoChat(params);
      if (name === 'getCurExternalContact') {
        if (!contactEntries.includes(scene.entry)) return { err_msg: 'getCurExternalContact:fail_without_context' };
        return { err_msg: 'getCurExternalContact:ok', userId: scene.contact };
      }
      if (scene.entry !== 'group_chat_tools') return { err_msg: 'getCurExternalChat:fail_without_context' };
      return { err_msg: 'getCurExternalChat:ok', chatId: scene.chat };
    }
    return { err_msg: 'system:function_not_exist' };
  }

  const bridge = {
    invoke(name: string, params: Record<string, unknown> | undefined, callback?: (result: NativeResult) => void): void {
      const given = params ?? {};
      invokes.push({ name, params: given });
      void answer(name, given).then((result) => {
        // The client answers on a later turn, never inside invoke.
        win.setTimeout(() => callback?.(result), 0);
      });
    },
    on(name: string, callback: (result: unknown) => void): void {
      (listeners[name] ??= []).push(callback);
    },
  };

  let arrived = false;
  function arrive(): void {
    if (arrived) return;
    arrived = true;
    override(win, 'WeixinJSBridge', bridge);
    doc.dispatchEvent(new win.Event('WeixinJSBridgeReady'));
  }

  let lateTimer: number | undefined;
  if (config.bridge === 'ready') {
    // Defined before any page script runs; the event is for pages that listen for it anyway.
    arrived = true;
    override(win, 'WeixinJSBridge', bridge);
    win.setTimeout(() => doc.dispatchEvent(new win.Event('WeixinJSBridgeReady')), 0);
  } else if (config.bridge === 'late') {
    lateTimer = win.setTimeout(arrive, config.lateMs);
  }

  function setVisibility(state: 'hidden' | 'visible'): void {
    Object.defineProperty(doc, 'visibilityState', { configurable: true, get: () => state });
    Object.defineProperty(doc, 'hidden', { configurable: true, get: () => state === 'hidden' });
    doc.dispatchEvent(new win.Event('visibilitychange'));
  }

  return {
    config,
    invokes,
    sent,
    switchChat(next) {
      setVisibility('hidden');
      Object.assign(scene, next);
      setVisibility('visible');
      for (const listener of listeners.onChatChange ?? []) listener({ ...scene });
    },
    arrive,
    uninstall() {
      if (lateTimer !== undefined) win.clearTimeout(lateTimer);
      delete (doc as unknown as Record<string, unknown>).visibilityState;
      delete (doc as unknown as Record<string, unknown>).hidden;
      for (const undo of restore.reverse()) undo();
    },
  };
}

/**
 * For a developer's own browser: reads the scene from the page URL, plays WeCom only when it names
 * an entry, and adds a small panel that reopens the page as another chat. Self-contained like
 * `installWeComClient`, whose source it is given.
 */
export function fromPage(
  win: Window & typeof globalThis,
  base: WeComClientConfig,
  choices: { contacts: Array<{ id: string; label: string }>; chats: Array<{ id: string; label: string }> },
  install: (win: Window & typeof globalThis, config: WeComClientConfig) => unknown,
): void {
  const query = new URLSearchParams(win.location.search);
  const playing = query.has('entry');
  if (playing) {
    const pick = (name: string): string | null => query.get(name);
    const version = pick('version');
    const old = version ? version.split('.').map(Number).reduce((acc, n, i) => (acc !== 0 ? acc : n - ([3, 0, 24][i] ?? 0)), 0) < 0 : false;
    const bridge = pick('bridge');
    const missing = pick('missing');
    (win as unknown as { __weComClient?: unknown }).__weComClient = install(win, {
      ...base,
      version: version || base.version,
      platform: pick('platform') === 'mobile' ? 'mobile' : base.platform,
      bridge: bridge === 'late' || bridge === 'none' ? bridge : base.bridge,
      entry: pick('entry') || base.entry,
      contact: pick('contact') || base.contact,
      chat: pick('chat') || base.chat,
      permission: pick('perm') === 'none' ? 'none' : base.permission,
      missing: missing !== null ? missing.split(',').filter(Boolean) : old ? ['getContext'] : base.missing,
    });
  }
  const panel = (): void => {
    const doc = win.document;
    const box = doc.createElement('details');
    box.setAttribute('data-testid', 'wecom-simulated-client');
    box.style.cssText = 'position:fixed;right:8px;bottom:8px;z-index:99999;background:#fff;border:1px solid #6b3fa0;border-radius:6px;padding:4px 8px;font:12px sans-serif;max-width:300px';
    const option = (value: string, label: string, selected: boolean) => `<option value="${value}"${selected ? ' selected' : ''}>${label.replace(/</g, '&lt;')}</option>`;
    const entry = query.get('entry') || 'single_chat_tools';
    box.innerHTML =
      `<summary>WeCom simulated client${playing ? ` · ${entry}` : ' · off'}</summary><form style="display:grid;gap:4px;margin-top:4px">` +
      `<select name="entry">${['single_chat_tools', 'group_chat_tools', 'contact_profile', 'normal'].map((e) => option(e, e, e === entry)).join('')}</select>` +
      `<select name="contact">${choices.contacts.map((c) => option(c.id, c.label, c.id === query.get('contact'))).join('')}</select>` +
      `<select name="chat">${choices.chats.map((c) => option(c.id, c.label, c.id === query.get('chat'))).join('')}</select>` +
      `<select name="version">${[['', 'current client'], ['3.0.16', '3.0.16 (before 3.0.24)']].map(([v, l]) => option(v ?? '', l ?? '', (query.get('version') ?? '') === v)).join('')}</select>` +
      `<select name="platform">${option('desktop', 'desktop', query.get('platform') !== 'mobile')}${option('mobile', 'mobile', query.get('platform') === 'mobile')}</select>` +
      `<select name="bridge">${['ready', 'late', 'none'].map((b) => option(b, `bridge ${b}`, (query.get('bridge') ?? 'ready') === b)).join('')}</select>` +
      `<label><input type="checkbox" name="perm" value="none"${query.get('perm') === 'none' ? ' checked' : ''}> no customer-contact permission</label>` +
      `<button type="submit">Open in this chat</button></form>`;
    if (playing) {
      // The chat itself, as far as this page goes: what the sidebar sent into it (sendChatMessage).
      const chat = doc.createElement('section');
      chat.setAttribute('data-testid', 'wecom-sent-messages');
      chat.style.cssText = 'border-top:1px solid #ddd;margin-top:6px;padding-top:4px';
      const heading = doc.createElement('strong');
      heading.textContent = 'Sent into this chat';
      const sentList = doc.createElement('ol');
      sentList.style.cssText = 'margin:4px 0;padding-left:18px;max-height:160px;overflow:auto';
      const none = doc.createElement('p');
      none.style.margin = '4px 0';
      none.textContent = 'Nothing yet';
      chat.append(heading, none, sentList);
      box.append(chat);
      const show = (message: { msgtype: string; body: Record<string, unknown> }): void => {
        const item = doc.createElement('li');
        const text = (value: unknown): string => (typeof value === 'string' ? value : '');
        item.textContent = message.msgtype === 'text' ? text(message.body.content) : message.msgtype === 'news' ? `[link] ${text(message.body.title)} (${text(message.body.link)})` : `[${message.msgtype}]`;
        item.style.whiteSpace = 'pre-wrap';
        sentList.append(item);
        none.remove();
        box.open = true;
      };
      const client = (win as unknown as { __weComClient?: { sent?: Array<{ msgtype: string; body: Record<string, unknown> }> } }).__weComClient;
      for (const message of client?.sent ?? []) show(message);
      doc.addEventListener('wecom-sim:sent', (event) => show((event as CustomEvent<{ msgtype: string; body: Record<string, unknown> }>).detail));
    }
    box.querySelector('form')?.addEventListener('submit', (event) => {
      event.preventDefault();
      const next = new URLSearchParams();
      new FormData(event.target as HTMLFormElement).forEach((value, key) => {
        if (typeof value === 'string' && value !== '') next.set(key, value);
      });
      win.location.assign(`${win.location.pathname}?${next.toString()}#/`);
    });
    doc.body.append(box);
  };
  if (win.document.body) panel();
  else win.document.addEventListener('DOMContentLoaded', panel);
}
