/**
 * @module
 * Starts the product the way `npm run dev` does (fresh local state, a free port on 127.0.0.1)
 * once for the e2e suite, and stops it afterwards; unpacks the npm Chromium first if that is the one used.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { resolveChromium } from '../../scripts/chromium.ts';
import { freePort, startLocal } from '../../scripts/local.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    baseUrl: string;
    simulatorUrl: string;
  }
}

export default async function setup(project: TestProject) {
  const browser = await resolveChromium();
  console.log(`e2e: ${browser.source} Chromium at ${browser.executablePath}`);
  const persistTo = mkdtempSync(join(tmpdir(), 'sidebar-e2e-'));
  let output = '';
  const local = await startLocal({ port: await freePort(), simulatorPort: 0, persistTo, restarts: 3, log: (line) => (output += line) }).catch((error: unknown) => {
    console.error(output);
    throw error;
  });
  project.provide('baseUrl', local.url);
  project.provide('simulatorUrl', local.simulatorUrl ?? '');
  return async () => {
    // A product that stopped answering during the run fails every later test alike: its own last words say why.
    const alive = await fetch(`${local.url}/healthz`).then((response) => response.ok, () => false);
    if (!alive || local.restarts() > 0) {
      console.error(`e2e: wrangler dev ${alive ? `exited by itself and was started again ${local.restarts()} time(s)` : 'stopped answering'}; its last output:\n${output.slice(-8000)}`);
    }
    await local.stop();
    rmSync(persistTo, { recursive: true, force: true });
  };
}
