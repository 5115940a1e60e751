/**
 * @module
 * One load's state for a store: its `status`, the `error` the screen shows, and `run`, which every
 * store's reads go through. Only the latest run lands: the answer for the contact (or customer,
 * group, diagnostics run) before must not overwrite the one on screen now, and `reset` (sign-out)
 * drops whatever is still on its way.
 */
import { ref } from 'vue';
import { toApiError, type ApiError } from '../api/http.ts';

export type LoadStatus = 'idle' | 'loading' | 'ready' | 'error';

export interface RunOptions {
  /** Stale-while-revalidate: what is on screen stays `ready` while the fresh copy comes. */
  keepReady?: boolean;
  /** The latest run failed: called with the failure just before the screen shows it. */
  onError?: (error: ApiError) => void;
}

export function useLoad() {
  const status = ref<LoadStatus>('idle');
  const error = ref<ApiError | null>(null);
  let latest = 0;

  /** Fetches, and unless a later run (or a reset) came since, shows the answer through `apply`. */
  async function run<T>(fetch: () => Promise<T>, apply: (answer: T) => void, options: RunOptions = {}): Promise<void> {
    const ticket = ++latest;
    if (!(options.keepReady && status.value === 'ready')) status.value = 'loading';
    error.value = null;
    try {
      const answer = await fetch();
      if (ticket !== latest) return;
      apply(answer);
      status.value = 'ready';
    } catch (caught) {
      if (ticket !== latest) return;
      const failure = toApiError(caught);
      options.onError?.(failure);
      error.value = failure;
      status.value = 'error';
    }
  }

  function reset(): void {
    latest += 1;
    status.value = 'idle';
    error.value = null;
  }

  return { status, error, run, reset };
}
