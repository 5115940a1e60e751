/**
 * @module deploy/egress-proxy/proxy
 * Types for proxy.mjs, which stays plain JavaScript so it runs on any Node >= 18 without a build.
 */

export interface ProxyOptions {
  /** Callers must send it as `X-Proxy-Token`; at least 16 characters. */
  token: string;
  /** Default https://qyapi.weixin.qq.com. */
  upstream?: string;
  /** Default /wecom: `<prefix>/cgi-bin/*` is forwarded, nothing else. */
  prefix?: string;
  /** Default 8080; 0 picks a free port. */
  port?: number;
  /** Default 0.0.0.0. */
  host?: string;
  /** Per request, default 30000. */
  timeoutMs?: number;
  /** Serve HTTPS with this certificate and key (PEM). */
  tls?: { cert: string | Uint8Array; key: string | Uint8Array };
  /** Receives one JSON line per request; default stdout. */
  log?: (line: string) => void;
}

export interface RunningProxy {
  /** `http(s)://host:port`, without the prefix. */
  url: string;
  port: number;
  /** The normalized prefix ('' or '/something', no trailing slash). */
  prefix: string;
  stop(): Promise<void>;
}

export function startProxy(options: ProxyOptions): Promise<RunningProxy>;
