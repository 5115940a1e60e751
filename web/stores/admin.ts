/**
 * @module
 * Admin pages' state: users and their roles, the org sync (started here, then polled until it
 * ends), recent callback events, and the diagnostics report.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { getAdminEvents, getAdminUsers, getDiagnostics, getOrgSync, putUserRoles, startOrgSync } from '../api/admin.ts';
import { toApiError, type ApiError } from '../api/http.ts';
import type { AdminEvent, AdminUser, DiagnosticsReport, OrgSyncRun, Role } from '../api/types.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

/** How often a running org sync is asked for progress. */
export const ORG_SYNC_POLL_MS = 1000;

export const useAdminUsersStore = defineStore('adminUsers', () => {
  const users = ref<AdminUser[]>([]);
  const roles = ref<readonly Role[]>([]);
  const { status, error, run, reset: resetLoad } = useLoad();
  const savingId = ref<number | null>(null);
  const rowErrors = ref<Record<number, ApiError>>({});

  function load(): Promise<void> {
    return run(getAdminUsers, (answer) => {
      users.value = answer.users;
      roles.value = answer.roles;
      useOrgSyncStore().show(answer.latestSync);
    });
  }

  /** Gives or takes one role; the roles are sent in the worker's own order. */
  async function setRole(id: number, role: Role, held: boolean): Promise<boolean> {
    const user = users.value.find((candidate) => candidate.id === id);
    if (!user || savingId.value !== null) return false;
    const next = roles.value.filter((known) => (known === role ? held : user.roles.includes(known)));
    savingId.value = id;
    rowErrors.value = Object.fromEntries(Object.entries(rowErrors.value).filter(([key]) => Number(key) !== id));
    try {
      const saved = await putUserRoles(id, next);
      users.value = users.value.map((listed) => (listed.id === id ? saved : listed));
      return true;
    } catch (caught) {
      rowErrors.value = { ...rowErrors.value, [id]: toApiError(caught) };
      return false;
    } finally {
      savingId.value = null;
    }
  }

  function reset(): void {
    users.value = [];
    roles.value = [];
    resetLoad();
    rowErrors.value = {};
  }

  useSessionStore().onReset(reset);

  return { users, roles, status, error, savingId, rowErrors, load, setRole };
});

export const useOrgSyncStore = defineStore('orgSync', () => {
  const run = ref<OrgSyncRun | null>(null);
  const starting = ref(false);
  const error = ref<ApiError | null>(null);
  let timer: ReturnType<typeof setTimeout> | null = null;

  function stopPolling(): void {
    if (timer !== null) clearTimeout(timer);
    timer = null;
  }

  function schedule(): void {
    stopPolling();
    if (run.value?.status !== 'running') return;
    const id = run.value.id;
    timer = setTimeout(() => void poll(id), ORG_SYNC_POLL_MS);
  }

  async function poll(id: number): Promise<void> {
    timer = null;
    try {
      const next = await getOrgSync(id);
      if (run.value?.id !== id) return;
      run.value = next;
      error.value = null;
    } catch (caught) {
      error.value = toApiError(caught);
      // A 401 ends the session; anything else is worth another try on the next tick.
      if (error.value.status === 401) return;
    }
    schedule();
  }

  /** The latest run from the users page; a running one is followed. */
  function show(latest: OrgSyncRun | null): void {
    if (latest === null || (run.value && run.value.id > latest.id)) return;
    run.value = latest;
    schedule();
  }

  async function start(): Promise<void> {
    if (starting.value || run.value?.status === 'running') return;
    starting.value = true;
    error.value = null;
    try {
      run.value = await startOrgSync();
    } catch (caught) {
      const failure = toApiError(caught);
      // 409: a sync is already running; follow that one instead.
      const running = failure.status === 409 ? failure.body.run : undefined;
      if (typeof running === 'object' && running !== null) run.value = running as OrgSyncRun;
      else error.value = failure;
    } finally {
      starting.value = false;
    }
    schedule();
  }

  function reset(): void {
    stopPolling();
    run.value = null;
    error.value = null;
  }

  useSessionStore().onReset(reset);

  return { run, starting, error, show, start, stopPolling };
});

export const useAdminEventsStore = defineStore('adminEvents', () => {
  const events = ref<AdminEvent[]>([]);
  const { status, error, run, reset: resetLoad } = useLoad();

  function load(limit = 50): Promise<void> {
    return run(
      () => getAdminEvents(limit),
      (answer) => {
        events.value = answer;
      },
    );
  }

  function reset(): void {
    events.value = [];
    resetLoad();
  }

  useSessionStore().onReset(reset);

  return { events, status, error, load };
});

export const useDiagnosticsStore = defineStore('adminDiagnostics', () => {
  const report = ref<DiagnosticsReport | null>(null);
  // Only the latest run lands (useLoad): one started before a reset, or on an earlier visit, must
  // not overwrite what came after it.
  const load = useLoad();
  const { status, error } = load;

  /** Runs every check again; `origin` is the page origin the worker should judge. */
  function run(origin: string): Promise<void> {
    return load.run(
      () => getDiagnostics(origin),
      (answer) => {
        report.value = answer;
      },
    );
  }

  function reset(): void {
    report.value = null;
    load.reset();
  }

  useSessionStore().onReset(reset);

  return { report, status, error, run };
});
