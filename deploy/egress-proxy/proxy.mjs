/**
 * @module deploy/egress-proxy/proxy
 * A minimal forwarder to WeCom's API for a machine with a fixed IP. WeCom accepts API calls only
 * from an app's trusted IPs (企业可信IP, errcode 60020 otherwise) and a Cloudflare Worker has no
 * fixed egress address, so the worker sends every call here (WECOM_API_BASE=https://<host>/wecom)
 * and this machine's IP is the one entered in the console.
 *
 * Plain JavaScript with no dependencies, so it runs on any Node >= 18 as `node proxy.mjs`:
 *   PORT         listen port (default 8080)          HOST    listen address (default 0.0.0.0)
 *   PROXY_TOKEN  required, at least 16 characters; must equal the worker's WECOM_API_PROXY_TOKEN
 *   UPSTREAM     default https://qyapi.weixin.qq.com PREFIX  default /wecom
 *   TIMEOUT_MS   per request, default 30000
 *   TLS_CERT_FILE, TLS_KEY_FILE   serve HTTPS directly (else put TLS in front: the calls carry the
 *                app Secret and access tokens, so they must never cross the internet in clear)
 *
 * What it does, and nothing more: forwards `<PREFIX>/cgi-bin/*` to the upstream with the query
 * string unchanged; 403 when X-Proxy-Token is missing or wrong (compared in constant time); 404
 * for every other path; the token header (and every header WeCom does not need) is not forwarded;
 * bodies stream both ways; one JSON line per request, with secret query values redacted.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Agent as HttpAgent, createServer as createHttpServer, request as httpRequest } from 'node:http';
import { Agent as HttpsAgent, createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { pathToFileURL } from 'node:url';

const DEFAULT_UPSTREAM = 'https://qyapi.weixin.qq.com';
const DEFAULT_PREFIX = '/wecom';
const DEFAULT_TIMEOUT_MS = 30_000;
const MIN_TOKEN_LENGTH = 16;

/** All a WeCom API call needs; anything else (cookies, Cloudflare's cf-* headers, the token) stays here. */
const FORWARDED_REQUEST_HEADERS = ['accept', 'accept-encoding', 'content-type', 'content-length', 'user-agent'];
/** Hop-by-hop headers describe one connection, never the next one. */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade']);
/** Query values never written to the log: gettoken carries the Secret, every other call the access token. */
const SECRET_PARAM = /token|secret|ticket|^code$/i;

const digest = (value) => createHash('sha256').update(value).digest();

/** Equal-length digests, so neither the comparison nor a length check leaks how much of the token matched. */
function tokenMatches(presented, expected) {
  if (typeof presented !== 'string') return false;
  return timingSafeEqual(digest(presented), expected);
}

function redactedQuery(searchParams) {
  const parts = [];
  for (const [name, value] of searchParams) parts.push(`${name}=${SECRET_PARAM.test(name) ? '[redacted]' : value}`);
  return parts.join('&');
}

function normalizePrefix(prefix) {
  const trimmed = String(prefix).replace(/\/+$/, '');
  if (trimmed !== '' && !/^\/[A-Za-z0-9._~\/-]*$/.test(trimmed)) throw new Error(`PREFIX must be a path such as /wecom (got ${prefix})`);
  return trimmed;
}

function normalizeUpstream(upstream) {
  const url = new URL(upstream);
  if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`UPSTREAM must be an http(s) URL (got ${upstream})`);
  if (url.search || url.hash) throw new Error('UPSTREAM must not carry a query or fragment');
  return url.href.replace(/\/+$/, '');
}

function sendJson(res, status, body, extraHeaders = {}) {
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text), ...extraHeaders });
  res.end(text);
}

/**
 * Starts the proxy; resolves once it listens.
 * @param {import('./proxy.d.mts').ProxyOptions} options
 * @returns {Promise<import('./proxy.d.mts').RunningProxy>}
 */
