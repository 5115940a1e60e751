/**
 * @module
 * The member's own WeCom relationship with the contact on screen: its corp tags (with the library
 * by group) and its remark, written through the worker to WeCom. What the CRM side became (a mapped
 * field written, or kept to retry) is kept for the screen to say.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { toApiError, type ApiError } from '../api/http.ts';
import { editRemark, getContactTags, markTags } from '../api/tags.ts';
import type { ContactTags, CrmSync, RemarkEdit } from '../../worker/wire.ts';
import { useContactStore } from './contact.ts';

export const useTagsStore = defineStore('tags', () => {
  const externalUserId = ref<string | null>(null);
  const tags = ref<ContactTags | null>(null);
  const loadError = ref<ApiError | null>(null);
  const busy = ref(false);
  const actionError = ref<ApiError | null>(null);
  const crm = ref<CrmSync | null>(null);
  const remarkBusy = ref(false);
  const remarkError = ref<ApiError | null>(null);
  const remarkSaved = ref(false);

  async function load(id: string): Promise<void> {
    externalUserId.value = id;
    actionError.value = null;
    crm.value = null;
    remarkError.value = null;
    remarkSaved.value = false;
    try {
      const answer = await getContactTags(id);
      if (externalUserId.value === id) {
        tags.value = answer;
        loadError.value = null;
      }
    } catch (error) {
      if (externalUserId.value === id) loadError.value = toApiError(error);
    }
  }

  async function toggle(tagId: string, on: boolean): Promise<void> {
    const id = externalUserId.value;
    if (!id || busy.value) return;
    busy.value = true;
    actionError.value = null;
    try {
      const answer = await markTags(id, on ? { add: [tagId], remove: [] } : { add: [], remove: [tagId] });
      tags.value = answer;
      crm.value = answer.crm;
    } catch (error) {
      actionError.value = toApiError(error);
      // A tag deleted meanwhile: the worker reloaded the library, so show its new answer.
      if (actionError.value.code === 'tag_not_found') await load(id).then(() => (actionError.value = toApiError(error)));
    } finally {
      busy.value = false;
    }
  }

  async function saveRemark(edit: RemarkEdit): Promise<boolean> {
    const id = externalUserId.value;
    if (!id || remarkBusy.value) return false;
    remarkBusy.value = true;
    remarkError.value = null;
    remarkSaved.value = false;
    try {
      const answer = await editRemark(id, edit);
      useContactStore().replaceFollowUser(id, answer.followUser);
      remarkSaved.value = true;
      return true;
    } catch (error) {
      remarkError.value = toApiError(error);
      return false;
    } finally {
      remarkBusy.value = false;
    }
  }

  return { externalUserId, tags, loadError, busy, actionError, crm, remarkBusy, remarkError, remarkSaved, load, toggle, saveRemark };
});
