/**
 * @module
 * The quick-reply library as admins and managers manage it: the replies they may change, with
 * their usage, where new ones may go, and saving and deleting. The worker decides the scope; this
 * only shows what it answers.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { toApiError, type ApiError } from '../api/http.ts';
import { createReply, deleteReply, listManagedReplies, updateReply } from '../api/replies.ts';
import type { ManagedReply, ManagedReplyList, ReplyDraft } from '../api/types.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

export const useReplyLibraryStore = defineStore('replyLibrary', () => {
  const replies = ref<ManagedReply[]>([]);
  const departments = ref<ManagedReplyList['departments']>([]);
  const corpWide = ref(false);
  const { status, error, run, reset: resetLoad } = useLoad();
  const saving = ref(false);
  const saveError = ref<ApiError | null>(null);

  function load(): Promise<void> {
    return run(listManagedReplies, (answer) => {
      replies.value = answer.replies;
      departments.value = answer.departments;
      corpWide.value = answer.corpWide;
    });
  }

  /** Creates (`id` null) or updates; true when saved. */
  async function save(id: number | null, draft: ReplyDraft): Promise<boolean> {
    saving.value = true;
    saveError.value = null;
    try {
      const saved = id === null ? await createReply(draft) : await updateReply(id, draft);
      replies.value = id === null ? [...replies.value, saved] : replies.value.map((reply) => (reply.id === id ? saved : reply));
      return true;
    } catch (caught) {
      saveError.value = toApiError(caught);
      return false;
    } finally {
      saving.value = false;
    }
  }

  async function remove(id: number): Promise<void> {
    saving.value = true;
    saveError.value = null;
    try {
      await deleteReply(id);
      replies.value = replies.value.filter((reply) => reply.id !== id);
    } catch (caught) {
      saveError.value = toApiError(caught);
    } finally {
      saving.value = false;
    }
  }

  function reset(): void {
    replies.value = [];
    departments.value = [];
    corpWide.value = false;
    saveError.value = null;
    resetLoad();
  }

  useSessionStore().onReset(reset);

  return { replies, departments, corpWide, status, error, saving, saveError, load, save, remove };
});
