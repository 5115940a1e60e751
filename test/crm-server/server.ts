/**
 * @module
 * Serves the reference CRM (app.ts) over real HTTP on 127.0.0.1 with `node:http`, through a tiny
 * Request/Response adapter (no server dependency). A "dropped" answer destroys the socket, which
 * is what a crashed CRM or a cut connection looks like to the worker.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createCrmApp, DROP_HEADER } from './app.ts';

export interface RunningCrmServer {
  url: string;
  token: string;
  stop(): Promise<void>;
}

async function readBody(req: IncomingMessage): Promise<Uint8Array<ArrayBuffer>> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return new Uint8Array(Buffer.concat(chunks));
}

async function serve(handler: (request: Request) => Response | Promise<Response>, origin: string, req: IncomingMessage, res: ServerResponse): Promise<void> {
  // Aborted when the client goes away, so injected hangs end with it.
  const aborter = new AbortController();
  res.on('close', () => aborter.abort());

  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined) continue;
    for (const item of Array.isArray(value) ? value : [value]) headers.append(name, item);
  }
  const method = req.method ?? 'GET';
  const body = method === 'GET' || method === 'HEAD' ? undefined : await readBody(req);
  const response = await handler(new Request(new URL(req.url ?? '/', origin), { method, headers, body, signal: aborter.signal }));
  if (res.destroyed) return;
  if (response.headers.has(DROP_HEADER)) {
    req.socket.destroy();
    return;
  }
  const outgoing: Record<string, string> = {};
  response.headers.forEach((value, name) => {
    outgoing[name] = value;
  });
  const payload = Buffer.from(await response.arrayBuffer());
  res.writeHead(response.status, outgoing);
  res.end(payload);
}

export async function startCrmServer(options: { port?: number; token?: string } = {}): Promise<RunningCrmServer> {
  const token = options.token ?? `crm-test-${[...crypto.getRandomValues(new Uint8Array(18))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  const { app } = createCrmApp({ token });
  let origin = '';
  const server = createServer((req, res) => {
    void serve((request) => app.fetch(request), origin, req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  let stopped: Promise<void> | undefined;
  return {
    url: origin,
    token,
    stop() {
      stopped ??= new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        // Keep-alive sockets and requests held by an injected hang would keep close() waiting.
        server.closeAllConnections();
      });
      return stopped;
    },
  };
}
