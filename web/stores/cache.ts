/**
 * @module
 * A per-tab cache of contact screens (external_userid → what the worker answered), keyed by the
 * signed-in member, so reopening a chat paints at once while the fresh answer loads (docs/wecom.md §9,
 * the slow config + agentConfig + getCurExternalContact chain). Dropped on an account switch.
 */
import type { ContactDetail } from '../api/types.ts';

const PREFIX = 'crm-sidebar:contact:';

function storage(): Storage | undefined {
  try {
    return typeof sessionStorage === 'undefined' ? undefined : sessionStorage;
  } catch {
    // Storage can be disabled by the webview's privacy settings.
    return undefined;
  }
}

export function readCachedContact(userid: string, externalUserId: string): ContactDetail | undefined {
  const raw = storage()?.getItem(`${PREFIX}${userid}:${externalUserId}`);
  if (!raw) return undefined;
  try {
    return JSON.parse(raw) as ContactDetail;
  } catch {
    return undefined;
  }
}

export function writeCachedContact(userid: string, externalUserId: string, detail: ContactDetail): void {
  try {
    storage()?.setItem(`${PREFIX}${userid}:${externalUserId}`, JSON.stringify(detail));
  } catch {
    // Quota exceeded: the cache is an optimisation only.
  }
}

export function forgetCachedContact(userid: string, externalUserId: string): void {
  storage()?.removeItem(`${PREFIX}${userid}:${externalUserId}`);
}

export function clearContactCache(): void {
  const store = storage();
  if (!store) return;
  const keys: string[] = [];
  for (let i = 0; i < store.length; i++) {
    const key = store.key(i);
    if (key?.startsWith(PREFIX)) keys.push(key);
  }
  for (const key of keys) store.removeItem(key);
}
