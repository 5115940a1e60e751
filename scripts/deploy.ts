/**
 * @module
 * `npm run deploy`: takes a Cloudflare account wrangler is logged in to (`npx wrangler login`, or
 * CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID) from nothing to a running worker, and is safe to
 * run again on every release:
 *
 * 1. the two queues (wrangler never creates queues on its own): listed first, created when absent;
 *    a create that meets "already exists" (a second page of queues, a race) counts as done.
 * 2. the D1 database, by the name in wrangler.toml. `wrangler deploy` would provision it, but only
 *    at the end, and the migrations must run before the new code goes live; deploy then binds the
 *    existing database by that name. KV is left to wrangler, which provisions it on deploy.
 * 3. the SPA, built in production mode (`npm run dev` leaves a simulator build in dist/).
 * 4. D1 migrations, remotely (already applied ones are skipped by wrangler itself).
 * 5. `wrangler deploy --keep-vars`: without it, a deploy deletes every variable set in the dashboard.
 * 6. which required secrets are still missing, since the worker answers 503 until they are set.
 *
 * `--dry-run` runs what needs no account (the build, `wrangler deploy --dry-run` into a temporary
 * directory) and prints the rest; it touches neither dist/ nor the network. `--outdir <dir>` keeps
 * the dry-run bundle there.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { APP_CONFIG_NAMES, RECOMMENDED_CONFIG, REQUIRED_CONFIG } from '../worker/config-names.ts';

export const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Must match wrangler.toml (a test compares them). */
export const QUEUES = ['wecom-events', 'wecom-events-dlq', 'app-messages'] as const;
export const DATABASE_NAME = 'wecom-crm';
export const DATABASE_BINDING = 'DB';

export interface CommandResult {
  code: number;
  /** stdout and stderr, when captured; empty when the command wrote to the terminal. */
  output: string;
}

/**
 * Runs one of the project's Node CLIs (`script` is its file under node_modules/.bin). `capture`:
 * read the output to parse it; otherwise the command talks to the terminal, so prompts stay usable.
 */
export type Runner = (script: string, args: readonly string[], options: { capture: boolean; env?: Record<string, string> }) => Promise<CommandResult>;

export interface DeployOptions {
  dryRun?: boolean;
  /** Dry run only: keep the bundle here instead of a temporary directory. */
  outdir?: string;
  run?: Runner;
  log?: (line: string) => void;
}

const bin = (name: string) => join(root, 'node_modules', '.bin', name);

// Metrics off always; in a dry run the banner (and the update check it makes) too, so it needs no network.
const WRANGLER_ENV = { WRANGLER_SEND_METRICS: 'false' };
const DRY_RUN_ENV = { ...WRANGLER_ENV, WRANGLER_HIDE_BANNER: 'true', NO_COLOR: '1' };

// On the Node running this script (the pinned one under `npm run`), whatever `node` PATH finds first.
export const spawnRunner: Runner = (script, args, options) =>
  new Promise((resolvePromise, reject) => {
    const env: NodeJS.ProcessEnv = { ...process.env, ...options.env };
    // The SPA talks to the real WeCom client in production: never to a simulator a dev shell pointed it at.
    delete env.VITE_WECOM_SIMULATOR_URL;
    const child = spawn(process.execPath, [script, ...args], { cwd: root, env, stdio: options.capture ? ['ignore', 'pipe', 'pipe'] : 'inherit' });
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolvePromise({ code: code ?? 1, output }));
  });

class DeployError extends Error {}

