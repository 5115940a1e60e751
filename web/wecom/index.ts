/**
 * @module
 * Which `ww` the SPA talks to: the real SDK, or in a `--mode simulator` build the stand-in that
 * checks signatures against the WeCom simulator. The mode test is static, so a production build
 * drops the stand-in and its chunk entirely. The real SDK comes back synchronously, so the boot
 * starts its requests before Vue mounts.
 */
import { sdk } from './sdk.ts';
import type { WwSurface } from './types.ts';

async function loadStandIn(): Promise<WwSurface> {
  const standIn = await import('./standin/ww.ts');
  // A URL naming a chat opens inside the pretend client; a bare URL stays a plain browser
  // (the real SDK, which finds no WeCom), with the toolbar to open a chat from.
  if (standIn.playsAChat(location.search)) return standIn.createStandIn();
  standIn.mountToolbar();
  return sdk;
}

export function loadWw(): WwSurface | Promise<WwSurface> {
  if (import.meta.env.MODE === 'simulator') return loadStandIn();
  return sdk;
}
