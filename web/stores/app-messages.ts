/**
 * @module
 * Admin views of the app messages: customers who deleted a member, and messages that failed.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { listAppMessageFailures, listLostCustomers } from '../api/notifications.ts';
import type { AppMessageFailure, LostCustomer } from '../api/types.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

export const useAppMessagesStore = defineStore('app-messages', () => {
  const lost = ref<LostCustomer[]>([]);
  const lostLoad = useLoad();
  const failures = ref<AppMessageFailure[]>([]);
  const failuresLoad = useLoad();

  function searchLost(filter: { member?: string; from?: string; to?: string }): Promise<void> {
    return lostLoad.run(
      () => listLostCustomers(filter),
      (items) => {
        lost.value = items;
      },
    );
  }

  function loadFailures(): Promise<void> {
    return failuresLoad.run(listAppMessageFailures, (items) => {
      failures.value = items;
    });
  }

  useSessionStore().onReset(() => {
    lost.value = [];
    failures.value = [];
    lostLoad.reset();
    failuresLoad.reset();
  });

  return {
    lost,
    lostStatus: lostLoad.status,
    lostError: lostLoad.error,
    failures,
    failuresStatus: failuresLoad.status,
    failuresError: failuresLoad.error,
    searchLost,
    loadFailures,
  };
});
