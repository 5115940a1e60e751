/**
 * @module
 * The customer group on screen and its members with their binding status.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { getChat } from '../api/chats.ts';
import { toApiError, type ApiError } from '../api/http.ts';
import type { ChatDetail } from '../api/types.ts';
import type { LoadStatus } from './contact.ts';
import { useSessionStore } from './session.ts';

export const useChatStore = defineStore('chat', () => {
  const chatId = ref<string | null>(null);
  const detail = ref<ChatDetail | null>(null);
  const status = ref<LoadStatus>('idle');
  const error = ref<ApiError | null>(null);

  async function load(id: string): Promise<void> {
    if (chatId.value !== id) detail.value = null;
    chatId.value = id;
    status.value = 'loading';
    error.value = null;
    try {
      const fresh = await getChat(id);
      if (chatId.value !== id) return;
      detail.value = fresh;
      status.value = 'ready';
    } catch (caught) {
      if (chatId.value !== id) return;
      error.value = toApiError(caught);
      status.value = 'error';
    }
  }

  /** Loads unless this group is already on screen, on its way, or failed (the screen offers a retry). */
  function ensure(id: string): Promise<void> {
    return chatId.value !== id || status.value === 'idle' ? load(id) : Promise.resolve();
  }

  function reset(): void {
    chatId.value = null;
    detail.value = null;
    status.value = 'idle';
    error.value = null;
  }

  useSessionStore().onReset(reset);

  return { chatId, detail, status, error, load, ensure };
});
