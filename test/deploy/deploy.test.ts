/**
 * @module
 * `npm run deploy` (scripts/deploy.ts): the dry run for real (it needs no account and no network),
 * and the account-facing steps against a fake wrangler that keeps an account's state.
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DATABASE_BINDING,
  DATABASE_NAME,
  QUEUES,
  deploy,
  isAlreadyExists,
  missingSecrets,
  parseQueueNames,
  root,
  type CommandResult,
  type Runner,
} from '../../scripts/deploy.ts';

function runScript(args: string[], env: Record<string, string>): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(root, 'scripts', 'deploy.ts'), ...args], {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout, stderr }));
  });
}

const distIndex = join(root, 'dist', 'index.html');
const distStamp = () => (existsSync(distIndex) ? statSync(distIndex).mtimeMs : null);

describe('npm run deploy -- --dry-run', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'deploy-test-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('is the deploy script in package.json', () => {
    const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    expect(pkg.scripts.deploy).toBe('node scripts/deploy.ts');
  });

  it('prints every step, bundles the worker, and needs no account; twice in a row', async () => {
    const before = distStamp();
    // No login anywhere: a fresh HOME, and no API token.
    const env = { HOME: join(scratch, 'home'), CLOUDFLARE_API_TOKEN: '', CLOUDFLARE_ACCOUNT_ID: '', XDG_CONFIG_HOME: join(scratch, 'home', '.config') };
    for (const attempt of [1, 2]) {
      const outdir = join(scratch, `bundle-${attempt}`);
      const result = await runScript(['--dry-run', '--outdir', outdir], env);
      expect(result.code, result.stderr + result.stdout).toBe(0);
      const out = result.stdout;
      const order = [
        '[1/6] Queues: wecom-events, wecom-events-dlq, app-messages',
        'would run: wrangler queues create wecom-events',
        'would run: wrangler queues create wecom-events-dlq',
        'would run: wrangler queues create app-messages',
        '[2/6] D1 database: wecom-crm',
        'would run: wrangler d1 create wecom-crm',
        '[3/6] SPA (vite build, production mode)',
        '$ vite build --mode production',
        '[4/6] D1 migrations (remote, binding DB)',
        'would run: wrangler d1 migrations apply DB --remote',
        '[5/6] Worker (wrangler deploy)',
        `$ wrangler deploy --dry-run --outdir ${outdir}`,
        '--dry-run: exiting now.',
        '[6/6] Secrets',
        'Dry run finished: nothing was created, migrated or uploaded.',
      ];
      let at = -1;
      for (const line of order) {
        const found = out.indexOf(line, at + 1);
        expect(found, `"${line}" after position ${at} in:\n${out}`).toBeGreaterThan(at);
        at = found;
      }
      // wrangler read the real configuration: every binding, assets included.
      for (const binding of ['env.TOKEN_BROKER (TokenBroker)', 'env.KV', 'env.EVENTS (wecom-events)', 'env.DB (wecom-crm)', 'env.ASSETS']) expect(out).toContain(binding);
      expect(existsSync(join(outdir, 'index.js'))).toBe(true);
      const bundle = readFileSync(join(outdir, 'index.js'), 'utf8');
      expect(bundle).toContain('TokenBroker');
      // The temporary SPA build is gone; dist/ (maybe served by a dev server) was not touched.
      const assetsDir = /--assets (\S+)/.exec(out)?.[1];
      expect(assetsDir && basename(assetsDir)).toBe('dist');
      expect(assetsDir && existsSync(dirname(assetsDir))).toBe(false);
    }
    expect(distStamp()).toBe(before);
  });

  it('refuses unknown arguments', async () => {
    const result = await runScript(['--force'], {});
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown argument --force');
  });
});

// ---------------------------------------------------------------------------------------------

interface Account {
  queues: Set<string>;
  databases: Set<string>;
  secrets: Set<string>;
  loggedIn: boolean;
  /** Queues the list does not show (another page), so only create's answer reveals them. */
  unlisted: Set<string>;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((row) => row[i]!.length)));
  const line = (row: string[]) => `│ ${row.map((cell, i) => cell.padEnd(widths[i]!)).join(' │ ')} │`;
  const rule = (l: string, m: string, r: string) => `${l}${widths.map((w) => '─'.repeat(w + 2)).join(m)}${r}`;
  return [rule('┌', '┬', '┐'), line(rows[0]!), rule('├', '┼', '┤'), ...rows.slice(1).map(line), rule('└', '┴', '┘')].join('\n');
}

/** wrangler as an account would answer it: commands are recorded, state persists across runs. */
function fakeWrangler(account: Account) {
  const commands: string[] = [];
  const run: Runner = async (script, args): Promise<CommandResult> => {
    const tool = basename(script);
    const line = `${tool} ${args.join(' ')}`;
    commands.push(line);
    if (tool === 'vite') return { code: 0, output: '' };
    if (!account.loggedIn) return { code: 1, output: 'You are not authenticated. Please run `wrangler login`.' };
    const [group, action, name] = args;
    if (group === 'queues' && action === 'list') {
      const rows = [...account.queues].filter((q) => !account.unlisted.has(q)).map((q, i) => [`0${i}c5e2a9b1d44f`, q, '2026-11-01T00:00:00Z', '2026-11-01T00:00:00Z', '1', '1']);
      return { code: 0, output: table([['id', 'name', 'created_on', 'modified_on', 'producers', 'consumers'], ...rows]) };
    }
    if (group === 'queues' && action === 'create' && name) {
      if (account.queues.has(name)) {
        return { code: 1, output: `✘ [ERROR] A request to the Cloudflare API (/accounts/x/queues) failed.\n\n  Queue name '${name}' is already taken [code: 11009]` };
      }
      account.queues.add(name);
      return { code: 0, output: `Created queue '${name}'` };
    }
    if (group === 'd1' && action === 'list') return { code: 0, output: JSON.stringify([...account.databases].map((n) => ({ uuid: `uuid-${n}`, name: n }))) };
    if (group === 'd1' && action === 'create' && name) {
      if (account.databases.has(name)) return { code: 1, output: '✘ [ERROR] A database with that name already exists' };
      account.databases.add(name);
      return { code: 0, output: 'Successfully created DB' };
    }
    if (group === 'd1' && action === 'migrations') return { code: account.databases.has(DATABASE_NAME) ? 0 : 1, output: '' };
    if (group === 'deploy') return { code: 0, output: '' };
    if (group === 'secret' && action === 'list') return { code: 0, output: JSON.stringify([...account.secrets].map((n) => ({ name: n, type: 'secret_text' }))) };
    return { code: 1, output: `fake wrangler: unexpected ${line}` };
  };
  return { run, commands };
}

