import { readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { defineConfig, type Plugin } from 'vite';
import vue from '@vitejs/plugin-vue';

/**
 * `--mode simulator` (`npm run dev` only): the production SPA, unchanged, plus a classic
 * `<script src>` in index.html that loads the simulated WeCom client from the WeCom simulator
 * (dev/simulator/client-script.ts) before the SPA's module runs, and that origin added to
 * `script-src` in the built `_headers`. The SPA's own code is the same as in production; a
 * production build gets neither the tag nor the relaxed policy.
 */
function simulatedClient(simulatorUrl: string): Plugin {
  const origin = new URL(simulatorUrl).origin;
  let outDir = '';
  return {
    name: 'wecom-simulated-client',
    apply: 'build',
    configResolved(config) {
      outDir = resolve(config.root, config.build.outDir);
    },
    transformIndexHtml: () => [{ tag: 'script', attrs: { src: `${origin}/__sim/client.js?page=1` }, injectTo: 'head-prepend' }],
    // After the public files (web/public/_headers among them) are copied.
    closeBundle() {
      const file = join(outDir, '_headers');
      const headers = readFileSync(file, 'utf8');
      writeFileSync(file, headers.replace("Content-Security-Policy: script-src 'self';", `Content-Security-Policy: script-src 'self' ${origin};`));
    },
  };
}

// The SPA is built into dist/, which the worker serves as static assets on its own origin.
export default defineConfig(({ mode }) => ({
  root: 'web',
  plugins: [vue(), ...(mode === 'simulator' ? [simulatedClient(process.env.VITE_WECOM_SIMULATOR_URL || 'http://127.0.0.1:8788')] : [])],
  build: {
    outDir: '../dist',
    emptyOutDir: true,
  },
}));
