/**
 * @module
 * Runs in Node before the worker suite: starts what the worker talks to over real HTTP on
 * 127.0.0.1 and computes independent test vectors, and hands both to the tests through `provide`.
 */
import type { TestProject } from 'vitest/node';
import { startProxy } from '../../deploy/egress-proxy/proxy.mjs';
import { startCrmServer } from '../crm-server/server.ts';
import { startSimulator } from '../../dev/simulator/server.ts';
import { makeCryptoVectors, type CryptoVectors } from './crypto-vectors.ts';

export default async function setup(project: TestProject) {
  const teardown: Array<() => Promise<void>> = [];
  const sim = await startSimulator();
  project.provide('simulatorUrl', sim.url);
  teardown.push(sim.stop);
  // The fixed-IP egress proxy (deploy/egress-proxy) in front of the simulator, under its default prefix.
  const egressToken = `egress-${crypto.randomUUID()}`;
  const egress = await startProxy({ host: '127.0.0.1', port: 0, upstream: sim.url, prefix: '/wecom', token: egressToken, log: () => {} });
  project.provide('egressProxyUrl', `${egress.url}${egress.prefix}`);
  project.provide('egressProxyToken', egressToken);
  teardown.push(egress.stop);
  const crm = await startCrmServer();
  project.provide('crmUrl', crm.url);
  project.provide('crmToken', crm.token);
  teardown.push(crm.stop);
  // A CRM that is down: a port that was just listening and no longer is, so connecting is refused.
  const gone = await startCrmServer();
  await gone.stop();
  project.provide('crmDownUrl', gone.url);
  project.provide('cryptoVectors', makeCryptoVectors());
  return async () => {
    for (const stop of teardown.reverse()) await stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    cryptoVectors: CryptoVectors;
    /** The WeCom simulator (dev/simulator), on a free 127.0.0.1 port for this run. */
    simulatorUrl: string;
    /** The reference CRM (test/crm-server), speaking docs/crm-openapi.yaml, and its bearer token. */
    crmUrl: string;
    crmToken: string;
    /** Where a CRM server was and is no more: connections are refused. */
    crmDownUrl: string;
    /** The egress proxy's WECOM_API_BASE (origin plus /wecom), forwarding to the simulator, and its X-Proxy-Token. */
    egressProxyUrl: string;
    egressProxyToken: string;
  }
}
