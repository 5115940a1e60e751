/**
 * @module
 * The member's app-message settings: which kinds they receive.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { toApiError, type ApiError } from '../api/http.ts';
import { getNotificationSettings, putNotificationSettings } from '../api/notifications.ts';
import type { NotificationKind } from '../api/types.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

export const useNotificationsStore = defineStore('notifications', () => {
  const settings = ref<Record<NotificationKind, boolean> | null>(null);
  const load = useLoad();
  const { status, error } = load;
  const saving = ref<NotificationKind | null>(null);
  const saveError = ref<ApiError | null>(null);

  async function fetch(): Promise<void> {
    await load.run(getNotificationSettings, (answer) => {
      settings.value = answer;
    });
  }

  async function toggle(kind: NotificationKind, on: boolean): Promise<void> {
    if (saving.value) return;
    saving.value = kind;
    saveError.value = null;
    try {
      settings.value = await putNotificationSettings({ [kind]: on });
    } catch (caught) {
      saveError.value = toApiError(caught);
    } finally {
      saving.value = null;
    }
  }

  useSessionStore().onReset(() => {
    settings.value = null;
    load.reset();
  });

  return { settings, status, error, saving, saveError, fetch, toggle };
});
