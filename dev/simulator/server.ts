/**
 * @module
 * Serves the WeCom simulator over real HTTP on 127.0.0.1 (dev/http-server.ts). Port 0 picks any free port.
 */
import { serveFetch, type RunningServer } from '../http-server.ts';
import { createSimulator, type SimulatorOptions } from './app.ts';

export interface StartOptions {
  port?: number;
  host?: string;
  simulator?: SimulatorOptions;
}

export type RunningSimulator = RunningServer;

export async function startSimulator(options: StartOptions = {}): Promise<RunningSimulator> {
  const { app } = createSimulator(options.simulator);
  return serveFetch((request, env) => app.fetch(request, env), {
    label: 'simulator',
    ...(options.port !== undefined ? { port: options.port } : {}),
    ...(options.host !== undefined ? { host: options.host } : {}),
  });
}
