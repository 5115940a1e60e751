/**
 * @module
 * Ends every run with one line `N passed, N failed` (totals of all suites), which CI reads.
 *
 * A failure is a test that failed, or a file or suite whose own code failed: it did not load, or a
 * beforeAll/afterAll hook threw (its tests are then reported skipped, so they would count nothing).
 * A run that failed for none of these (a globalSetup that threw, no test files) still says `1 failed`.
 */
import type { Reporter, SerializedError, TestModule, TestRunEndReason } from 'vitest/node';

export function countTotals(
  testModules: ReadonlyArray<TestModule>,
  unhandledErrors: ReadonlyArray<unknown>,
  reason: TestRunEndReason,
): { passed: number; failed: number; skipped: number } {
  let passed = 0;
  let failed = 0;
  let skipped = 0;
  for (const module of testModules) {
    let failedHere = 0;
    for (const test of module.children.allTests()) {
      const state = test.result().state;
      if (state === 'passed') passed++;
      else if (state === 'failed') failedHere++;
      else skipped++;
    }
    // The file's own errors (loading, its top-level hooks), and each suite's (its hooks).
    for (const entity of [module, ...module.children.allSuites()]) if (entity.errors().length > 0) failedHere++;
    // Whatever else made vitest call the file failed.
    if (failedHere === 0 && module.state() === 'failed') failedHere = 1;
    failed += failedHere;
  }
  failed += unhandledErrors.length;
  if (failed === 0 && reason !== 'passed') failed = 1;
  return { passed, failed, skipped };
}

export default class TotalsReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>, unhandledErrors: ReadonlyArray<SerializedError>, reason: TestRunEndReason): void {
    const { passed, failed, skipped } = countTotals(testModules, unhandledErrors, reason);
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped > 0 ? `, ${skipped} skipped` : ''}\n`);
  }
}
