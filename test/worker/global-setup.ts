/**
 * @module
 * Runs in Node before the worker suite: starts what the worker talks to over real HTTP on
 * 127.0.0.1 and computes independent test vectors, and hands both to the tests through `provide`.
 */
import type { TestProject } from 'vitest/node';
import { makeCryptoVectors, type CryptoVectors } from './crypto-vectors.ts';

export default async function setup(project: TestProject) {
  const teardown: Array<() => Promise<void>> = [];
  void project;
  project.provide('cryptoVectors', makeCryptoVectors());
  return async () => {
    for (const stop of teardown.reverse()) await stop();
  };
}

declare module 'vitest' {
  export interface ProvidedContext {
    cryptoVectors: CryptoVectors;
  }
}
