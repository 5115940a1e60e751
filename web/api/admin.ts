/**
 * @module
 * `/api/admin/*` (admin role): users and roles, org sync, recent callback events, diagnostics.
 */
import { request } from './http.ts';
import type { AdminEvent, AdminEventList, AdminUser, AdminUsers, DiagnosticsReport, OrgSyncRun, Role } from './types.ts';

export function getAdminUsers(): Promise<AdminUsers> {
  return request<AdminUsers>('GET', '/api/admin/users');
}

export async function putUserRoles(id: number, roles: Role[]): Promise<AdminUser> {
  const { user } = await request<{ user: AdminUser }>('PUT', `/api/admin/users/${id}/roles`, { body: { roles } });
  return user;
}

/** 202 with the new run; 409 when one is already running (the error body carries that `run`). */
export async function startOrgSync(): Promise<OrgSyncRun> {
  const { run } = await request<{ run: OrgSyncRun }>('POST', '/api/admin/org-sync');
  return run;
}

export async function getOrgSync(id: number): Promise<OrgSyncRun> {
  const { run } = await request<{ run: OrgSyncRun }>('GET', `/api/admin/org-sync/${id}`);
  return run;
}

export async function getLatestOrgSync(): Promise<OrgSyncRun | null> {
  const { run } = await request<{ run: OrgSyncRun | null }>('GET', '/api/admin/org-sync/latest');
  return run;
}

export async function getAdminEvents(limit = 50): Promise<AdminEvent[]> {
  const { events } = await request<AdminEventList>('GET', `/api/admin/events?limit=${limit}`);
  return events;
}

/**
 * Live checks of the deployment against WeCom. `origin` is the page's own origin: the worker judges
 * whether it signs JS-SDK pages there, which the request's Origin header does not say for a GET.
 */
export function getDiagnostics(origin: string): Promise<DiagnosticsReport> {
  return request<DiagnosticsReport>('GET', `/api/admin/diagnostics?origin=${encodeURIComponent(origin)}`);
}
