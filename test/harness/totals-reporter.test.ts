/**
 * The closing `N passed, N failed` line (test/totals-reporter.ts), read from real vitest runs over
 * fixtures/ (files named `*.fixture.ts`, which the main run does not pick up).
 */
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';
import { root } from '../../scripts/local.ts';

async function totalsLine(env: Record<string, string>): Promise<string> {
  const childEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !name.startsWith('VITEST')));
  const run = promisify(execFile)(process.execPath, [join(root, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', join(import.meta.dirname, 'fixtures', 'vitest.config.ts')], {
    cwd: root,
    env: { ...childEnv, ...env, NO_COLOR: '1' },
  });
  // A run with a failure exits 1: its output is what we read either way.
  const { stdout } = await run.catch((error: { stdout?: string; code?: number }) => ({ stdout: error.stdout ?? '', code: error.code }));
  const lines = stdout.split('\n').filter((line) => /^\d+ passed, \d+ failed/.test(line));
  expect(lines, stdout).toHaveLength(1);
  return lines[0]!;
}

describe('the totals line', () => {
  it('counts a file whose beforeAll throws as failed, though vitest reports its tests skipped', async () => {
    expect(await totalsLine({ FIXTURE: 'before-all-throws.fixture.ts' })).toBe('0 passed, 1 failed, 2 skipped');
  });

  it('counts a file whose beforeAll throws and that holds no tests as failed', async () => {
    expect(await totalsLine({ FIXTURE: 'before-all-throws-no-tests.fixture.ts' })).toBe('0 passed, 1 failed');
  });

  it('counts a suite whose beforeAll throws, next to a passing test', async () => {
    expect(await totalsLine({ FIXTURE: 'suite-before-all-throws.fixture.ts' })).toBe('1 passed, 1 failed, 1 skipped');
  });

  it('counts a file whose afterAll throws after its tests passed', async () => {
    expect(await totalsLine({ FIXTURE: 'after-all-throws.fixture.ts' })).toBe('1 passed, 1 failed');
  });

  it('counts a file that fails to load', async () => {
    expect(await totalsLine({ FIXTURE: 'load-error.fixture.ts' })).toBe('0 passed, 1 failed');
  });

  it('counts a globalSetup that throws, when no test runs at all', async () => {
    expect(await totalsLine({ FIXTURE: 'passes.fixture.ts', FIXTURE_GLOBAL_SETUP: 'throw' })).toBe('0 passed, 1 failed');
  });

  it('adds up every file of a run, and a passing file counts no failure', async () => {
    expect(await totalsLine({ FIXTURE: 'passes.fixture.ts' })).toBe('1 passed, 0 failed');
    expect(await totalsLine({})).toBe('3 passed, 5 failed, 3 skipped');
  });
});
