/**
 * @module
 * The real `@wecom/jssdk`: the only file that imports it, in every build. Named imports keep the
 * bundle to the few wrappers used. The SDK decides "inside WeCom" from the user agent, and finds
 * the client's bridge, when it loads.
 */
import {
  ensureConfigReady,
  env,
  getContext,
  getCurExternalChat,
  getCurExternalContact,
  openUserProfile,
  register,
  sendChatMessage,
} from '@wecom/jssdk';
import type { WwSurface } from './types.ts';

/** The parts of the SDK the sidebar uses; tests hand in a freshly loaded copy of the same package. */
export interface JsSdk {
  env: { readonly isWeCom: boolean };
  register: typeof register;
  ensureConfigReady: typeof ensureConfigReady;
  getContext: typeof getContext;
  getCurExternalContact: typeof getCurExternalContact;
  getCurExternalChat: typeof getCurExternalChat;
  openUserProfile: typeof openUserProfile;
  sendChatMessage: typeof sendChatMessage;
}

export function surfaceOf(ww: JsSdk): WwSurface {
  return {
    env: ww.env,
    register: (options) => ww.register(options),
    ensureConfigReady: () => ww.ensureConfigReady(),
    getContext: () => ww.getContext(),
    getCurExternalContact: () => ww.getCurExternalContact(),
    getCurExternalChat: () => ww.getCurExternalChat(),
    openUserProfile: (params) => ww.openUserProfile(params),
    sendChatMessage: (params) => ww.sendChatMessage(params),
  };
}

export const sdk: WwSurface = surfaceOf({ env, register, ensureConfigReady, getContext, getCurExternalContact, getCurExternalChat, openUserProfile, sendChatMessage });
