/**
 * @module
 * Hash routing: the page URL WeCom signs (everything before `#`) never changes while the member
 * moves between screens, so the JS-SDK is signed once per page load (docs/wecom.md §3.2).
 * A link from an app message names its customer (or contact) in the query as well
 * (`/?customer=<id>`, worker/notify/textcard.ts): inside WeCom a page without a session goes
 * through OAuth first, and only the path and query come back from it, never the fragment.
 */
import { shallowRef } from 'vue';

export type Route =
  | { name: 'home' }
  | { name: 'contact'; externalUserId: string }
  | { name: 'customer'; customerId: string }
  | { name: 'settings' }
  | { name: 'admin-users' }
  | { name: 'admin-events' }
  | { name: 'admin-tags' }
  | { name: 'admin-diagnostics' }
  | { name: 'admin-replies' }
  | { name: 'admin-lost-customers' };

function decoded(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const match = /^\/(contact|customer)\/([^/?]+)$/.exec(path);
  const id = match?.[2] ? decoded(match[2]) : undefined;
  if (match && id) return match[1] === 'contact' ? { name: 'contact', externalUserId: id } : { name: 'customer', customerId: id };
  if (path === '/settings') return { name: 'settings' };
  if (path === '/admin/users') return { name: 'admin-users' };
  if (path === '/admin/events') return { name: 'admin-events' };
  if (path === '/admin/tags') return { name: 'admin-tags' };
  if (path === '/admin/diagnostics') return { name: 'admin-diagnostics' };
  if (path === '/admin/replies') return { name: 'admin-replies' };
  if (path === '/admin/lost-customers') return { name: 'admin-lost-customers' };
  return { name: 'home' };
}

/** The route a page opens on: its fragment, else the customer or contact an app message's link names. */
export function initialRoute(hash: string, search: string): Route {
  const fromHash = parseHash(hash);
  if (fromHash.name !== 'home' || (hash !== '' && hash !== '#' && hash !== '#/')) return fromHash;
  const query = new URLSearchParams(search);
  const customerId = query.get('customer');
  if (customerId) return { name: 'customer', customerId };
  const externalUserId = query.get('external');
  if (externalUserId) return { name: 'contact', externalUserId };
  return fromHash;
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'home':
      return '#/';
    case 'contact':
      return `#/contact/${encodeURIComponent(route.externalUserId)}`;
    case 'customer':
      return `#/customer/${encodeURIComponent(route.customerId)}`;
    case 'settings':
      return '#/settings';
    case 'admin-users':
      return '#/admin/users';
    case 'admin-events':
      return '#/admin/events';
    case 'admin-tags':
      return '#/admin/tags';
    case 'admin-diagnostics':
      return '#/admin/diagnostics';
    case 'admin-replies':
      return '#/admin/replies';
    case 'admin-lost-customers':
      return '#/admin/lost-customers';
  }
}

export function isAdminRoute(route: Route): boolean {
  return (
    route.name === 'admin-users' ||
    route.name === 'admin-events' ||
    route.name === 'admin-tags' ||
    route.name === 'admin-diagnostics' ||
    route.name === 'admin-replies' ||
    route.name === 'admin-lost-customers'
  );
}

/** Admin pages a manager may open too (what they show is limited to the manager's departments). */
export function isManagerRoute(route: Route): boolean {
  return route.name === 'admin-replies';
}

/** Screens that need no chat from the WeCom client, so they open in a plain browser too. */
export function worksOutsideWeCom(route: Route): boolean {
  return isAdminRoute(route) || route.name === 'customer' || route.name === 'settings';
}

export const route = shallowRef<Route>(typeof location === 'undefined' ? { name: 'home' } : initialRoute(location.hash, location.search));

let listening = false;

export function startRouter(): void {
  if (listening) return;
  listening = true;
  window.addEventListener('hashchange', () => {
    route.value = parseHash(location.hash);
  });
}
