/**
 * @module
 * `npm run sim`: the WeCom simulator on 127.0.0.1:${SIM_PORT ?? 8788}, where the demo
 * configuration (dev/fixtures/demo.vars) points the worker's WeCom base URLs.
 */
import { demoIds } from '../fixtures/demo-corp.ts';
import { startSimulator } from './server.ts';

const port = Number(process.env.SIM_PORT ?? 8788);
const sim = await startSimulator({ port });
console.log(`WeCom simulator on ${sim.url}/ (corp ${demoIds.corpId}, agent ${demoIds.agentId}; Ctrl-C stops)`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void sim.stop().then(() => process.exit(0));
  });
}
