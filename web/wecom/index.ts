/**
 * @module
 * Which `ww` the SPA talks to: the real SDK, or in a `--mode simulator` build the stand-in that
 * checks signatures against the WeCom simulator. The mode test is static, so a production build
 * drops the stand-in and its chunk entirely.
 */
import { sdk } from './sdk.ts';
import type { WwSurface } from './types.ts';

export async function loadWw(): Promise<WwSurface> {
  if (import.meta.env.MODE === 'simulator') {
    const { createStandIn } = await import('./standin/ww.ts');
    return createStandIn();
  }
  return sdk;
}
