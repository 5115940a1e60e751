/**
 * @module
 * Starts the whole product on this machine: the WeCom simulator, the SPA (the production build,
 * or for `npm run dev` the same with the simulated WeCom client's script tag), local D1 migrations, then `wrangler dev` on 127.0.0.1 with the demo
 * configuration pointed at the simulator, and the demo corp's quick replies when its library is empty.
 * `npm run dev` and the e2e suite share it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';
import { demoRepliesSql } from '../dev/fixtures/demo-replies.ts';
import { startSimulator } from '../dev/simulator/server.ts';
import { CONFIG_NAMES } from '../worker/config-names.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const wrangler = join(root, 'node_modules', '.bin', 'wrangler');
export const demoVarsFile = join(root, 'dev', 'fixtures', 'demo.vars');

export function readVarsFile(path: string): Record<string, string> {
  const vars: Record<string, string> = {};
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    const match = /^\s*([A-Z0-9_]+)\s*=(.*)$/.exec(line);
    if (match?.[1]) vars[match[1]] = (match[2] ?? '').trim();
  }
  return vars;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

// No telemetry, and no fetch of Cloudflare's request.cf sample: local serving talks to loopback only.
const quietEnv = { ...process.env, WRANGLER_SEND_METRICS: 'false', CLOUDFLARE_CF_FETCH_ENABLED: 'false', CI: process.env.CI ?? 'true', NO_COLOR: '1' };

function run(args: string[], log: (line: string) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(wrangler, args, { cwd: root, env: quietEnv, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else {
        log(output);
        reject(new Error(`wrangler ${args.join(' ')} exited with ${code}`));
      }
    });
  });
}

async function waitForHealth(url: string, child: ChildProcess, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`wrangler dev exited with ${child.exitCode}`);
    try {
      const response = await fetch(`${url}/healthz`);
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  throw new Error(`${url}/healthz did not answer within ${timeoutMs} ms`);
}

export interface LocalOptions {
  port: number;
  /** Where the WeCom simulator listens; 0 picks a free port. Not started when WECOM_API_BASE is set in the environment. */
  simulatorPort: number;
  /** Miniflare state directory (KV, D1, queues). */
  persistTo: string;
  /** Values passed with --var, over the demo file and the environment. */
  vars?: Record<string, string>;
  /**
   * Build the SPA with a `<script src>` to the simulator's simulated WeCom client (`npm run dev`, for a
   * developer's browser). Without it the SPA is the production build, and whoever drives the browser
   * injects the client itself (the e2e suite and the bench, with Playwright's addInitScript).
   */
  clientScriptTag?: boolean;
  /** Where wrangler's output goes; defaults to this process's stdout. */
  log?: (line: string) => void;
  /**
   * Start `wrangler dev` again, on the same port and state, when it exits by itself: under heavy load
   * its local proxy occasionally ends the process (an empty `✘ [ERROR]`), which is the dev tool's fault,
   * not the worker's. At most this many times; each is logged and counted in `restarts`.
   */
  restarts?: number;
}

export interface Local {
  url: string;
  simulatorUrl: string | undefined;
  /** How many times `wrangler dev` exited by itself and was started again. */
  restarts(): number;
  stop(): Promise<void>;
}

export async function startLocal(options: LocalOptions): Promise<Local> {
  const log = options.log ?? ((line: string) => process.stdout.write(line));
  const simulator = process.env.WECOM_API_BASE ? undefined : await startSimulator({ port: options.simulatorPort });
  try {
    // The simulator-mode build loads the simulated WeCom client from this simulator.
    process.env.VITE_WECOM_SIMULATOR_URL = simulator?.url ?? '';
    // Under vitest NODE_ENV is `test`, which would bundle Vue's development build.
    const nodeEnv = process.env.NODE_ENV;
    process.env.NODE_ENV = 'production';
    try {
      await build({ configFile: join(root, 'vite.config.ts'), mode: simulator && options.clientScriptTag ? 'simulator' : 'production', logLevel: 'warn' });
    } finally {
      process.env.NODE_ENV = nodeEnv;
    }
    const product = await startWorker(options, log, simulator?.url);
    return {
      url: product.url,
      simulatorUrl: simulator?.url,
      restarts: product.restarts,
      async stop() {
        await product.stop();
        await simulator?.stop();
      },
    };
  } catch (error) {
    await simulator?.stop();
    throw error;
  }
}

