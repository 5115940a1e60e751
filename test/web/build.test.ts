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
import { STANDIN_MARKER } from '../../web/wecom/standin/ww.ts';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The budget for what index.html makes the browser fetch before anything shows. */
const FIRST_LOAD_JS_BUDGET = 60 * 1024;
/** Strings that exist only in the stand-in chunk or the demo data it imports. */
const STANDIN_ONLY = [STANDIN_MARKER, '/__sim/jssdk/verify', 'wmDemoChenJing'];

async function buildTo(mode: 'production' | 'simulator'): Promise<string> {
  const outDir = mkdtempSync(join(tmpdir(), `sidebar-${mode}-`));
  // Vitest sets NODE_ENV=test, which would make Vite bundle Vue's development build.
  const nodeEnv = process.env.NODE_ENV;
  process.env.NODE_ENV = 'production';
  try {
    await build({ configFile: join(root, 'vite.config.ts'), root: join(root, 'web'), mode, logLevel: 'silent', build: { outDir, emptyOutDir: true } });
  } finally {
    process.env.NODE_ENV = nodeEnv;
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

  it.each(STANDIN_ONLY)('contains nothing of the WeCom stand-in (%s)', (needle) => {
    expect(containing(production, needle)).toEqual([]);
  });

  it('while a simulator build does contain it, so the search above can find it', () => {
    for (const needle of STANDIN_ONLY) expect(containing(simulator, needle).length).toBeGreaterThan(0);
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
  });
});
