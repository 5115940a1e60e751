/**
 * @module
 * Which Chromium the e2e suite and the bench drive, and how it is launched. Nothing here downloads a
 * browser: it is either the machine's own (`/usr/bin/chromium`, Debian's package) or the one the
 * `@sparticuz/chromium` devDependency ships inside its npm tarball, unpacked once per version into
 * `node_modules/.cache/` together with the NSS libraries it needs, so a machine with only Node and
 * npm runs it.
 *
 * `E2E_CHROMIUM` picks: unset or `auto` = the system one when present, else the npm one;
 * `system` = `/usr/bin/chromium` or fail; `npm` = the npm one; an absolute path = that executable.
 */
import { execFile } from 'node:child_process';
import { accessSync, constants, existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join } from 'node:path';
import { promisify } from 'node:util';
import { chromium as playwright, type Browser } from 'playwright-core';
import { root } from './local.ts';

export const SYSTEM_CHROMIUM = '/usr/bin/chromium';

/** Flags for every Chromium we launch: no GPU, and nothing reaches the network on its own. */
const COMMON_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  // Pages may name outside hosts (WeCom avatars): resolve nothing but loopback, so no request leaves the machine.
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

/**
 * Of `@sparticuz/chromium`'s serverless flags, those left out: they loosen what a page may do or how
 * the browser isolates it (the suite must see the page as any user's Chromium does), or run
 * everything in one process (a Lambda constraint; here a renderer crash would take the browser), or
 * set headless mode (Playwright does).
 */
const DROPPED_NPM_ARGS = [
  '--disable-web-security',
  '--allow-running-insecure-content',
  '--disable-site-isolation-trials',
  '--disable-features=',
  '--enable-features=',
  '--single-process',
  '--headless',
];

export type ChromiumChoice = {
  source: 'system' | 'npm' | 'path';
  executablePath: string;
  args: string[];
  /** Extra environment for the browser process (the npm build's libraries). */
  env: Record<string, string>;
};

type Choice = 'auto' | 'system' | 'npm' | { path: string };

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** Reads `E2E_CHROMIUM`; exported for the resolver's own test. */
export function parseChoice(value: string | undefined): Choice {
  const choice = value?.trim() ?? '';
  if (choice === '' || choice === 'auto') return 'auto';
  if (choice === 'system' || choice === 'npm') return choice;
  if (isAbsolute(choice)) return { path: choice };
  throw new Error(`E2E_CHROMIUM=${choice}: expected auto, system, npm or an absolute path to a Chromium executable`);
}

/** Decides without unpacking anything: the source, and for system/path the executable. */
export function pickChromium(value = process.env.E2E_CHROMIUM, systemPath = SYSTEM_CHROMIUM): { source: 'system' | 'npm' | 'path'; path?: string } {
  const choice = parseChoice(value);
  if (typeof choice === 'object') {
    if (!isExecutable(choice.path)) throw new Error(`E2E_CHROMIUM=${choice.path} is not an executable file`);
    return { source: 'path', path: choice.path };
  }
  if (choice === 'system') {
    if (!isExecutable(systemPath)) throw new Error(`E2E_CHROMIUM=system but ${systemPath} is missing (apt-get install chromium, or leave E2E_CHROMIUM unset to use the npm build)`);
    return { source: 'system', path: systemPath };
  }
  if (choice === 'auto' && isExecutable(systemPath)) return { source: 'system', path: systemPath };
  return { source: 'npm' };
}

const npmPackage = '@sparticuz/chromium';

function npmPackageVersion(): string {
  const entry = createRequire(import.meta.url).resolve(npmPackage); // …/@sparticuz/chromium/build/index.js
  return (JSON.parse(readFileSync(join(dirname(entry), '..', 'package.json'), 'utf8')) as { version: string }).version;
}

/**
 * Unpacks the npm build into `node_modules/.cache/sparticuz-chromium-<version>/` unless it is there:
 * the package's own `executablePath()` (which unpacks into the OS temp directory) runs in a child
 * process whose temp directory is a private staging folder, which is then renamed into place, so
 * concurrent runs and other users' `/tmp/chromium` never see or leave a half-written browser.
 */
async function unpackNpmChromium(): Promise<string> {
  if (process.platform !== 'linux' || process.arch !== 'x64') {
    throw new Error(`${npmPackage} ships Chromium for Linux x64 only (this is ${process.platform} ${process.arch}): install chromium as ${SYSTEM_CHROMIUM} or set E2E_CHROMIUM to a Chromium executable`);
  }
  const cache = join(root, 'node_modules', '.cache');
  const dir = join(cache, `sparticuz-chromium-${npmPackageVersion()}`);
  if (existsSync(join(dir, 'chromium')) && existsSync(join(dir, 'lib'))) return dir;
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, '.sparticuz-chromium-'));
  try {
    const script = [
      `import chromium, { inflate } from '${npmPackage}';`,
      `import { join } from 'node:path';`,
      `import { createRequire } from 'node:module';`,
      `const bin = join(createRequire(join(process.cwd(), 'x.js')).resolve('${npmPackage}'), '..', '..', 'bin');`,
      // Chromium, its SwiftShader libraries, and NSS/expat (built for Amazon Linux 2023, needing only glibc).
      `await chromium.executablePath(bin);`,
      `await inflate(join(bin, 'al2023.tar.br'));`,
    ].join('\n');
    await promisify(execFile)(process.execPath, ['--input-type=module', '-e', script], {
      cwd: root,
      env: { ...process.env, TMPDIR: staging, TMP: staging, TEMP: staging },
    });
    if (!existsSync(join(staging, 'chromium')) || !existsSync(join(staging, 'al2023', 'lib'))) {
      throw new Error(`${npmPackage} did not unpack chromium and al2023/lib into ${staging}`);
    }
    renameSync(join(staging, 'al2023', 'lib'), join(staging, 'lib'));
    rmSync(join(staging, 'al2023'), { recursive: true, force: true });
    try {
      renameSync(staging, dir);
    } catch (error) {
      // Another run got there first.
      if (!existsSync(join(dir, 'chromium'))) throw error;
    }
    return dir;
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
}

async function npmArgs(): Promise<string[]> {
  const { default: chromium } = await import('@sparticuz/chromium');
  return chromium.args.filter((arg) => !DROPPED_NPM_ARGS.some((dropped) => arg.startsWith(dropped)));
}

/** The Chromium to drive, per `E2E_CHROMIUM` (see the module comment); unpacks the npm build if needed. */
export async function resolveChromium(value = process.env.E2E_CHROMIUM): Promise<ChromiumChoice> {
  const picked = pickChromium(value);
  if (picked.source !== 'npm') return { source: picked.source, executablePath: picked.path!, args: [...COMMON_ARGS], env: {} };
  const dir = await unpackNpmChromium();
  const lib = join(dir, 'lib');
  return {
    source: 'npm',
    executablePath: join(dir, 'chromium'),
    args: [...new Set([...(await npmArgs()), ...COMMON_ARGS])],
    env: { LD_LIBRARY_PATH: [lib, process.env.LD_LIBRARY_PATH].filter(Boolean).join(':') },
  };
}

/** Launches the resolved Chromium headless through playwright-core. */
export async function launchChromium(value = process.env.E2E_CHROMIUM): Promise<Browser> {
  const choice = await resolveChromium(value);
  return playwright.launch({
    executablePath: choice.executablePath,
    args: choice.args,
    headless: true,
    env: { ...process.env, ...choice.env } as Record<string, string>,
  });
}
