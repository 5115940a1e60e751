/**
 * @module
 * Who is signed in. `load` is the boot's session check: the member the page was served with
 * (web/api/boot.ts), else `GET /api/me` (no session, or a 401, sends the member to WeCom login);
 * `recheck` notices an account switch in the WeCom client and starts over clean; any 401 while
 * in use turns into the session-expired screen.
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { ApiError, onUnauthorized, toApiError } from '../api/http.ts';
import { takeBootSession } from '../api/boot.ts';
import { getMe, loginUrl } from '../api/session.ts';
import type { Me } from '../api/types.ts';
import { navigation } from '../navigation.ts';
import { clearContactCache } from './cache.ts';

export type SessionStatus = 'idle' | 'loading' | 'ready' | 'expired' | 'redirecting' | 'error';

export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null);
  const status = ref<SessionStatus>('idle');
  const error = ref<ApiError | null>(null);
  const resetters: Array<() => void> = [];

  const userid = computed(() => me.value?.user.userid ?? null);
  const isAdmin = computed(() => me.value?.user.roles.includes('admin') ?? false);
  /** Admins and managers manage quick replies (managers those of their departments). */
  const canManageReplies = computed(() => isAdmin.value || (me.value?.user.roles.includes('manager') ?? false));

  onUnauthorized(() => {
    if (status.value === 'ready') status.value = 'expired';
  });

  /** Stores that hold a member's data register here, to be emptied when the account changes. */
  function onReset(reset: () => void): void {
    resetters.push(reset);
  }

  function login(): void {
    status.value = 'redirecting';
    navigation.assign(loginUrl(navigation.currentPath()));
  }

  /** Resolves false when the member is being sent to log in, or the check failed (see `error`). */
  async function load(): Promise<boolean> {
    status.value = 'loading';
    error.value = null;
    // The page as the worker served it already says who is signed in: no request.
    const served = takeBootSession();
    if (served) {
      if (served.me === null) {
        login();
        return false;
      }
      me.value = served.me;
      status.value = 'ready';
      return true;
    }
    try {
      me.value = await getMe();
      status.value = 'ready';
      return true;
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 401) {
        login();
        return false;
      }
      error.value = toApiError(caught);
      status.value = 'error';
      return false;
    }
  }

  /**
   * The WeCom client can switch accounts under an open sidebar, and the session cookie then
   * belongs to someone else: nothing cached for the previous member may stay on screen.
   */
  async function recheck(): Promise<void> {
    const previous = userid.value;
    if (status.value !== 'ready' || previous === null) return;
    let next: Me;
    try {
      next = await getMe();
    } catch {
      // A 401 already marked the session expired; other failures leave the screen as it is.
      return;
    }
    if (next.user.userid === previous) {
      me.value = next;
      return;
    }
    clearAll();
    login();
  }

  function clearAll(): void {
    clearContactCache();
    for (const reset of resetters) reset();
    me.value = null;
  }

  return { me, status, error, userid, isAdmin, canManageReplies, load, recheck, login, onReset, clearAll };
});
