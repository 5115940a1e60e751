/**
 * @module
 * The customer group on screen and its members with their binding status.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { getChat } from '../api/chats.ts';
import type { ChatDetail } from '../api/types.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

export const useChatStore = defineStore('chat', () => {
  const chatId = ref<string | null>(null);
  const detail = ref<ChatDetail | null>(null);
  const { status, error, run, reset: resetLoad } = useLoad();

  function load(id: string): Promise<void> {
    if (chatId.value !== id) detail.value = null;
    chatId.value = id;
    return run(
      () => getChat(id),
      (fresh) => {
        detail.value = fresh;
      },
    );
  }

  /** Loads unless this group is already on screen, on its way, or failed (the screen offers a retry). */
  function ensure(id: string): Promise<void> {
    return chatId.value !== id || status.value === 'idle' ? load(id) : Promise.resolve();
  }

  function reset(): void {
    chatId.value = null;
    detail.value = null;
    resetLoad();
  }

  useSessionStore().onReset(reset);

  return { chatId, detail, status, error, load, ensure };
});
