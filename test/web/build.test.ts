// @vitest-environment node
/// <reference types="node" />
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { build } from 'vite';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { diagnosticsMessages } from '../../web/i18n/messages-diagnostics.ts';
import { jobMessages } from '../../web/i18n/messages-jobs.ts';
import { repliesMessages } from '../../web/i18n/messages-replies.ts';
import { createSimulator } from '../../dev/simulator/app.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The budget for what index.html makes the browser fetch before anything shows. */
const FIRST_LOAD_JS_BUDGET = 60 * 1024;
/** Strings of the simulated WeCom client and the demo corp, which only the simulator serves. */
const SIMULATOR_ONLY = ['WeCom simulated client', 'wecom-sim:sent', '/__sim/', 'fail_invalid_signature', 'function_not_exist', 'switchChat', 'wmDemoChenJing', 'wrDemoXinghe'];

async function buildTo(mode: 'production' | 'simulator'): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), `sidebar-${mode}-`));
  // Vitest sets NODE_ENV=test, which would make Vite bundle Vue's development build.
  const nodeEnv = process.env.NODE_ENV;
  const simulatorUrl = process.env.VITE_WECOM_SIMULATOR_URL;
  process.env.NODE_ENV = 'production';
  // Where a simulator-mode build loads the simulated client from (npm run dev's simulator).
  process.env.VITE_WECOM_SIMULATOR_URL = 'http://127.0.0.1:8788';
  try {
    await build({ configFile: join(root, 'vite.config.ts'), root: join(root, 'web'), mode, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
    if (simulatorUrl === undefined) delete process.env.VITE_WECOM_SIMULATOR_URL;
    else process.env.VITE_WECOM_SIMULATOR_URL = simulatorUrl;
  }
  return outDir;
}

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : [path];
  });
}

function containing(dir: string, needle: string): string[] {
  return files(dir).filter((path) => readFileSync(path, 'utf8').includes(needle));
}

/** Scripts index.html loads or preloads: the first load. */
function firstLoadScripts(dir: string): string[] {
  const html = readFileSync(join(dir, 'index.html'), 'utf8');
  const sources = [...html.matchAll(/<script[^>]*type="module"[^>]*src="([^"]+)"/g), ...html.matchAll(/<link[^>]*rel="modulepreload"[^>]*href="([^"]+)"/g)].map((match) => match[1] ?? '');
  return sources.map((src) => join(dir, src.replace(/^\//, '')));
}

describe('the production build', () => {
  let production = '';
  let simulator = '';

  beforeAll(async () => {
    production = await buildTo('production');
    simulator = await buildTo('simulator');
  }, 120_000);
  afterAll(() => {
    for (const dir of [production, simulator]) if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it.each(SIMULATOR_ONLY)('contains nothing of the simulated WeCom client (%s)', (needle) => {
    expect(containing(production, needle)).toEqual([]);
  });

  it('while the script the simulator serves does contain them, so the search above can find them', async () => {
    const { app } = createSimulator();
    const script = await (await app.fetch(new Request('http://127.0.0.1:8788/__sim/client.js?page=1'))).text();
    for (const needle of SIMULATOR_ONLY) expect(script, needle).toContain(needle);
  });

  it('bundles the real @wecom/jssdk, which decides "inside WeCom" from the user agent', () => {
    expect(containing(production, 'wxwork').length).toBeGreaterThan(0);
    expect(containing(production, 'WeixinJSBridgeReady').length).toBeGreaterThan(0);
  });

  it('keeps production strict, and gives the simulator-mode build only a script tag and that origin in its CSP', () => {
    expect(readFileSync(join(production, 'index.html'), 'utf8')).not.toContain('__sim');
    expect(readFileSync(join(production, '_headers'), 'utf8')).toMatch(/script-src 'self';/);
    expect(readFileSync(join(simulator, 'index.html'), 'utf8')).toContain('<script src="http://127.0.0.1:8788/__sim/client.js?page=1"></script>');
    expect(readFileSync(join(simulator, '_headers'), 'utf8')).toContain("script-src 'self' http://127.0.0.1:8788;");
    // The SPA's own code is the same file for file: the simulated client is not in it in any mode.
    const scripts = (dir: string) => files(join(dir, 'assets')).map((path) => readFileSync(path, 'utf8')).sort();
    expect(scripts(simulator)).toEqual(scripts(production));
  });

  it(`keeps the first-load JavaScript within ${FIRST_LOAD_JS_BUDGET / 1024} KB gzipped`, () => {
    const scripts = firstLoadScripts(production);
    expect(scripts.length).toBeGreaterThan(0);
    const gzipped = scripts.reduce((sum, path) => sum + gzipSync(readFileSync(path)).length, 0);
    console.info(`first-load JS: ${scripts.length} file(s), ${(gzipped / 1024).toFixed(1)} KB gzipped`);
    expect(gzipped).toBeLessThanOrEqual(FIRST_LOAD_JS_BUDGET);
  });

  it('keeps admin pages and the customer editor out of the first load', () => {
    const first = firstLoadScripts(production).map((path) => readFileSync(path, 'utf8')).join('\n');
    expect(first).not.toContain('/api/admin/org-sync');
    expect(first).not.toContain('version_conflict');
    expect(first).not.toContain('/api/admin/diagnostics');
    // The diagnostics page's strings travel with its chunk (web/i18n/messages-diagnostics.ts).
    expect(first).not.toContain(diagnosticsMessages.en['diagnostics.title']);
    expect(containing(production, diagnosticsMessages.en['diagnostics.title']).length).toBe(1);
    // So do the long jobs' panels' (web/i18n/messages-jobs.ts), with the users page.
    expect(first).not.toContain('/api/admin/reconcile');
    expect(first).not.toContain(jobMessages.en['job.cancelQuestion']);
    expect(containing(production, jobMessages.en['job.cancelQuestion']).length).toBe(1);
    // Quick replies load when the member opens them, with their strings (web/i18n/messages-replies.ts).
    expect(first).not.toContain('/api/replies');
    expect(first).not.toContain(repliesMessages.en['replies.copiedHere']);
    expect(containing(production, repliesMessages.en['replies.copiedHere']).length).toBe(1);
  });
});
