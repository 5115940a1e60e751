/**
 * @module
 * The slice of `@wecom/jssdk`'s surface the sidebar uses, written out so that the client (client.ts)
 * depends on this slice only and tests can hand it a freshly loaded SDK. Shapes follow the SDK's own: results carry `errMsg`
 * (`"<api>:ok"`, `"<api>:fail …"`) and `errCode`; failures reject with such a result or an `Error`.
 */

export interface WwResult {
  errMsg: string;
  errCode: number;
}

export interface WwSignature {
  timestamp: number | string;
  nonceStr: string;
  signature: string;
}

export type WwSigner = (url: string) => WwSignature | Promise<WwSignature>;

export interface WwRegisterOptions {
  corpId: string;
  agentId?: string | number;
  jsApiList?: string[];
  getConfigSignature?: WwSigner;
  getAgentConfigSignature?: WwSigner;
  onConfigSuccess?: (result: WwResult) => void;
  onConfigFail?: (result: WwResult | Error) => void;
  onAgentConfigSuccess?: (result: WwResult) => void;
  onAgentConfigFail?: (result: WwResult | Error) => void;
}

export interface WwSurface {
  readonly env: { readonly isWeCom: boolean };
  register(options: WwRegisterOptions): void;
  /** Waits for (or re-runs, when the last one failed) config/agentConfig. */
  ensureConfigReady(): Promise<unknown>;
  getContext(): Promise<WwResult & { entry: string }>;
  getCurExternalContact(): Promise<WwResult & { userId: string }>;
  getCurExternalChat(): Promise<WwResult & { chatId: string }>;
  openUserProfile(params: { type: 1 | 2; userid: string }): Promise<WwResult>;
  /** Only from a chat toolbar (`single_chat_tools`, `group_chat_tools`); the app identity is required. */
  sendChatMessage(params: ChatMessage): Promise<WwResult>;
}

/** What `sendChatMessage` sends: the message kinds the sidebar uses (docs/wecom.md §3.3). */
export type ChatMessage =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'news'; news: { link: string; title: string; desc: string; imgUrl: string } };

/** Every API the sidebar calls, by SDK name: the client grants only what `jsApiList` names. */
export const JS_API_LIST = ['getContext', 'getCurExternalContact', 'getCurExternalChat', 'openUserProfile', 'sendChatMessage'];
