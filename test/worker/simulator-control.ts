/**
 * @module
 * The simulator's control API (test/simulator-control.ts) bound to the simulator the worker tests
 * run against: reset, faults, modes, OAuth codes and the upstream call counters.
 */
import { env } from 'cloudflare:test';
import { callCounter, simulatorControl } from '../simulator-control.ts';

/** The simulator's base URL, which is also the worker's WECOM_API_BASE. */
export const simBase = env.WECOM_API_BASE ?? '';
export const sim = simulatorControl(simBase);

/** Upstream calls per WeCom API path since the last reset, e.g. `count('gettoken')`. */
export const calls = () => callCounter(sim);