function emptyAccount(): Account {
  return { queues: new Set(), databases: new Set(), secrets: new Set(), loggedIn: true, unlisted: new Set() };
}

async function deployTo(account: Account): Promise<{ commands: string[]; out: string }> {
  const wrangler = fakeWrangler(account);
  const lines: string[] = [];
  await deploy({ run: wrangler.run, log: (line) => lines.push(line) });
  return { commands: wrangler.commands, out: lines.join('\n') };
}

describe('npm run deploy against an account', () => {
  it('takes an empty account to a deployed worker, migrations before the upload', async () => {
    const account = emptyAccount();
    const { commands, out } = await deployTo(account);
    expect(commands).toEqual([
      'wrangler queues list',
      'wrangler queues create wecom-events',
      'wrangler queues create wecom-events-dlq',
      'wrangler queues create app-messages',
      'wrangler d1 list --json',
      'wrangler d1 create wecom-crm',
      'vite build --mode production --logLevel warn',
      'wrangler d1 migrations apply DB --remote',
      'wrangler deploy --keep-vars',
      'wrangler secret list --format json',
    ]);
    expect(account.queues).toEqual(new Set(QUEUES));
    expect(out).toContain('missing (the worker answers 503 until they are set): npx wrangler secret put WECOM_CORP_ID');
  });

  it('changes nothing that exists on a second run', async () => {
    const account = emptyAccount();
    await deployTo(account);
    for (const name of ['WECOM_APPS', 'SESSION_SECRET', 'PUBLIC_ORIGIN', 'WECOM_API_BASE', 'WECOM_API_PROXY_TOKEN', 'ADMIN_USERIDS']) account.secrets.add(name);
    const { commands, out } = await deployTo(account);
    expect(commands.filter((c) => c.includes(' create '))).toEqual([]);
    expect(out).toContain('queue wecom-events exists');
    expect(out).toContain(`database ${DATABASE_NAME} exists`);
    expect(out).toContain('every required secret is set');
    expect(out).not.toContain('a real corp needs them');
  });

  it('counts "already taken" from a create as done', async () => {
    const account = emptyAccount();
    account.queues.add('wecom-events-dlq');
    account.unlisted.add('wecom-events-dlq');
    const { commands, out } = await deployTo(account);
    expect(commands).toContain('wrangler queues create wecom-events-dlq');
    expect(out).toContain('queue wecom-events-dlq already exists');
    expect(commands).toContain('wrangler deploy --keep-vars');
  });

  it('stops at the first failure, saying how to log in', async () => {
    const account = emptyAccount();
    account.loggedIn = false;
    const wrangler = fakeWrangler(account);
    const outcome = await deploy({ run: wrangler.run, log: () => {} }).then(
      () => undefined,
      (error: unknown) => error,
    );
    expect(outcome).toBeInstanceOf(Error);
    expect((outcome as Error).message).toContain('npx wrangler login');
    expect(wrangler.commands).toEqual(['wrangler queues list']);
  });
});

describe('deploy helpers', () => {
  it('name what wrangler.toml names', () => {
    const toml = readFileSync(join(root, 'wrangler.toml'), 'utf8');
    const queues = new Set([...toml.matchAll(/^\s*(?:queue|dead_letter_queue)\s*=\s*"([^"]+)"/gm)].map((m) => m[1]));
    expect(queues).toEqual(new Set(QUEUES));
    expect(/^database_name\s*=\s*"([^"]+)"/m.exec(toml)?.[1]).toBe(DATABASE_NAME);
    expect(toml).toMatch(new RegExp(`^binding\\s*=\\s*"${DATABASE_BINDING}"`, 'm'));
  });

  it('read queue names from the list table, exactly', () => {
    const names = parseQueueNames(`\u001b[90m${table([['id', 'name'], ['abc', 'wecom-events-dlq']])}\u001b[39m`);
    expect(names.has('wecom-events-dlq')).toBe(true);
    expect(names.has('wecom-events')).toBe(false);
  });

  it('recognise "already exists" answers and nothing else', () => {
    expect(isAlreadyExists("Queue name 'wecom-events' is already taken [code: 11009]")).toBe(true);
    expect(isAlreadyExists('A database with that name already exists')).toBe(true);
    expect(isAlreadyExists('Authentication error [code: 10000]')).toBe(false);
  });

  it('let WECOM_APPS stand in for the five app values', () => {
    expect(missingSecrets(new Set(['WECOM_APPS', 'SESSION_SECRET', 'PUBLIC_ORIGIN']))).toEqual([]);
    expect(missingSecrets(new Set(['WECOM_APPS']))).toEqual(['SESSION_SECRET', 'PUBLIC_ORIGIN']);
  });
});
