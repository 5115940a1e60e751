/**
 * @module
 * Serves the reference CRM (app.ts) over real HTTP on 127.0.0.1 (dev/http-server.ts). A "dropped"
 * answer destroys the socket, which is what a crashed CRM or a cut connection looks like to the worker.
 */
import { serveFetch } from '../../dev/http-server.ts';
import { createCrmApp, DROP_HEADER } from './app.ts';

export interface RunningCrmServer {
  url: string;
  token: string;
  stop(): Promise<void>;
}

export async function startCrmServer(options: { port?: number; token?: string } = {}): Promise<RunningCrmServer> {
  const token = options.token ?? `crm-test-${[...crypto.getRandomValues(new Uint8Array(18))].map((b) => b.toString(16).padStart(2, '0')).join('')}`;
  const { app } = createCrmApp({ token });
  const server = await serveFetch((request) => app.fetch(request), {
    label: 'reference CRM',
    drop: (response) => response.headers.has(DROP_HEADER),
    ...(options.port !== undefined ? { port: options.port } : {}),
  });
  return { url: server.url, token, stop: server.stop };
}
