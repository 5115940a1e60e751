/**
 * @module
 * What the pretend WeCom client is showing: which entry opened the sidebar, and which contact or
 * customer group. It comes from the URL query, as if WeCom had opened the page from that chat
 * (`?entry=single_chat_tools&contact=<external_userid>`, `?entry=group_chat_tools&chat=<chat_id>`).
 */
import { demoCorp, demoIds } from '../../../test/fixtures/demo-corp.ts';

export const ENTRIES = ['single_chat_tools', 'contact_profile', 'group_chat_tools', 'normal'] as const;

export interface Scene {
  entry: string;
  contact: string;
  chat: string;
  /** `none`: the member or app lacks 客户联系, so the contact APIs answer `no permission`. */
  permission: 'granted' | 'none';
}

export function readScene(search: string): Scene {
  const query = new URLSearchParams(search);
  const chat = query.get('chat');
  return {
    entry: query.get('entry') ?? (chat ? 'group_chat_tools' : 'single_chat_tools'),
    contact: query.get('contact') ?? demoIds.externalUserIds.followedByTwo,
    chat: chat ?? demoIds.chatId,
    permission: query.get('perm') === 'none' ? 'none' : 'granted',
  };
}

/** The page URL for another scene; other query parameters stay as they are. */
export function sceneUrl(href: string, scene: Scene): string {
  const url = new URL(href);
  url.searchParams.set('entry', scene.entry);
  if (scene.entry === 'group_chat_tools') {
    url.searchParams.set('chat', scene.chat);
    url.searchParams.delete('contact');
  } else {
    url.searchParams.set('contact', scene.contact);
    url.searchParams.delete('chat');
  }
  if (scene.permission === 'none') url.searchParams.set('perm', 'none');
  else url.searchParams.delete('perm');
  url.hash = '#/';
  return url.toString();
}

export interface Choice {
  id: string;
  label: string;
  /** Why a test would pick it: a contact only in the group, or an id WeCom never issued. */
  note?: 'groupOnly' | 'unknown';
}

/** The demo corp's contacts, including ones that test refusals, for the toolbar. */
export function contactChoices(): Choice[] {
  const choices: Choice[] = demoCorp.externalContacts.map((entry) => ({ id: entry.external_contact.external_userid, label: entry.external_contact.name }));
  const guest = demoCorp.groupChats.flatMap((chat) => chat.member_list).find((member) => member.userid === demoIds.externalUserIds.groupGuest);
  if (guest) choices.push({ id: guest.userid, label: guest.name, note: 'groupOnly' });
  choices.push({ id: demoIds.unknownExternalUserId, label: demoIds.unknownExternalUserId.slice(0, 16), note: 'unknown' });
  return choices;
}

export function chatChoices(): Choice[] {
  return demoCorp.groupChats.map((chat) => ({ id: chat.chat_id, label: chat.name }));
}
