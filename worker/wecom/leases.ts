/**
 * @module
 * Token and ticket leases, and the KV keys they are published under: pure values shared by the
 * broker (wecom/token-broker.ts) and the isolate-side reader (wecom/tokens.ts).
 */
import type { WeComFailureData } from './errors.ts';

/** Seconds before `expires_in` runs out at which a value is replaced. */
export const REFRESH_MARGIN_S = 300;

/** A token or ticket with its lifetime, in epoch milliseconds. */
export interface Lease {
  value: string;
  expiresAt: number;
  /** When the broker replaces it; readers never use it past this. */
  refreshAt: number;
}


export interface TicketLeases {
  /** The corp ticket (`get_jsapi_ticket`), signs `wx.config`. */
  jsapi: Lease;
  /** The app ticket (`ticket/get?type=agent_config`), signs `wx.agentConfig`. */
  agentConfig: Lease;
}

export interface AppRef {
  corpId: string;
  agentId: string;
}

/** What crosses the RPC boundary: WeCom failures as data, because RPC keeps an error's message but not its class. */
export type BrokerResult<T> = { ok: true; value: T } | { ok: false; failure: WeComFailureData };

export function brokerName(app: AppRef): string {
  return `${app.corpId}/${app.agentId}`;
}

export function tokenKvKey(app: AppRef): string {
  return `wecom:token:${app.corpId}:${app.agentId}`;
}

export function ticketsKvKey(app: AppRef): string {
  return `wecom:tickets:${app.corpId}:${app.agentId}`;
}

export function leaseOf(value: string, expiresInSeconds: number, now: number): Lease {
  const expiresAt = now + expiresInSeconds * 1000;
  // A lifetime shorter than the margin (never seen from WeCom) still gets half of it.
  const margin = Math.min(REFRESH_MARGIN_S, expiresInSeconds / 2) * 1000;
  return { value, expiresAt, refreshAt: expiresAt - margin };
}

export function isLease(value: unknown): value is Lease {
  if (typeof value !== 'object' || value === null) return false;
  const lease = value as Record<string, unknown>;
  return typeof lease.value === 'string' && typeof lease.expiresAt === 'number' && typeof lease.refreshAt === 'number';
}

export function isTicketLeases(value: unknown): value is TicketLeases {
  if (typeof value !== 'object' || value === null) return false;
  const pair = value as Record<string, unknown>;
  return isLease(pair.jsapi) && isLease(pair.agentConfig);
}

export const usable = (lease: Lease | undefined, now: number): lease is Lease => lease !== undefined && now < lease.refreshAt;
