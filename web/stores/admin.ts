/**
 * @module
 * Admin pages' state: users and their roles, the long jobs (org sync and reconciliation: started
 * here, polled until they end, cancelled here), recent callback events, and the diagnostics report.
 */
import { defineStore } from 'pinia';
import { ref, shallowRef } from 'vue';
import { getAdminEvents, getAdminUsers, getDiagnostics, orgSyncApi, putUserRoles, reconcileApi, type JobApi } from '../api/admin.ts';
import { toApiError, type ApiError } from '../api/http.ts';
import type { AdminEvent, AdminUser, DiagnosticsReport, JobRun, Role } from '../api/types.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

/** How often a running job (org sync, reconciliation) is asked for progress. */
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

/** Why the panel says more than the run shows: a cancel that came after the run had ended. */
export type JobNotice = 'already_finished';

/**
 * One long job's state (org sync, reconciliation): the run shown, started or cancelled here, and
 * polled while it runs.
 */
function jobStore<R extends JobRun>(api: JobApi<R>) {
  return () => {
    // Whole runs replace each other; nothing inside one is changed in place.
    const run = shallowRef<R | null>(null);
    const starting = ref(false);
    const cancelling = ref(false);
    const error = ref<ApiError | null>(null);
    const notice = ref<JobNotice | null>(null);
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
        const next = await api.get(id);
        // Another run is shown now, or this one ended meanwhile (cancelled here): a finished run
        // never runs again, so an answer read before that is stale.
        if (run.value?.id !== id || run.value.status !== 'running') return;
        run.value = next;
        error.value = null;
      } catch (caught) {
        error.value = toApiError(caught);
        // A 401 ends the session; anything else is worth another try on the next tick.
        if (error.value.status === 401) return;
      }
      schedule();
    }

    /** The latest run, as another answer carried it; a running one is followed. */
    function show(latest: R | null): void {
      if (latest === null || (run.value && run.value.id > latest.id)) return;
      // A finished run never runs again: an answer read before it ended is stale.
      if (run.value?.id === latest.id && run.value.status !== 'running' && latest.status === 'running') return;
      run.value = latest;
      schedule();
    }

    /** Asks for the latest run (a page that shows this job without another answer carrying it). */
    async function loadLatest(): Promise<void> {
      try {
        show(await api.latest());
      } catch (caught) {
        error.value = toApiError(caught);
      }
    }

    async function start(): Promise<void> {
      if (starting.value || run.value?.status === 'running') return;
      starting.value = true;
      error.value = null;
      notice.value = null;
      try {
        run.value = await api.start();
      } catch (caught) {
        const failure = toApiError(caught);
        // 409: a run is already going; follow that one instead.
        const running = failure.status === 409 ? failure.body.run : undefined;
        if (typeof running === 'object' && running !== null) run.value = running as R;
        else error.value = failure;
      } finally {
        starting.value = false;
      }
      schedule();
    }

    /**
     * Cancels the running run (the panel asked first). The worker answers with the run as it ended;
     * 409 means it had already ended, so the panel says so and shows how it did end.
     */
    async function cancel(): Promise<void> {
      const current = run.value;
      if (!current || current.status !== 'running' || cancelling.value) return;
      cancelling.value = true;
      error.value = null;
      notice.value = null;
      stopPolling();
      try {
        const ended = await api.cancel(current.id);
        if (run.value?.id === current.id) run.value = ended;
      } catch (caught) {
        const failure = toApiError(caught);
        if (failure.status === 409) {
          notice.value = 'already_finished';
          try {
            const now = await api.get(current.id);
            if (run.value?.id === current.id) run.value = now;
          } catch (again) {
            error.value = toApiError(again);
          }
        } else {
          error.value = failure;
        }
      } finally {
        cancelling.value = false;
      }
      schedule();
    }

    function reset(): void {
      stopPolling();
      run.value = null;
      error.value = null;
      notice.value = null;
    }

    useSessionStore().onReset(reset);

    return { run, starting, cancelling, error, notice, show, loadLatest, start, cancel, stopPolling };
  };
}

export const useOrgSyncStore = defineStore('orgSync', jobStore(orgSyncApi));
export const useReconcileStore = defineStore('reconcile', jobStore(reconcileApi));

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
