/**
 * @module
 * The real `@wecom/jssdk`: the only file that imports it. Named imports keep the bundle to the
 * few wrappers used.
 */
import {
  ensureConfigReady,
  env,
  getContext,
  getCurExternalChat,
  getCurExternalContact,
  openUserProfile,
  register,
} from '@wecom/jssdk';
import type { WwSurface } from './types.ts';

export const sdk: WwSurface = {
  env,
  register: (options) => register(options),
  ensureConfigReady: () => ensureConfigReady(),
  getContext: () => getContext(),
  getCurExternalContact: () => getCurExternalContact(),
  getCurExternalChat: () => getCurExternalChat(),
  openUserProfile: (params) => openUserProfile(params),
};
