import { join } from 'node:path';
import { defineConfig } from 'vitest/config';
import vue from '@vitejs/plugin-vue';
import { cloudflareTest, readD1Migrations } from '@cloudflare/vitest-pool-workers';
import { demoVarsFile, readVarsFile, root } from './scripts/local.ts';

// Three suites in one run: the worker inside workerd with real local bindings,
// the SPA's components in a DOM, and the whole product in Chromium.
export default defineConfig(async () => {
  const migrations = await readD1Migrations(join(root, 'worker', 'migrations'));
  return {
    test: {
      reporters: ['default', './test/totals-reporter.ts'],
      // The worker logs a JSON line per decision; show them only for tests that fail.
      silent: 'passed-only' as const,
      // `@wecom/jssdk`'s register() drops its own config promise, so a refused signature is also an
      // unhandled rejection. The SPA mutes exactly these in the browser (web/wecom/client.ts); Node
      // does not hand them to the DOM window, so the web project's tests mute them here.
      onUnhandledError: (error: object): boolean => {
        const errMsg: unknown = Reflect.get(error, 'errMsg');
        return !(typeof errMsg === 'string' && /^(agentConfig|config|preVerifyJSAPI):/.test(errMsg));
      },
      projects: [
        {
          plugins: [
            // The WeCom endpoints point at the simulator that test/worker/global-setup.ts starts.
            cloudflareTest(({ inject }) => {
              const simulatorUrl = inject<string>('simulatorUrl');
              return {
                main: './worker/index.ts',
                wrangler: { configPath: './wrangler.toml' },
                miniflare: {
                  bindings: {
                    ...readVarsFile(demoVarsFile),
                    WECOM_API_BASE: simulatorUrl,
                    WECOM_OAUTH_BASE: simulatorUrl,
                    WECOM_LOGIN_BASE: simulatorUrl,
                    TEST_MIGRATIONS: migrations,
                    // Tests start the syncs they mean to; worker/jobs/first-sync.ts is tested by calling it.
                    FIRST_SYNC: 'off',
                    // Small, so the long-jobs tests see a run handed from instance to instance.
                    JOB_STEPS_PER_INSTANCE: '40',
                  },
                  // Every request in this pool comes without CF-Connecting-IP, so all tests share one
                  // client key: the product's limits are raised here, and the tests of the limits
                  // swap in TIGHT_LIMIT (3 a minute) for the binding they exercise.
                  ratelimits: {
                    LOGIN_LIMIT: { namespace_id: '7301', simple: { limit: 100_000, period: 60 } },
                    SIGNING_LIMIT: { namespace_id: '7302', simple: { limit: 100_000, period: 60 } },
                    CONTACT_LOOKUP_LIMIT: { namespace_id: '7303', simple: { limit: 100_000, period: 60 } },
                    TIGHT_LIMIT: { namespace_id: '7399', simple: { limit: 3, period: 60 } },
                  },
                },
              };
            }),
          ],
          test: {
            name: 'worker',
            include: ['test/worker/**/*.test.ts'],
            setupFiles: ['test/worker/setup.ts'],
            globalSetup: ['test/worker/global-setup.ts'],
            // The suites share one WeCom simulator whose state tests reset and inspect.
            fileParallelism: false,
          },
        },
        {
          plugins: [vue()],
          test: {
            name: 'web',
            include: ['test/web/**/*.test.ts'],
            environment: 'happy-dom',
          },
        },
        {
          test: {
            name: 'simulator',
            include: ['test/simulator/**/*.test.ts'],
            environment: 'node',
          },
        },
        // The test harness itself: the totals line, and which Chromium e2e and the bench drive.
        { test: { name: 'harness', include: ['test/harness/**/*.test.ts'], environment: 'node', testTimeout: 60_000 } },
        { test: { name: 'deploy', include: ['test/deploy/**/*.test.ts'], environment: 'node', testTimeout: 120_000 } },
        {
          test: {
            name: 'e2e',
            include: ['test/e2e/**/*.test.ts'],
            globalSetup: ['test/e2e/global-setup.ts'],
            setupFiles: ['test/e2e/setup.ts'],
            testTimeout: 60_000,
            hookTimeout: 60_000,
            fileParallelism: false,
            // After every other project, on a machine no longer busy with the workerd pools.
            sequence: { groupOrder: 1 },
            // Should wrangler dev still exit by itself under load (4.124 did; 4.129.1 and later keep
            // a failed proxied request to that request), the setup starts it again and says so, and
            // the test that was in flight gets one more try. A failure of the product fails both.
            retry: 1,
          },
        },
      ],
    },
  };
});
