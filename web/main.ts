/**
 * @module
 * Starts the JS-SDK registration and the session check before Vue renders anything (the
 * config + agentConfig + context chain is slow on Android: docs/wecom.md §9), then mounts.
 */
import { createPinia, setActivePinia } from 'pinia';
import { createApp } from 'vue';
import App from './App.vue';
import { locale, setLocale } from './i18n/index.ts';
import { startRouter } from './router.ts';
import { useContextStore } from './stores/context.ts';
import { sdk } from './wecom/sdk.ts';
import './style.css';

const pinia = createPinia();
setActivePinia(pinia);
startRouter();
setLocale(locale.value);

const context = useContextStore();
// With the real SDK this registers before Vue mounts below: with the page's boot block (web/api/boot.ts)
// at once, without it after the signatures and /api/me requests it sends from here.
void context.boot(sdk);

// The sidebar stays open while the member switches chats or even accounts in the client.
document.addEventListener('visibilitychange', () => {
  if (document.visibilityState === 'visible') void context.refresh();
});

createApp(App).use(pinia).mount('#app');
