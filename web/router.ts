/**
 * @module
 * Hash routing: the page URL WeCom signs (everything before `#`) never changes while the member
 * moves between screens, so the JS-SDK is signed once per page load (docs/wecom.md §3.2).
 */
import { shallowRef } from 'vue';

export type Route =
  | { name: 'home' }
  | { name: 'contact'; externalUserId: string }
  | { name: 'admin-users' }
  | { name: 'admin-events' }
  | { name: 'admin-tags' }
  | { name: 'admin-diagnostics' }
  | { name: 'admin-replies' };

export function parseHash(hash: string): Route {
  const path = hash.replace(/^#/, '');
  const contact = /^\/contact\/([^/?]+)$/.exec(path);
  if (contact?.[1]) {
    try {
      return { name: 'contact', externalUserId: decodeURIComponent(contact[1]) };
    } catch {
      return { name: 'home' };
    }
  }
  if (path === '/admin/users') return { name: 'admin-users' };
  if (path === '/admin/events') return { name: 'admin-events' };
  if (path === '/admin/tags') return { name: 'admin-tags' };
  if (path === '/admin/diagnostics') return { name: 'admin-diagnostics' };
  if (path === '/admin/replies') return { name: 'admin-replies' };
  return { name: 'home' };
}

export function hrefFor(route: Route): string {
  switch (route.name) {
    case 'home':
      return '#/';
    case 'contact':
      return `#/contact/${encodeURIComponent(route.externalUserId)}`;
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
  }
}

export function isAdminRoute(route: Route): boolean {
  return route.name === 'admin-users' || route.name === 'admin-events' || route.name === 'admin-tags' || route.name === 'admin-diagnostics' || route.name === 'admin-replies';
}

/** Admin pages a manager may open too (what they show is limited to the manager's departments). */
export function isManagerRoute(route: Route): boolean {
  return route.name === 'admin-replies';
}

export const route = shallowRef<Route>(typeof location === 'undefined' ? { name: 'home' } : parseHash(location.hash));

let listening = false;

export function startRouter(): void {
  if (listening) return;
  listening = true;
  window.addEventListener('hashchange', () => {
    route.value = parseHash(location.hash);
  });
}
