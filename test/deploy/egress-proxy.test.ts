/**
 * @module
 * deploy/egress-proxy/proxy.mjs in Node, in front of a recording upstream: what it forwards,
 * what it strips, what it refuses, what it logs. (test/worker/egress.test.ts drives it from the
 * worker's client against the simulator.)
 */
import { spawn } from 'node:child_process';
import { createServer, request, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startProxy, type RunningProxy } from '../../deploy/egress-proxy/proxy.mjs';
import { root } from '../../scripts/deploy.ts';

interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  body: string;
}

const TOKEN = 'egress-test-token-0123456789';

let upstream: Server;
let upstreamUrl: string;
let seen: Seen[] = [];
/** How long the upstream waits before answering. */
let upstreamDelayMs = 0;

beforeAll(async () => {
  upstream = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body: Buffer.concat(chunks).toString() });
      const answer = () => {
        res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'x-upstream': 'yes' });
        res.end(JSON.stringify({ errcode: 0, errmsg: 'ok', echo: req.url }));
      };
      if (upstreamDelayMs > 0) setTimeout(answer, upstreamDelayMs);
      else answer();
    });
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  upstreamUrl = `http://127.0.0.1:${(upstream.address() as AddressInfo).port}`;
});

afterAll(async () => {
  upstream.closeAllConnections();
  await new Promise<void>((resolve) => upstream.close(() => resolve()));
});

let proxy: RunningProxy | undefined;
let logs: string[] = [];

async function start(options: { timeoutMs?: number; upstream?: string; prefix?: string } = {}): Promise<RunningProxy> {
  logs = [];
  proxy = await startProxy({ host: '127.0.0.1', port: 0, token: TOKEN, upstream: upstreamUrl, log: (line) => logs.push(line), ...options });
  return proxy;
}

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
  seen = [];
  upstreamDelayMs = 0;
});

/** A raw request: the path goes on the wire exactly as given (fetch would normalise it). */
function raw(url: string, path: string, options: { method?: string; headers?: Record<string, string>; body?: string } = {}): Promise<{ status: number; headers: IncomingHttpHeaders; body: string }> {
  const target = new URL(url);
  return new Promise((resolve, reject) => {
    const req = request({ host: target.hostname, port: target.port, path, method: options.method ?? 'GET', headers: options.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
    });
    req.on('error', reject);
    req.end(options.body);
  });
}

const auth = { 'x-proxy-token': TOKEN };

