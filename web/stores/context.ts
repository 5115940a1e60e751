/**
 * @module
 * The boot, and where the sidebar was opened. `boot` runs the steps in the order the platform
 * allows and the fastest it allows: signing + registration and the session check start together;
 * after login the WeCom context decides whether a contact or a customer group fills the screen.
 */
import { defineStore } from 'pinia';
import { computed, markRaw, ref, shallowRef } from 'vue';
import { takeBootSignatures } from '../api/boot.ts';
import { postSignatures } from '../api/jssdk.ts';
import { problemFromApiError, problemFromRegistration, problemFromUnknown, problemFromWeCom, type Problem } from '../problems.ts';
import { route, worksOutsideWeCom } from '../router.ts';
import { createWeComClient, DEFAULT_WAITS, WeComCallError, type WeComClient, type WeComWaits } from '../wecom/client.ts';
import type { WwSurface } from '../wecom/types.ts';
import { useChatStore } from './chat.ts';
import { useContactStore } from './contact.ts';
import { useSessionStore } from './session.ts';

export type Target = { kind: 'contact'; externalUserId: string } | { kind: 'chat'; chatId: string } | { kind: 'none'; entry: string };

export type BootPhase = 'starting' | 'ready' | 'failed';

const CONTACT_ENTRIES = new Set(['single_chat_tools', 'contact_profile', 'single_kf_tools']);
const CHAT_ENTRIES = new Set(['group_chat_tools']);
/** Where `sendChatMessage` works: the chat toolbars (docs/wecom.md §3.3). */
const CHAT_TOOLBAR_ENTRIES = new Set(['single_chat_tools', 'group_chat_tools']);

/** Re-reading the context when the sidebar comes back into view costs a client call: not more often than this. */
const REFRESH_INTERVAL_MS = 2000;

/** `entry` is what getContext said, undefined on a client too old to say. */
async function resolveTarget(client: WeComClient, onEntry: (entry: string | undefined) => void): Promise<Target> {
  let entry: string | undefined;
  try {
    entry = await client.getContext();
  } catch (error) {
    // getContext needs WeCom 3.0.24; older clients still answer the two calls below.
    if (!(error instanceof WeComCallError && error.kind === 'unsupported')) throw error;
  }
  onEntry(entry);
  if (entry !== undefined && CONTACT_ENTRIES.has(entry)) return { kind: 'contact', externalUserId: await client.getCurExternalContact() };
  if (entry !== undefined && CHAT_ENTRIES.has(entry)) return { kind: 'chat', chatId: await client.getCurExternalChat() };
  if (entry !== undefined) return { kind: 'none', entry };
  try {
    return { kind: 'contact', externalUserId: await client.getCurExternalContact() };
  } catch (error) {
    if (!(error instanceof WeComCallError && error.kind === 'no_context')) throw error;
  }
  return { kind: 'chat', chatId: await client.getCurExternalChat() };
}

function sameTarget(a: Target | null, b: Target): boolean {
  if (!a || a.kind !== b.kind) return false;
  if (a.kind === 'contact' && b.kind === 'contact') return a.externalUserId === b.externalUserId;
  if (a.kind === 'chat' && b.kind === 'chat') return a.chatId === b.chatId;
  return a.kind === 'none' && b.kind === 'none' && a.entry === b.entry;
}