export async function startProxy(options) {
  const token = options.token;
  if (typeof token !== 'string' || token.length < MIN_TOKEN_LENGTH) {
    throw new Error(`PROXY_TOKEN must be set to at least ${MIN_TOKEN_LENGTH} random characters (the same value as the worker's WECOM_API_PROXY_TOKEN)`);
  }
  const expected = digest(token);
  const upstream = normalizeUpstream(options.upstream ?? DEFAULT_UPSTREAM);
  const prefix = normalizePrefix(options.prefix ?? DEFAULT_PREFIX);
  const apiRoot = `${prefix}/cgi-bin/`;
  const timeoutMs = Number(options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error('TIMEOUT_MS must be a positive number of milliseconds');
  const log = options.log ?? ((line) => process.stdout.write(`${line}\n`));
  const upstreamIsHttps = upstream.startsWith('https:');
  const agent = upstreamIsHttps ? new HttpsAgent({ keepAlive: true }) : new HttpAgent({ keepAlive: true });
  const send = upstreamIsHttps ? httpsRequest : httpRequest;

  function handle(req, res) {
    const started = Date.now();
    // Only the path and query are used: an absolute-form request line cannot choose another host.
    const url = new URL(req.url ?? '/', 'http://proxy.invalid');
    const entry = { time: new Date(started).toISOString(), method: req.method, path: url.pathname, query: redactedQuery(url.searchParams), remote: req.socket.remoteAddress };
    let upstreamStatus = null;
    let failure = null;
    // A caller that resets the connection must not crash the process.
    req.on('error', () => res.destroy());
    res.on('close', () => {
      log(JSON.stringify({ event: 'egress', ...entry, status: res.statusCode, upstreamStatus, ms: Date.now() - started, ...(failure ? { error: failure } : {}), ...(res.writableFinished ? {} : { aborted: true }) }));
    });

    if (!tokenMatches(req.headers['x-proxy-token'], expected)) {
      req.resume();
      return sendJson(res, 403, { error: 'forbidden', message: 'X-Proxy-Token is missing or wrong' });
    }
    // The URL parser already resolved dot segments, so `/wecom/cgi-bin/../x` arrives here as `/wecom/x`.
    if (!url.pathname.startsWith(apiRoot)) {
      req.resume();
      return sendJson(res, 404, { error: 'not_found', message: `Only ${apiRoot}* is forwarded` });
    }
    if (req.method !== 'GET' && req.method !== 'POST') {
      req.resume();
      return sendJson(res, 405, { error: 'method_not_allowed', message: 'WeCom APIs take GET or POST' }, { allow: 'GET, POST' });
    }

    const target = new URL(`${upstream}${url.pathname.slice(prefix.length)}${url.search}`);
    const headers = { host: target.host };
    for (const name of FORWARDED_REQUEST_HEADERS) {
      const value = req.headers[name];
      if (value !== undefined) headers[name] = value;
    }
    const outgoing = send(target, { method: req.method, headers, agent });

    const timer = setTimeout(() => {
      failure = 'timeout';
      outgoing.destroy(new Error(`no answer within ${timeoutMs} ms`));
    }, timeoutMs);
    timer.unref();

    outgoing.on('response', (answer) => {
      upstreamStatus = answer.statusCode ?? 502;
      const responseHeaders = {};
      for (const [name, value] of Object.entries(answer.headers)) {
        if (value !== undefined && !HOP_BY_HOP.has(name)) responseHeaders[name] = value;
      }
      res.writeHead(upstreamStatus, responseHeaders);
      answer.pipe(res);
      answer.on('end', () => clearTimeout(timer));
      answer.on('error', () => res.destroy());
    });
    outgoing.on('error', (error) => {
      clearTimeout(timer);
      failure ??= error.code ?? error.message;
      if (res.headersSent) return res.destroy();
      if (failure === 'timeout') return sendJson(res, 504, { error: 'upstream_timeout', message: `WeCom did not answer within ${timeoutMs} ms` });
      sendJson(res, 502, { error: 'bad_gateway', message: 'Could not reach WeCom' });
    });
    // The caller went away: stop waiting for WeCom on its behalf.
    res.on('close', () => {
      clearTimeout(timer);
      if (!res.writableFinished) outgoing.destroy();
    });
    req.pipe(outgoing);
  }

  const tls = options.tls;
  const server = tls ? createHttpsServer({ cert: tls.cert, key: tls.key }, handle) : createHttpServer(handle);
  // Slow or idle clients must not hold connections open forever.
  server.requestTimeout = timeoutMs + 5_000;
  server.headersTimeout = Math.min(60_000, timeoutMs + 5_000);

  const host = options.host ?? '0.0.0.0';
  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 8080, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : Number(options.port);
  const shownHost = host.includes(':') ? `[${host}]` : host;
  let stopped;
  return {
    url: `${tls ? 'https' : 'http'}://${shownHost}:${port}`,
    port,
    prefix,
    stop() {
      stopped ??= new Promise((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections?.();
        agent.destroy();
      });
      return stopped;
    },
  };
}

function optionsFromEnv(env) {
  const options = {
    token: env.PROXY_TOKEN,
    upstream: env.UPSTREAM || DEFAULT_UPSTREAM,
    prefix: env.PREFIX ?? DEFAULT_PREFIX,
    port: env.PORT ? Number(env.PORT) : 8080,
    host: env.HOST || '0.0.0.0',
    timeoutMs: env.TIMEOUT_MS ? Number(env.TIMEOUT_MS) : DEFAULT_TIMEOUT_MS,
  };
  if (env.TLS_CERT_FILE || env.TLS_KEY_FILE) {
    if (!env.TLS_CERT_FILE || !env.TLS_KEY_FILE) throw new Error('set both TLS_CERT_FILE and TLS_KEY_FILE, or neither');
    options.tls = { cert: readFileSync(env.TLS_CERT_FILE), key: readFileSync(env.TLS_KEY_FILE) };
  }
  return options;
}

const runAsScript = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (runAsScript) {
  try {
    const proxy = await startProxy(optionsFromEnv(process.env));
    process.stdout.write(`${JSON.stringify({ event: 'listening', url: proxy.url, prefix: proxy.prefix, upstream: process.env.UPSTREAM || DEFAULT_UPSTREAM })}\n`);
    const shutdown = () => {
      proxy.stop().then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGTERM', shutdown);
    process.once('SIGINT', shutdown);
  } catch (error) {
    process.stderr.write(`egress proxy: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  }
}
