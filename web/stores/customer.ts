/**
 * @module
 * The bound customer's record: edits under optimistic concurrency (`If-Match` with the version
 * read; a 412 becomes a conflict the member resolves, never a silent overwrite), follow-up notes,
 * and the timeline.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { addNote as postNote, getTimeline, listNotes, patchCustomer, VersionConflictError } from '../api/customers.ts';
import { toApiError, type ApiError } from '../api/http.ts';
import type { Customer, CustomerPatch, Note, Stage, TimelineItem } from '../api/types.ts';
import { useContactStore } from './contact.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

/** One edit as the member meant it, so it can be applied again on top of a newer version. */
export type CustomerChange =
  | { field: 'name' | 'company'; value: string }
  | { field: 'stage'; value: Stage }
  | { field: 'mobiles' | 'tags'; value: string[] }
  | { field: 'customField'; key: string; value: string | null };

export interface Conflict {
  change: CustomerChange;
  /** The record as stored now, saved by someone else after we read ours. */
  current: Customer;
}

/** The PATCH body for a change made against `base` (custom fields merge into base's map). */
export function patchFor(change: CustomerChange, base: Customer): CustomerPatch {
  switch (change.field) {
    case 'name':
      return { name: change.value };
    case 'company':
      return { company: change.value };
    case 'stage':
      return { stage: change.value };
    case 'mobiles':
      return { mobiles: change.value };
    case 'tags':
      return { tags: change.value };
    case 'customField': {
      const customFields = { ...base.customFields };
      if (change.value === null) delete customFields[change.key];
      else customFields[change.key] = change.value;
      return { customFields };
    }
  }
}

export const useCustomerStore = defineStore('customer', () => {
  const customer = ref<Customer | null>(null);
  const saving = ref(false);
  const saveError = ref<ApiError | null>(null);
  const conflict = ref<Conflict | null>(null);

  const notes = ref<Note[]>([]);
  const notesLoad = useLoad();
  const { status: notesStatus, error: notesError } = notesLoad;
  const addingNote = ref(false);
  const noteError = ref<ApiError | null>(null);

  const timeline = ref<TimelineItem[]>([]);
  const timelineLoad = useLoad();
  const { status: timelineStatus, error: timelineError } = timelineLoad;

  /** Shows `next`; a different customer also brings its notes and timeline. */
  function open(next: Customer): void {
    const switching = customer.value?.id !== next.id;
    if (switching || next.version >= (customer.value?.version ?? 0)) customer.value = next;
    if (!switching) return;
    conflict.value = null;
    saveError.value = null;
    noteError.value = null;
    void loadNotes();
    void loadTimeline();
  }

  async function loadNotes(): Promise<void> {
    const id = customer.value?.id;
    if (!id) return;
    await notesLoad.run(
      () => listNotes(id),
      (list) => {
        notes.value = list;
      },
    );
  }

  /** Behind the timeline on screen: it stays while a save or a note brings the new entry. */
  async function loadTimeline(): Promise<void> {
    const id = customer.value?.id;
    if (!id) return;
    await timelineLoad.run(
      () => getTimeline(id),
      (items) => {
        // Newest first, whatever order the CRM answered in.
        timeline.value = [...items].sort((a, b) => b.at - a.at);
      },
      { keepReady: true },
    );
  }

  async function write(change: CustomerChange, base: Customer): Promise<boolean> {
    saving.value = true;
    saveError.value = null;
    try {
      const saved = await patchCustomer(base.id, base.version, patchFor(change, base));
      customer.value = saved;
      conflict.value = null;
      useContactStore().replaceCustomer(saved);
      void loadTimeline();
      return true;
    } catch (caught) {
      if (caught instanceof VersionConflictError) {
        conflict.value = { change, current: caught.current };
        return false;
      }
      saveError.value = toApiError(caught);
      return false;
    } finally {
      saving.value = false;
    }
  }

  function save(change: CustomerChange): Promise<boolean> {
    const base = customer.value;
    if (!base || saving.value) return Promise.resolve(false);
    return write(change, base);
  }

  /** Applies the member's change again, this time on top of the version stored now. */
  function reapply(): Promise<boolean> {
    const pending = conflict.value;
    if (!pending || saving.value) return Promise.resolve(false);
    return write(pending.change, pending.current);
  }

  /** Drops the member's change and shows the stored record. */
  function discard(): void {
    const pending = conflict.value;
    if (!pending) return;
    customer.value = pending.current;
    conflict.value = null;
    useContactStore().replaceCustomer(pending.current);
  }

  async function addNote(body: string): Promise<boolean> {
    const id = customer.value?.id;
    const text = body.trim();
    if (!id || text === '' || addingNote.value) return false;
    addingNote.value = true;
    noteError.value = null;
    try {
      const note = await postNote(id, text);
      if (customer.value?.id === id) {
        notes.value = [note, ...notes.value];
        void loadTimeline();
      }
      return true;
    } catch (caught) {
      noteError.value = toApiError(caught);
      return false;
    } finally {
      addingNote.value = false;
    }
  }

  function reset(): void {
    customer.value = null;
    conflict.value = null;
    saveError.value = null;
    notes.value = [];
    notesLoad.reset();
    noteError.value = null;
    timeline.value = [];
    timelineLoad.reset();
  }

  useSessionStore().onReset(reset);

  return {
    customer,
    saving,
    saveError,
    conflict,
    notes,
    notesStatus,
    notesError,
    addingNote,
    noteError,
    timeline,
    timelineStatus,
    timelineError,
    open,
    save,
    reapply,
    discard,
    addNote,
    loadNotes,
    loadTimeline,
  };
});
