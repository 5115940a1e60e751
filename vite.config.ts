import { defineConfig } from 'vite';
import vue from '@vitejs/plugin-vue';

// The SPA is built into dist/, which the worker serves as static assets on its own origin.
export default defineConfig({
  root: 'web',
  plugins: [vue()],
  build: {
    outDir: '../dist',
    emptyOutDir: true,
  },
});
