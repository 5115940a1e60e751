/**
 * @module
 * Where the callback route records WeCom's last successful verification of the callback URL
 * (epoch ms, no TTL; docs/storage.md), for the diagnostics to read.
 */
export const CALLBACK_VERIFIED_KEY = (corpId: string, agentId: string) => `callback:verified:${corpId}:${agentId}`;
