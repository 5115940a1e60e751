/**
 * @module
 * `npm run dev`: builds the SPA and runs the whole product on http://127.0.0.1:8787/
 * with local KV, D1 and queues under .wrangler/ and the demo configuration.
 */
import { join } from 'node:path';
import { build } from 'vite';
import { root, startLocal } from './local.ts';

const port = Number(process.env.PORT ?? 8787);

await build({ configFile: join(root, 'vite.config.ts'), logLevel: 'warn' });
const local = await startLocal({ port, persistTo: join(root, '.wrangler', 'state') });
console.log(`\nSidebar: ${local.url}/   Health: ${local.url}/healthz   (Ctrl-C stops)\n`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void local.stop().then(() => process.exit(0));
  });
}
