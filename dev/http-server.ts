/**
 * @module
 * Serves a fetch handler (a Hono app) over real HTTP with `node:http`, through a tiny
 * Request/Response adapter, so the stand-ins the tests talk to (the WeCom simulator, the reference
 * CRM) are reached over a real socket. Port 0 picks any free port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type FetchHandler = (request: Request, env: { remoteAddress?: string }) => Response | Promise<Response>;

export interface ServeOptions {
  port?: number;
  host?: string;
  /** Names the server in the 500 answered when the handler throws. */
  label: string;
  /** When true for a response, the socket is destroyed instead: what a crash or a cut connection looks like. */
  drop?: (response: Response) => boolean;
}

export interface RunningServer {
  url: string;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}

async function answer(handler: FetchHandler, options: ServeOptions, origin: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Aborted when the client goes away (or stop() drops connections), so injected delays end early.
  const aborter = new AbortController();
  res.on('close', () => aborter.abort());

  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
  const request = new Request(new URL(req.url ?? '/', origin), { method, headers, body, signal: aborter.signal });

  let response: Response;
  try {
    response = await handler(request, { remoteAddress: req.socket.remoteAddress });
  } catch (error) {
    response = new Response(`${options.label} error: ${error instanceof Error ? error.message : String(error)}`, { status: 500 });
  }
  if (res.destroyed) return;
  if (options.drop?.(response)) {
    req.socket.destroy();
    return;
  }

  const outgoing: Record<string, string | string[]> = {};
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') outgoing[name] = value;
  });
  const cookies = response.headers.getSetCookie();
  if (cookies.length > 0) outgoing['set-cookie'] = cookies;
  const payload = method === 'HEAD' ? Buffer.alloc(0) : Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, outgoing);
  res.end(payload);
}

export async function serveFetch(handler: FetchHandler, options: ServeOptions): Promise<RunningServer> {
  const host = options.host ?? '127.0.0.1';
  let origin = '';
  const server = createServer((req, res) => {
    void answer(handler, options, origin, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  origin = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let stopped: Promise<void> | undefined;
  return {
    url: origin,
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets and requests held by an injected delay would keep close() waiting.
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
