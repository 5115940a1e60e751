/**
 * @module
 * Boots the real SPA (stores, boot sequence, App) against a fake worker and the real SDK inside
 * the simulated WeCom client (wecom.ts), the way web/main.ts does, for screen-level tests.
 */
import { enableAutoUnmount, flushPromises, mount, type VueWrapper } from '@vue/test-utils';
import { createPinia, setActivePinia, type Pinia } from 'pinia';
import { afterEach, vi } from 'vitest';
import App from '../../web/App.vue';
import type { Me } from '../../web/api/types.ts';
import { locale } from '../../web/i18n/index.ts';
import { navigation } from '../../web/navigation.ts';
import { parseHash, route, startRouter } from '../../web/router.ts';
import { useContextStore } from '../../web/stores/context.ts';
import type { WeComWaits } from '../../web/wecom/client.ts';
import { fakeApi, settle, type FakeApi, type Route } from './fake-api.ts';
import { me, signatures } from './fixtures.ts';
import { simulatedWeCom, type Simulated, type SimulatedOptions } from './wecom.ts';

// Every App shares the hash router: one left mounted would react to the next test's routes.
enableAutoUnmount(afterEach);

export interface Started {
  wrapper: VueWrapper;
  api: FakeApi;
  ww: Simulated;
  pinia: Pinia;
  assign: ReturnType<typeof vi.fn>;
}

export interface StartOptions {
  routes?: Record<string, Route>;
  ww?: SimulatedOptions;
  /** Bounds on the waits for WeCom, shortened for tests of a silent client. */
  waits?: WeComWaits;
  me?: Me;
  /** Path, query and fragment of the page, e.g. `/?entry=single_chat_tools#/`. */
  url?: string;
  /** Runs on the fresh page before the boot (e.g. to fill the contact cache). */
  prepare?: () => void;
}

/** A fresh page: new Pinia, the URL, the language, no cached contacts, navigation watched. */
export function freshPage(url = '/#/'): { pinia: Pinia; assign: ReturnType<typeof vi.fn> } {
  const pinia = createPinia();
  setActivePinia(pinia);
  history.replaceState(null, '', url);
  route.value = parseHash(location.hash);
  startRouter();
  sessionStorage.clear();
  locale.value = 'zh-CN';
  const assign = vi.fn();
  vi.spyOn(navigation, 'assign').mockImplementation(assign);
  vi.spyOn(navigation, 'reload').mockImplementation(() => undefined);
  return { pinia, assign };
}

export function baseRoutes(who: Me = me()): Record<string, Route> {
  return {
    'POST /api/jssdk/signatures': (call) => ({ body: signatures((call.body as { refresh?: boolean }).refresh ? 'fresh' : 'first') }),
    'GET /api/me': { body: who },
  };
}

export async function startApp(options: StartOptions = {}): Promise<Started> {
  const { pinia, assign } = freshPage(options.url);
  options.prepare?.();
  const api = fakeApi({ ...baseRoutes(options.me), ...options.routes });
  const ww = await simulatedWeCom(options.ww);
  const booting = useContextStore().boot(ww.ww, options.waits);
  const wrapper = mount(App, { global: { plugins: [pinia] }, attachTo: document.body });
  await booting;
  await settled();
  return { wrapper, api, ww, pinia, assign };
}

/** Waits for fetches, lazy chunks and re-renders to finish. */
export async function settled(): Promise<void> {
  await settle();
  await vi.dynamicImportSettled();
  await flushPromises();
  await settle();
}