/** The simulator's demo corp gets a few quick replies (dev/fixtures/demo-replies.ts), once. */
async function seedDemoReplies(corpId: string, persist: string[], log: (line: string) => void): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'demo-replies-'));
  try {
    const file = join(dir, 'demo-replies.sql');
    writeFileSync(file, demoRepliesSql(corpId, Date.now()));
    await run(['d1', 'execute', 'DB', '--local', ...persist, '--file', file], log);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function startWorker(options: LocalOptions, log: (line: string) => void, simulatorUrl: string | undefined): Promise<{ url: string; stop(): Promise<void>; restarts(): number }> {
  const persist = ['--persist-to', options.persistTo];
  await run(['d1', 'migrations', 'apply', 'DB', '--local', ...persist], log);

  // Signing and the same-origin check for writes judge pages against this, so it names the port really used.
  const overrides: Record<string, string> = { PUBLIC_ORIGIN: `http://127.0.0.1:${options.port}` };
  if (simulatorUrl) {
    overrides.WECOM_API_BASE = simulatorUrl;
    overrides.WECOM_OAUTH_BASE = simulatorUrl;
    overrides.WECOM_LOGIN_BASE = simulatorUrl;
  }
  for (const name of CONFIG_NAMES) {
    const value = process.env[name];
    if (value !== undefined) overrides[name] = value;
  }
  Object.assign(overrides, options.vars);
  if (simulatorUrl) await seedDemoReplies(overrides.WECOM_CORP_ID ?? readVarsFile(demoVarsFile).WECOM_CORP_ID ?? '', persist, log);
  const varArgs = Object.entries(overrides).flatMap(([name, value]) => ['--var', `${name}:${value}`]);

  const args = [
    'dev',
    '--ip', '127.0.0.1',
    '--port', String(options.port),
    '--env-file', demoVarsFile,
    '--show-interactive-dev-session=false',
    // `GET /__scheduled?cron=<cron>` runs a cron trigger now (the e2e suite and the bench fire the reminder job).
    '--test-scheduled',
    ...persist,
    ...varArgs,
  ];
  const url = `http://127.0.0.1:${options.port}`;
  let stopping = false;
  let restarts = 0;

  const launch = async (): Promise<ChildProcess> => {
    const inspectorPort = await freePort();
    if (stopping) throw new Error('stopped while restarting');
    const started = spawn(wrangler, [...args, '--inspector-port', String(inspectorPort)], { cwd: root, env: quietEnv, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
    started.stdout?.on('data', (chunk: Buffer) => log(chunk.toString()));
    started.stderr?.on('data', (chunk: Buffer) => log(chunk.toString()));
    started.once('exit', (code) => {
      if (stopping || restarts >= (options.restarts ?? 0)) return;
      // Its workerd may outlive it: the whole process group goes before the next one starts.
      try {
        if (started.pid !== undefined) process.kill(-started.pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
      restarts += 1;
      log(`\nlocal: wrangler dev exited by itself (code ${code}); starting it again on ${url} (restart ${restarts})\n`);
      void launch()
        .then(async (next) => {
          child = next;
          await waitForHealth(url, next, 120_000);
        })
        .catch((error: unknown) => log(`local: the restart failed: ${String(error)}\n`));
    });
    return started;
  };
  let child = await launch();

  const stop = async (): Promise<void> => {
    stopping = true;
    if (child.exitCode !== null || child.pid === undefined) return;
    const running = child;
    const exited = new Promise((resolve) => running.once('exit', resolve));
    // wrangler starts workerd as a child: end the whole process group.
    process.kill(-running.pid!, 'SIGTERM');
    const timer = setTimeout(() => running.pid !== undefined && running.exitCode === null && process.kill(-running.pid, 'SIGKILL'), 5000);
    await exited;
    clearTimeout(timer);
  };
  try {
    await waitForHealth(url, child, 120_000);
  } catch (error) {
    await stop();
    throw error;
  }
  return { url, stop, restarts: () => restarts };
}
