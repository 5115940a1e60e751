import type { D1Migration } from 'cloudflare:test';
import type { Env as WorkerEnv } from '../../worker/bindings.ts';

declare global {
  namespace Cloudflare {
    interface Env extends WorkerEnv {
      TEST_MIGRATIONS: D1Migration[];
      /** A rate-limit binding allowing 3 a minute (vitest.config.ts), swapped in by the tests of the limits. */
      TIGHT_LIMIT: RateLimit;
    }
    interface GlobalProps {
      mainModule: typeof import('../../worker/index.ts');
    }
  }
}
