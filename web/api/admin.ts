/**
 * @module
 * `/api/admin/*` (admin role): users and roles, the long jobs (org sync, reconciliation: start,
 * follow, cancel), recent callback events, diagnostics.
 */
import { request } from './http.ts';
import type { AdminEvent, AdminEventList, AdminUser, AdminUsers, DiagnosticsReport, JobRun, OrgSyncRun, ReconcileRun, Role } from './types.ts';

export function getAdminUsers(): Promise<AdminUsers> {
  return request<AdminUsers>('GET', '/api/admin/users');
}

export async function putUserRoles(id: number, roles: Role[]): Promise<AdminUser> {
  const { user } = await request<{ user: AdminUser }>('PUT', `/api/admin/users/${id}/roles`, { body: { roles } });
  return user;
}

/** One long job's routes: start, one run, the latest run, cancel. */
export interface JobApi<R extends JobRun> {
  /** 202 with the new run; 409 when one is already running (the error body carries that `run`). */
  start(): Promise<R>;
  get(id: number): Promise<R>;
  latest(): Promise<R | null>;
  /** The run as it ended (`failed`, phase `cancelled`); 409 when it was no longer running, 404 for an unknown id. */
  cancel(id: number): Promise<R>;
}

function jobApi<R extends JobRun>(base: string): JobApi<R> {
  const runOf = async (method: 'GET' | 'POST', path: string) => (await request<{ run: R }>(method, path)).run;
  return {
    start: () => runOf('POST', base),
    get: (id) => runOf('GET', `${base}/${id}`),
    latest: async () => (await request<{ run: R | null }>('GET', `${base}/latest`)).run,
    cancel: (id) => runOf('POST', `${base}/${id}/cancel`),
  };
}

export const orgSyncApi = jobApi<OrgSyncRun>('/api/admin/org-sync');
export const reconcileApi = jobApi<ReconcileRun>('/api/admin/reconcile');

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