describe('egress proxy', () => {
  it('forwards /cgi-bin under the prefix with the query unchanged, and without the token', async () => {
    const { url } = await start();
    const response = await raw(url, '/wecom/cgi-bin/user/get?access_token=SECRET-TOKEN&userid=zhangsan', {
      headers: { ...auth, cookie: 'sid=1', 'cf-connecting-ip': '203.0.113.7', 'x-forwarded-for': '203.0.113.7', accept: 'application/json' },
    });
    expect(response.status).toBe(200);
    expect(response.headers['x-upstream']).toBe('yes');
    expect(JSON.parse(response.body)).toMatchObject({ errcode: 0, echo: '/cgi-bin/user/get?access_token=SECRET-TOKEN&userid=zhangsan' });
    const [call] = seen;
    expect(call?.url).toBe('/cgi-bin/user/get?access_token=SECRET-TOKEN&userid=zhangsan');
    expect(call?.headers.host).toBe(new URL(upstreamUrl).host);
    expect(call?.headers.accept).toBe('application/json');
    for (const name of ['x-proxy-token', 'cookie', 'cf-connecting-ip', 'x-forwarded-for']) expect(call?.headers[name], name).toBeUndefined();
  });

  it('streams a POST body through', async () => {
    const { url } = await start();
    const body = JSON.stringify({ userid_list: ['zhangsan'], limit: 100, note: '备注'.repeat(2000) });
    const response = await raw(url, '/wecom/cgi-bin/externalcontact/batch/get_by_user?access_token=t', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/json' },
      body,
    });
    expect(response.status).toBe(200);
    expect(seen[0]).toMatchObject({ method: 'POST', body });
    expect(seen[0]?.headers['content-type']).toBe('application/json');
  });

  it('refuses a missing or wrong token with 403, before anything reaches WeCom', async () => {
    const { url } = await start();
    const attempts: Array<Record<string, string>> = [{}, { 'x-proxy-token': 'wrong' }, { 'x-proxy-token': `${TOKEN}0` }, { 'x-proxy-token': TOKEN.slice(0, -1) }];
    for (const headers of attempts) {
      const response = await raw(url, '/wecom/cgi-bin/gettoken?corpid=ww1&corpsecret=S', { headers });
      expect(response.status).toBe(403);
      expect(JSON.parse(response.body)).toMatchObject({ error: 'forbidden' });
    }
    // Strangers learn nothing about paths either.
    expect((await raw(url, '/anything')).status).toBe(403);
    expect(seen).toEqual([]);
  });

  it('answers 404 for everything but <prefix>/cgi-bin/*, dot segments included', async () => {
    const { url } = await start();
    for (const path of ['/', '/wecom', '/wecom/', '/cgi-bin/gettoken', '/wecom/cgi-bin', '/wecom/other/x', '/wecom/cgi-bin/../../etc/passwd', '/wecom/cgi-bin/%2e%2e/%2e%2e/x', '/other/wecom/cgi-bin/x']) {
      expect((await raw(url, path, { headers: auth })).status, path).toBe(404);
    }
    expect((await raw(url, '/wecom/cgi-bin/user/get', { method: 'DELETE', headers: auth })).status).toBe(405);
    expect(seen).toEqual([]);
  });

  it('takes any prefix, or none', async () => {
    const { url } = await start({ prefix: '/corp-a/wecom/' });
    expect((await raw(url, '/corp-a/wecom/cgi-bin/gettoken', { headers: auth })).status).toBe(200);
    await proxy?.stop();
    const bare = await start({ prefix: '' });
    expect((await raw(bare.url, '/cgi-bin/gettoken', { headers: auth })).status).toBe(200);
    expect(seen.map((s) => s.url)).toEqual(['/cgi-bin/gettoken', '/cgi-bin/gettoken']);
  });

  it('answers 504 when WeCom is too slow, and 502 when it cannot be reached', async () => {
    upstreamDelayMs = 500;
    const { url } = await start({ timeoutMs: 100 });
    const slow = await raw(url, '/wecom/cgi-bin/gettoken', { headers: auth });
    expect(slow.status).toBe(504);
    await proxy?.stop();
    const gone = await start({ upstream: 'http://127.0.0.1:1' });
    expect((await raw(gone.url, '/wecom/cgi-bin/gettoken', { headers: auth })).status).toBe(502);
  });

  it('logs one JSON line per request, without secret query values', async () => {
    const { url } = await start();
    await raw(url, '/wecom/cgi-bin/gettoken?corpid=ww1&corpsecret=THE-SECRET', { headers: auth });
    await raw(url, '/wecom/cgi-bin/user/get?access_token=THE-TOKEN&userid=lisi', { headers: auth });
    await raw(url, '/wecom/cgi-bin/user/get?access_token=OTHER-TOKEN');
    await expect.poll(() => logs.length).toBe(3);
    const text = logs.join('\n');
    for (const secret of ['THE-SECRET', 'THE-TOKEN', 'OTHER-TOKEN', TOKEN]) expect(text).not.toContain(secret);
    const entries = logs.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(entries[0]).toMatchObject({ event: 'egress', method: 'GET', path: '/wecom/cgi-bin/gettoken', query: 'corpid=ww1&corpsecret=[redacted]', status: 200, upstreamStatus: 200 });
    expect(entries[1]).toMatchObject({ query: 'access_token=[redacted]&userid=lisi', status: 200 });
    expect(entries[2]).toMatchObject({ status: 403, upstreamStatus: null });
    expect(typeof entries[0]?.ms).toBe('number');
  });

  it('will not start without a long enough token', async () => {
    await expect(startProxy({ token: '', port: 0, host: '127.0.0.1' })).rejects.toThrow('PROXY_TOKEN must be set');
    await expect(startProxy({ token: 'short', port: 0, host: '127.0.0.1' })).rejects.toThrow('at least 16');
  });

  it('runs as `node proxy.mjs`, configured from the environment', async () => {
    const child = spawn(process.execPath, [join(root, 'deploy', 'egress-proxy', 'proxy.mjs')], {
      env: { ...process.env, PORT: '0', HOST: '127.0.0.1', PROXY_TOKEN: TOKEN, UPSTREAM: upstreamUrl, PREFIX: '/wecom' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const first = await new Promise<string>((resolve, reject) => {
        let buffered = '';
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const newline = buffered.indexOf('\n');
          if (newline !== -1) resolve(buffered.slice(0, newline));
        });
        child.on('exit', (code) => reject(new Error(`proxy exited with ${code}`)));
      });
      const started = JSON.parse(first) as { event: string; url: string };
      expect(started.event).toBe('listening');
      expect((await raw(started.url, '/wecom/cgi-bin/gettoken', { headers: auth })).status).toBe(200);
    } finally {
      child.kill('SIGTERM');
    }
    const refused = spawn(process.execPath, [join(root, 'deploy', 'egress-proxy', 'proxy.mjs')], { env: { ...process.env, PROXY_TOKEN: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    refused.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const code = await new Promise<number | null>((resolve) => refused.on('exit', resolve));
    expect(code).toBe(1);
    expect(stderr).toContain('PROXY_TOKEN must be set');
  });
});