const ANSI = /\u001b\[[0-9;]*m/g;

/** Queue names in `wrangler queues list`'s table (one cell per column, `│`-separated). */
export function parseQueueNames(table: string): Set<string> {
  const cells = new Set<string>();
  for (const line of table.replace(ANSI, '').split('\n')) {
    for (const cell of line.split(/[│|]/)) {
      const value = cell.trim();
      if (value !== '') cells.add(value);
    }
  }
  return cells;
}

/** The `name` of each entry in a JSON list a wrangler command printed (`d1 list --json`, `secret list --format json`). */
export function namesInJsonList(output: string, command: string): Set<string> {
  const start = output.indexOf('[');
  let parsed: unknown;
  try {
    parsed = start === -1 ? undefined : JSON.parse(output.slice(start));
  } catch {
    parsed = undefined;
  }
  if (!Array.isArray(parsed)) throw new DeployError(`${command} printed no JSON list`);
  const names = new Set<string>();
  for (const item of parsed) {
    if (typeof item === 'object' && item !== null && typeof (item as { name?: unknown }).name === 'string') names.add((item as { name: string }).name);
  }
  return names;
}

/** The API's answer when a queue or database of that name exists (Queues: "already taken", code 11009). */
export function isAlreadyExists(output: string): boolean {
  return /already (exists|taken)|\b11009\b/i.test(output);
}

const isAppConfig = (name: string) => (APP_CONFIG_NAMES as readonly string[]).includes(name);

/** Required secrets missing from `present`; WECOM_APPS stands in for the five per-app values. */
export function missingSecrets(present: ReadonlySet<string>): string[] {
  return REQUIRED_CONFIG.filter((name) => !present.has(name) && !(isAppConfig(name) && present.has('WECOM_APPS')));
}

export async function deploy(options: DeployOptions = {}): Promise<void> {
  const run = options.run ?? spawnRunner;
  const log = options.log ?? ((line: string) => process.stdout.write(`${line}\n`));
  const dryRun = options.dryRun === true;
  const steps = 6;
  let step = 0;
  const heading = (text: string) => log(`\n[${++step}/${steps}] ${text}`);
  const show = (command: string, args: readonly string[]) => `${command === bin('wrangler') ? 'wrangler' : command === bin('vite') ? 'vite' : command} ${args.join(' ')}`;
  const wouldRun = (command: string, args: readonly string[]) => log(`  (dry run) would run: ${show(command, args)}`);

  async function must(command: string, args: readonly string[], capture: boolean, env: Record<string, string>, hint = ''): Promise<string> {
    log(`  $ ${show(command, args)}`);
    const result = await run(command, args, { capture, env });
    if (result.code !== 0) {
      if (capture && result.output.trim() !== '') log(result.output.trimEnd());
      throw new DeployError(`${show(command, args)} failed (exit ${result.code}).${hint}`);
    }
    return result.output;
  }

  const wrangler = bin('wrangler');
  const env = dryRun ? DRY_RUN_ENV : WRANGLER_ENV;
  const loginHint = ' Is wrangler logged in to the account? Run npx wrangler login (or set CLOUDFLARE_API_TOKEN and CLOUDFLARE_ACCOUNT_ID).';

  /** Creates `args`' resource unless it exists; "already exists" from the API counts as done. */
  async function create(args: readonly string[], label: string): Promise<void> {
    log(`  $ ${show(wrangler, args)}`);
    const result = await run(wrangler, args, { capture: true, env });
    if (result.code === 0) return log(`  created ${label}`);
    if (isAlreadyExists(result.output)) return log(`  ${label} already exists`);
    log(result.output.trimEnd());
    throw new DeployError(`${show(wrangler, args)} failed (exit ${result.code}).`);
  }

  heading(`Queues: ${QUEUES.join(', ')}`);
  if (dryRun) {
    wouldRun(wrangler, ['queues', 'list']);
    for (const name of QUEUES) wouldRun(wrangler, ['queues', 'create', name]);
  } else {
    const existing = parseQueueNames(await must(wrangler, ['queues', 'list'], true, env, loginHint));
    for (const name of QUEUES) {
      if (existing.has(name)) log(`  queue ${name} exists`);
      else await create(['queues', 'create', name], `queue ${name}`);
    }
  }

  heading(`D1 database: ${DATABASE_NAME}`);
  if (dryRun) {
    wouldRun(wrangler, ['d1', 'list', '--json']);
    wouldRun(wrangler, ['d1', 'create', DATABASE_NAME]);
  } else {
    const existing = namesInJsonList(await must(wrangler, ['d1', 'list', '--json'], true, env, loginHint), 'wrangler d1 list --json');
    if (existing.has(DATABASE_NAME)) log(`  database ${DATABASE_NAME} exists`);
    else await create(['d1', 'create', DATABASE_NAME], `database ${DATABASE_NAME}`);
  }

  const work = dryRun ? await mkdtemp(join(tmpdir(), 'wecom-deploy-')) : undefined;
  try {
    heading('SPA (vite build, production mode)');
    const assets = work ? join(work, 'dist') : undefined;
    // A dry run builds beside dist/, which a running `npm run dev` or e2e suite may be serving.
    const buildArgs = ['build', '--mode', 'production', '--logLevel', 'warn', ...(assets ? ['--outDir', assets, '--emptyOutDir'] : [])];
    await must(bin('vite'), buildArgs, false, {});

    heading(`D1 migrations (remote, binding ${DATABASE_BINDING})`);
    const migrate = ['d1', 'migrations', 'apply', DATABASE_BINDING, '--remote'];
    if (dryRun) wouldRun(wrangler, migrate);
    else await must(wrangler, migrate, false, env, loginHint);

    heading('Worker (wrangler deploy)');
    if (dryRun && work && assets) {
      const outdir = options.outdir ? resolve(options.outdir) : join(work, 'worker');
      await must(wrangler, ['deploy', '--dry-run', '--outdir', outdir, '--assets', assets, '--keep-vars'], false, env);
      log(`  bundle written to ${outdir}${options.outdir ? '' : ' (removed when this run ends; keep it with --outdir <dir>)'}`);
    } else {
      await must(wrangler, ['deploy', '--keep-vars'], false, env);
    }

    heading('Secrets');
    if (dryRun) {
      wouldRun(wrangler, ['secret', 'list', '--format', 'json']);
      log(`  required: ${REQUIRED_CONFIG.join(', ')} (or WECOM_APPS for the five app values); recommended: ${RECOMMENDED_CONFIG.join(', ')}`);
    } else {
      const listed = await run(wrangler, ['secret', 'list', '--format', 'json'], { capture: true, env });
      let present: Set<string> | undefined;
      try {
        present = listed.code === 0 ? namesInJsonList(listed.output, 'wrangler secret list') : undefined;
      } catch {
        present = undefined;
      }
      if (!present) {
        log('  could not list the secrets; check them with npx wrangler secret list');
      } else {
        const missing = missingSecrets(present);
        const advised = RECOMMENDED_CONFIG.filter((name) => !present.has(name));
        if (missing.length === 0) log('  every required secret is set');
        else log(`  missing (the worker answers 503 until they are set): ${missing.map((name) => `npx wrangler secret put ${name}`).join('; ')}`);
        if (advised.length > 0) log(`  not set, and a real corp needs them (README, Deploying to Cloudflare): ${advised.join(', ')}`);
      }
      log('\nDone. Check https://<your-domain>/healthz, then sign in as an admin and open the diagnostics.');
    }
    if (dryRun) log('\nDry run finished: nothing was created, migrated or uploaded.');
  } finally {
    if (work) await rm(work, { recursive: true, force: true });
  }
}

function parseArgs(argv: readonly string[]): DeployOptions {
  const options: DeployOptions = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--dry-run') options.dryRun = true;
    else if (arg === '--outdir' && argv[i + 1]) options.outdir = argv[++i];
    else throw new DeployError(`unknown argument ${arg ?? ''} (use --dry-run [--outdir <dir>])`);
  }
  if (options.outdir && !options.dryRun) throw new DeployError('--outdir only applies to --dry-run');
  return options;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  try {
    await deploy(parseArgs(process.argv.slice(2)));
  } catch (error) {
    process.stderr.write(`\ndeploy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exitCode = 1;
  }
}
