/// <reference types="vite/client" />
declare module '*.vue' {
  import type { DefineComponent } from 'vue';
  const component: DefineComponent<object, object, unknown>;
  export default component;
}

interface ImportMetaEnv {
  /** Where the stand-in (`--mode simulator` builds only) checks signatures; default http://127.0.0.1:8788. */
  readonly VITE_WECOM_SIMULATOR_URL?: string;
}
