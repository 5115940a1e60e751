/**
 * @module
 * `npm run dev`: the whole product on http://127.0.0.1:8787/ with local KV, D1 and queues under
 * .wrangler/, the demo configuration, and the WeCom simulator on http://127.0.0.1:8788/.
 */
import { join } from 'node:path';
import { root, startLocal } from './local.ts';

const port = Number(process.env.PORT ?? 8787);
const simulatorPort = Number(process.env.SIM_PORT ?? 8788);

const local = await startLocal({ port, simulatorPort, persistTo: join(root, '.wrangler', 'state'), clientScriptTag: true });
console.log(`\nSidebar: ${local.url}/   Health: ${local.url}/healthz`);
if (local.simulatorUrl) {
  console.log(`WeCom simulator: ${local.simulatorUrl}/   Open ${local.url}/?entry=single_chat_tools to play a chat (Ctrl-C stops)\n`);
}

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void local.stop().then(() => process.exit(0));
  });
}
