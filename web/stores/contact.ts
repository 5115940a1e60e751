/**
 * @module
 * The external contact on screen: its WeCom profile, binding and CRM customer, and the actions
 * that change the binding (bind a suggestion or a search hit, create a customer, unbind).
 */
import { defineStore } from 'pinia';
import { computed, ref } from 'vue';
import { bindContact, createCustomerForContact, getContact, unbindContact } from '../api/contacts.ts';
import { searchCustomers } from '../api/customers.ts';
import { toApiError, type ApiError } from '../api/http.ts';
import type { ContactDetail, Customer, FollowUser, NewCustomer } from '../api/types.ts';
import { forgetCachedContact, readCachedContact, writeCachedContact } from './cache.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

export type ContactAction = 'bind' | 'create' | 'unbind';

export const useContactStore = defineStore('contact', () => {
  const session = useSessionStore();
  const externalUserId = ref<string | null>(null);
  const detail = ref<ContactDetail | null>(null);
  const { status, error, run, reset: resetLoad } = useLoad();
  /** The signed-in member's own relation to the contact: the remark, tags and company they noted. */
  const mine = computed<FollowUser | null>(() => detail.value?.followUsers.find((follow) => follow.userid === session.userid) ?? null);

  const busy = ref<ContactAction | null>(null);
  const actionError = ref<ApiError | null>(null);

  const query = ref('');
  const results = ref<Customer[] | null>(null);
  const searching = ref(false);
  const searchError = ref<ApiError | null>(null);

  let inflight: { id: string; promise: Promise<void> } | null = null;

  function remember(id: string, next: ContactDetail): void {
    const userid = session.userid;
    if (userid) writeCachedContact(userid, id, next);
  }

  function load(id: string): Promise<void> {
    if (inflight && inflight.id === id) return inflight.promise;
    const switching = externalUserId.value !== id;
    externalUserId.value = id;
    actionError.value = null;
    if (switching) {
      query.value = '';
      results.value = null;
      searchError.value = null;
    }
    const userid = session.userid;
    const cached = userid ? readCachedContact(userid, id) : undefined;
    if (cached) {
      // Stale-while-revalidate: the copy from the last visit shows at once, the worker's follows.
      detail.value = cached;
      status.value = 'ready';
    } else if (switching) {
      detail.value = null;
    }
    const promise = (async () => {
      try {
        await run(
          () => getContact(id),
          (fresh) => {
            detail.value = fresh;
            remember(id, fresh);
          },
          {
            keepReady: cached !== undefined,
            // A refusal (no longer your contact, CRM down) must not leave the cached screen standing.
            onError: () => {
              if (userid) forgetCachedContact(userid, id);
            },
          },
        );
      } finally {
        if (inflight?.id === id) inflight = null;
      }
    })();
    inflight = { id, promise };
    return promise;
  }

  /** Loads unless this contact is already on screen or on its way (one request per contact). */
  function ensure(id: string): Promise<void> {
    if (externalUserId.value === id && (status.value === 'ready' || status.value === 'loading')) return inflight?.promise ?? Promise.resolve();
    return load(id);
  }

  async function act(action: ContactAction, run: (id: string) => Promise<void>): Promise<boolean> {
    const id = externalUserId.value;
    if (!id || busy.value) return false;
    busy.value = action;
    actionError.value = null;
    try {
      await run(id);
      return true;
    } catch (caught) {
      actionError.value = toApiError(caught);
      return false;
    } finally {
      busy.value = null;
    }
  }

  function applyBinding(id: string, result: { binding: ContactDetail['binding']; customer: Customer }): void {
    if (!detail.value || externalUserId.value !== id) return;
    detail.value = { ...detail.value, binding: result.binding, customer: result.customer, suggestions: [] };
    remember(id, detail.value);
    // What the member may do with the newly bound customer (edit, notes) is the worker's call:
    // read the contact again behind the record already on screen.
    void load(id);
  }

  function bind(customerId: string): Promise<boolean> {
    return act('bind', async (id) => applyBinding(id, await bindContact(id, customerId)));
  }

  function createCustomer(draft: NewCustomer): Promise<boolean> {
    return act('create', async (id) => applyBinding(id, await createCustomerForContact(id, draft)));
  }

  function unbind(): Promise<boolean> {
    return act('unbind', async (id) => {
      await unbindContact(id);
      // The suggestions depend on the binding that just went away: read the contact again.
      await load(id);
    });
  }

  async function search(text: string): Promise<void> {
    query.value = text;
    const q = text.trim();
    if (q === '') {
      results.value = null;
      return;
    }
    searching.value = true;
    searchError.value = null;
    try {
      const found = await searchCustomers(q);
      if (query.value.trim() === q) results.value = found;
    } catch (caught) {
      searchError.value = toApiError(caught);
    } finally {
      searching.value = false;
    }
  }

  /** The customer editor saved a new version. */
  function replaceCustomer(customer: Customer): void {
    const id = externalUserId.value;
    if (!id || !detail.value || detail.value.customer?.id !== customer.id) return;
    detail.value = { ...detail.value, customer };
    remember(id, detail.value);
  }

  /** The member's relationship as WeCom shows it after a remark edit. */
  function replaceFollowUser(id: string, followUser: Omit<FollowUser, 'name' | 'relationship'>): void {
    if (!detail.value || externalUserId.value !== id) return;
    detail.value = { ...detail.value, followUsers: detail.value.followUsers.map((f) => (f.userid === followUser.userid ? { ...f, ...followUser } : f)) };
    remember(id, detail.value);
  }

  function reset(): void {
    inflight = null;
    externalUserId.value = null;
    detail.value = null;
    resetLoad();
    busy.value = null;
    actionError.value = null;
    query.value = '';
    results.value = null;
    searchError.value = null;
  }

  session.onReset(reset);

  return {
    replaceFollowUser,
    externalUserId,
    detail,
    status,
    error,
    mine,
    busy,
    actionError,
    query,
    results,
    searching,
    searchError,
    load,
    ensure,
    bind,
    createCustomer,
    unbind,
    search,
    replaceCustomer,
  };
});
