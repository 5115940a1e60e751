/**
 * @module
 * A token source that fetches and caches in this isolate only, with the same single-flight and
 * stale-token rules as the broker. For tests: in the worker every isolate would fetch its own
 * token, which is exactly what the broker (worker/wecom/token-broker.ts) exists to prevent.
 */
import { fetchAccessToken, type TokenSource, type WeComTransportDeps } from '../../worker/wecom/client.ts';
import { leaseOf, usable, type Lease } from '../../worker/wecom/leases.ts';

export function localTokenSource(deps: WeComTransportDeps): TokenSource {
  let current: Lease | undefined;
  let flight: Promise<Lease> | undefined;
  const token = (stale?: string): Promise<string> => {
    if (usable(current, Date.now()) && current.value !== stale) return Promise.resolve(current.value);
    flight ??= fetchAccessToken(deps)
      .then((reply) => (current = leaseOf(reply.access_token, reply.expires_in, Date.now())))
      .finally(() => (flight = undefined));
    return flight.then((lease) => lease.value);
  };
  return { accessToken: () => token(), refreshAccessToken: (stale) => token(stale) };
}