export const useContextStore = defineStore('context', () => {
  const phase = ref<BootPhase>('starting');
  /** Nothing works (not in WeCom, registration refused, the session check failed). */
  const problem = ref<Problem | null>(null);
  /** The sidebar works but cannot say who the customer is (no permission, wrong entry). */
  const targetProblem = ref<Problem | null>(null);
  const target = ref<Target | null>(null);
  /** Where the sidebar was opened (getContext); null when the client is too old to say. */
  const entry = ref<string | null>(null);
  const client = shallowRef<WeComClient | null>(null);
  /**
   * Whether the sidebar may send into the chat: only from a chat toolbar. A client too old to name
   * its entry may still be in one, so it is let try (WeCom refuses where it cannot).
   */
  const canSendToChat = computed(() => client.value?.isWeCom === true && phase.value === 'ready' && (entry.value === null || CHAT_TOOLBAR_ENTRIES.has(entry.value)));
  let lastRefresh = 0;

  function fail(next: Problem): void {
    problem.value = next;
    phase.value = 'failed';
  }

  function show(next: Target): void {
    target.value = next;
    if (next.kind === 'contact') void useContactStore().load(next.externalUserId);
    if (next.kind === 'chat') void useChatStore().load(next.chatId);
  }

  async function readContext(): Promise<void> {
    const wecom = client.value;
    if (!wecom) return;
    try {
      const next = await resolveTarget(wecom, (named) => (entry.value = named ?? null));
      targetProblem.value = null;
      if (!sameTarget(target.value, next)) show(next);
    } catch (error) {
      targetProblem.value = error instanceof WeComCallError ? problemFromWeCom(error) : problemFromUnknown(error);
    }
  }

  /**
   * Given `ww` itself (not a promise), the signatures and session requests leave before this returns.
   * `waits` bounds every wait on the WeCom client (tests shorten them).
   */
  async function boot(source: WwSurface | Promise<WwSurface>, waits: WeComWaits = DEFAULT_WAITS): Promise<void> {
    phase.value = 'starting';
    const session = useSessionStore();
    let ww: WwSurface;
    if (source instanceof Promise) {
      try {
        ww = await source;
      } catch (error) {
        fail(problemFromUnknown(error));
        return;
      }
    } else {
      ww = source;
    }
    const wecom = markRaw(createWeComClient(ww, waits));
    client.value = wecom;

    if (!wecom.isWeCom) {
      // Outside WeCom any ww.* call waits forever. Admin and customer pages need no ww, so they still open.
      if (!worksOutsideWeCom(route.value)) {
        fail({ kind: 'not_in_wecom' });
        return;
      }
      if (await session.load()) phase.value = 'ready';
      else if (session.status === 'error' && session.error) fail(problemFromApiError(session.error));
      return;
    }

    // Both start now: the signatures request inside register(), and the session check; with the
    // page's boot block (web/api/boot.ts) neither is a request, and only the contact read remains.
    // Signatures the page was served with go first; a refresh (WeCom refused them) always asks.
    const registration = wecom.register((url, refresh) => {
      const served = refresh ? undefined : takeBootSignatures(url);
      return served ? Promise.resolve(served) : postSignatures(refresh ? { url, refresh } : { url });
    });
    registration.catch(() => undefined);
    const signedIn = await session.load();
    if (!signedIn) {
      if (session.status === 'error' && session.error) fail(problemFromApiError(session.error));
      return;
    }
    let outcome;
    try {
      outcome = await registration;
    } catch (error) {
      // The worker would not sign (page origin not allowed, configuration incomplete, unreachable).
      const problem = problemFromUnknown(error);
      fail(problem.kind === 'unexpected' ? { ...problem, kind: 'registration_failed' } : problem);
      return;
    }
    if (!outcome.ok) {
      fail(problemFromRegistration(outcome));
      return;
    }
    phase.value = 'ready';
    lastRefresh = Date.now();
    await readContext();
  }

  /** The sidebar came back into view: the account or the chat may have changed meanwhile. */
  async function refresh(now = Date.now()): Promise<void> {
    if (phase.value !== 'ready' || now - lastRefresh < REFRESH_INTERVAL_MS) return;
    lastRefresh = now;
    const session = useSessionStore();
    await session.recheck();
    if (session.status === 'ready' && client.value?.isWeCom) await readContext();
  }

  function reset(): void {
    target.value = null;
    targetProblem.value = null;
  }

  useSessionStore().onReset(reset);

  return { phase, problem, targetProblem, target, entry, canSendToChat, client, boot, refresh, readContext };
});
