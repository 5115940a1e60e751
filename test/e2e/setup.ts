/**
 * @module
 * Before each e2e test: the product answers. When wrangler dev exited by itself and the global setup
 * is starting it again (scripts/local.ts `restarts`), a test waits for it rather than failing at once.
 */
import { beforeEach, inject } from 'vitest';

const HEALTHY_WITHIN_MS = 90_000;

beforeEach(async () => {
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  for (;;) {
    const healthy = await fetch(`${inject('baseUrl')}/healthz`).then((response) => response.ok, () => false);
    if (healthy) return;
    if (Date.now() > deadline) throw new Error(`the product did not answer /healthz within ${HEALTHY_WITHIN_MS / 1000} s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}, HEALTHY_WITHIN_MS + 5_000);
