/**
 * @module
 * Before each e2e test: the product answers. When wrangler dev exited by itself and the global setup
 * is starting it again (scripts/local.ts `restarts`), a test waits for it rather than failing at once.
 */
import { beforeEach, inject } from 'vitest';

const HEALTHY_WITHIN_MS = 90_000;
/**
 * A retry follows a failure that may be wrangler dev going down: the request that broke it fails
 * first and the process exits a moment later, so a /healthz answered at once can come from the
 * server about to go. A retry waits this long first, and then for two answers a second apart.
 */
const SETTLE_BEFORE_RETRY_MS = 3_000;

const healthy = () => fetch(`${inject('baseUrl')}/healthz`).then((response) => response.ok, () => false);
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

beforeEach(async ({ task }) => {
  const retry = (task.result?.retryCount ?? 0) > 0;
  if (retry) await sleep(SETTLE_BEFORE_RETRY_MS);
  const deadline = Date.now() + HEALTHY_WITHIN_MS;
  for (;;) {
    if ((await healthy()) && (!retry || (await sleep(1_000), await healthy()))) return;
    if (Date.now() > deadline) throw new Error(`the product did not answer /healthz within ${HEALTHY_WITHIN_MS / 1000} s`);
    await sleep(250);
  }
}, HEALTHY_WITHIN_MS + SETTLE_BEFORE_RETRY_MS + 5_000);
