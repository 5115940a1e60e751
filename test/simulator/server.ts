/**
 * @module
 * Serves the WeCom simulator over real HTTP on 127.0.0.1 with `node:http`, through a tiny
 * Request/Response adapter (no server dependency). Port 0 picks any free port.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createSimulator, type SimulatorOptions } from './app.ts';

export interface StartOptions {
  port?: number;
  host?: string;
  simulator?: SimulatorOptions;
}

export interface RunningSimulator {
  url: string;
  stop(): Promise<void>;
}

type FetchHandler = (request: Request, env: { remoteAddress?: string }) => Response | Promise<Response>;

async function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}

async function serve(handler: FetchHandler, origin: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
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
    response = new Response(`simulator error: ${error instanceof Error ? error.message : String(error)}`, { status: 500 });
  }
  if (res.destroyed) return;

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

export async function startSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
  const host = options.host ?? '127.0.0.1';
  const { app } = createSimulator(options.simulator);
  let origin = '';
  const server = createServer((req, res) => {
    void serve((request, env) => app.fetch(request, env), origin, req, res).catch(() => {
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
