/**
 * @module
 * The open customer's next follow-up: read with the customer, set or cleared by whoever may edit it.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { toApiError, type ApiError } from '../api/http.ts';
import { clearFollowUp, getFollowUp, setFollowUp } from '../api/notifications.ts';
import type { FollowUp } from '../api/types.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

export const useFollowUpStore = defineStore('follow-up', () => {
  const customerId = ref<string | null>(null);
  const followUp = ref<FollowUp | null>(null);
  const load = useLoad();
  const { status, error } = load;
  const saving = ref(false);
  const saveError = ref<ApiError | null>(null);

  async function open(id: string): Promise<void> {
    if (customerId.value === id && status.value !== 'error') return;
    customerId.value = id;
    followUp.value = null;
    saveError.value = null;
    await load.run(
      () => getFollowUp(id),
      (answer) => {
        followUp.value = answer;
      },
    );
  }

  async function write(action: (id: string) => Promise<FollowUp | null>): Promise<boolean> {
    const id = customerId.value;
    if (!id || saving.value) return false;
    saving.value = true;
    saveError.value = null;
    try {
      const next = await action(id);
      if (customerId.value === id) followUp.value = next;
      return true;
    } catch (caught) {
      saveError.value = toApiError(caught);
      return false;
    } finally {
      saving.value = false;
    }
  }

  const save = (dueAt: number, note: string) => write((id) => setFollowUp(id, dueAt, note));
  const clear = () => write(async (id) => (await clearFollowUp(id), null));

  function reset(): void {
    customerId.value = null;
    followUp.value = null;
    saveError.value = null;
    load.reset();
  }

  useSessionStore().onReset(reset);

  return { customerId, followUp, status, error, saving, saveError, open, save, clear };
});
