/**
 * @module
 * The corp tag library (`externalcontact/get_corp_tag_list`), cached in KV per corp. WeCom
 * announces library changes with `change_external_tag` (events.ts refreshes the copy), but an API
 * change made by another system announces nothing, so the copy also expires after an hour and is
 * read again whenever an id is not found in it.
 */
import type { WeComClient } from '../wecom/client.ts';
import type { CorpTagGroup } from '../wecom/replies.ts';

/** An hour bounds how long a missed event leaves the copy wrong. */
export const LIBRARY_TTL_SECONDS = 3600;

export const libraryKey = (corpId: string) => `tags:${corpId}`;

export interface LibraryTag {
  id: string;
  name: string;
}

export interface LibraryGroup {
  groupId: string;
  name: string;
  tags: LibraryTag[];
}

export interface Library {
  groups: LibraryGroup[];
  fetchedAt: number;
}

/** WeCom lists larger `order` first; deleted entries (only shown when asked by id) are left out. */
export function normaliseLibrary(groups: readonly CorpTagGroup[], now: number): Library {
  const byOrder = <T extends { order: number }>(items: readonly T[]) => [...items].sort((a, b) => b.order - a.order);
  return {
    groups: byOrder(groups.filter((g) => !g.deleted)).map((group) => ({
      groupId: group.group_id,
      name: group.group_name,
      tags: byOrder(group.tag.filter((t) => !t.deleted)).map((tag) => ({ id: tag.id, name: tag.name })),
    })),
    fetchedAt: now,
  };
}

/** The group and tag of a tag id, and its "group/tag" label for the timeline. */
export function findTag(library: Library, id: string): { group: LibraryGroup; tag: LibraryTag; label: string } | undefined {
  for (const group of library.groups) {
    const tag = group.tags.find((t) => t.id === id);
    if (tag) return { group, tag, label: `${group.name}/${tag.name}` };
  }
  return undefined;
}

export interface TagLibrary {
  get(): Promise<Library>;
  /** Reads WeCom again and replaces the copy. */
  refresh(): Promise<Library>;
}

export function createTagLibrary(deps: { kv: KVNamespace; client: WeComClient; corpId: string; now?: () => number }): TagLibrary {
  const now = deps.now ?? Date.now;
  const key = libraryKey(deps.corpId);
  async function refresh(): Promise<Library> {
    const reply = await deps.client.getCorpTagList();
    const library = normaliseLibrary(reply.tag_group ?? [], now());
    await deps.kv.put(key, JSON.stringify(library), { expirationTtl: LIBRARY_TTL_SECONDS });
    return library;
  }
  return {
    async get() {
      return (await deps.kv.get<Library>(key, 'json')) ?? refresh();
    },
    refresh,
  };
}
