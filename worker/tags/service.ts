/**
 * @module
 * The member's own relationship with a customer, written through to WeCom: corp tags
 * (`mark_tag`) and the remark, description and remark mobiles (`externalcontact/remark`), then the
 * CRM fields mapped to tag groups (mappings.ts) and the timeline. WeCom first: a refusal changes
 * nothing here and says why; after WeCom accepted, the profile is read again (API edits send no
 * callback) so the cache, the follows and the timeline record what WeCom now shows.
 * Also the admin's side: the tag library and the group → field mappings.
 */
import { AppError } from '../errors.ts';
import { actorOf, type User } from '../identity/users.ts';
import { log } from '../log.ts';
import type { Scope } from '../contacts/access.ts';
import type { ContactProfile, ProfileCache } from '../contacts/profile.ts';
import type { ContactsService } from '../contacts/service.ts';
import type { ContactStore } from '../contacts/store.ts';
import type { WeComClient } from '../wecom/client.ts';
import { WeComError } from '../wecom/errors.ts';
import type { RemarkRequest } from '../wecom/replies.ts';
import type { AdminTags, ContactTags, CorpTagGroupView, FieldChange, NewCorpTags, ProfileFollowUser, RemarkChanged, RemarkEdit, TagMapping, TagsChange, TagsChanged } from '../wire.ts';
import { remarkChanges, tagLabels } from './diff.ts';
import { findTag, type Library, type TagLibrary } from './library.ts';
import type { MappedSync, PendingWrites, TagMappings } from './mappings.ts';

export interface TagsDeps {
  corpId: string;
  client: WeComClient;
  contacts: ContactsService;
  store: ContactStore;
  cache: ProfileCache;
  library: TagLibrary;
  mappings: TagMappings;
  pending: PendingWrites;
  sync: MappedSync;
  now?: () => number;
}

/**
 * WeCom's refusals of a relationship or library write, as answers that say what to do. Codes not
 * about the input (48002, 84074, 60020 …) keep the WeCom error: its hint names the console step.
 */
export function tagWriteError(error: unknown): unknown {
  if (!(error instanceof WeComError)) return error;
  const extra = { errcode: error.errcode, hint: error.hint };
  switch (error.errcode) {
    case 84061:
      return new AppError(409, 'relationship_ended', 'WeCom says this customer is no longer your external contact (one of you deleted the other). Nothing was changed.', extra);
    case 40068:
      return new AppError(409, 'tag_not_found', 'A tag you chose no longer exists in WeCom (deleted in the admin console or by another app). The tag list was reloaded; nothing was changed.', extra);
    case 40058:
      return new AppError(400, 'invalid_value', `WeCom refused a value (too long, or empty where something is required). Nothing was changed.`, extra);
    case 40071:
      return new AppError(409, 'tag_name_taken', 'That name is already used in the group (or by another group). Choose another name.', extra);
    case 301002:
      return new AppError(403, 'tag_not_editable', 'WeCom lets this app edit or delete only the tags it created. This one was made in the admin console or by another app: change it there (客户与上下游 → 客户联系 → 客户标签).', extra);
    default:
      return error;
  }
}

async function wecomWrite<T>(write: () => Promise<T>): Promise<T> {
  try {
    return await write();
  } catch (error) {
    throw tagWriteError(error);
  }
}

export function groupViews(library: Library, mappings: readonly TagMapping[]): CorpTagGroupView[] {
  return library.groups.map((group) => ({
    groupId: group.groupId,
    name: group.name,
    tags: group.tags,
    field: mappings.find((m) => m.groupId === group.groupId)?.field ?? null,
  }));
}

const corpTagIds = (follow: ProfileFollowUser | undefined) => (follow?.tags ?? []).flatMap((tag) => (tag.id && tag.type !== 2 ? [tag.id] : []));

export function createTagsService(deps: TagsDeps) {
  const now = deps.now ?? Date.now;
  const { corpId, client, contacts, store } = deps;

  /**
   * A write on the member's relationship: when WeCom answers that it no longer exists (84061), the
   * follow is recorded as ended and the cached profile dropped, so the sidebar stops offering edits.
   */
  async function relationshipWrite<T>(externalUserId: string, userid: string, write: () => Promise<T>): Promise<T> {
    try {
      return await write();
    } catch (error) {
      if (error instanceof WeComError && error.errcode === 84061) {
        await store.followEnded(corpId, externalUserId, userid, now(), now());
        await deps.cache.drop(corpId, externalUserId);
      }
      throw tagWriteError(error);
    }
  }

  /** The reader's own relationship: tags and remarks belong to it, so another member's is refused. */
  function ownFollow(loaded: ContactProfile, user: User): ProfileFollowUser {
    const follow = loaded.followUsers.find((f) => f.userid === user.wecomUserId);
    if (!follow) {
      throw new AppError(403, 'not_following', "Tags and remarks belong to each member's own relationship with a customer, and you do not follow this one: ask a member who does.");
    }
    return follow;
  }

  /** The profile as WeCom shows it after a write; if it cannot be read, the cache is dropped and `fallback` stands in. */
  async function reread(externalUserId: string, fallback: () => Promise<ContactProfile>): Promise<ContactProfile> {
    try {
      return await contacts.profile(externalUserId, { fresh: true });
    } catch (error) {
      log('warn', 'tags.reread_failed', { corpId, message: error instanceof Error ? error.message : String(error) });
      await deps.cache.drop(corpId, externalUserId);
      return fallback();
    }
  }

  async function view(loaded: ContactProfile, user: User, scope: Scope): Promise<ContactTags> {
    const [library, mappings, follows] = await Promise.all([deps.library.get(), deps.mappings.list(corpId), store.follows(corpId, loaded.contact.externalUserId)]);
    const mine = loaded.followUsers.find((f) => f.userid === user.wecomUserId);
    const ended = follows.some((f) => f.userid === user.wecomUserId && f.state === 'ended');
    return {
      groups: groupViews(library, mappings),
      selected: corpTagIds(mine),
      personal: (mine?.tags ?? []).filter((tag) => tag.type === 2),
      canEdit: scope.canWrite && mine !== undefined && !ended,
    };
  }

  /** Every id must be a corp tag of the library (read again once if one is missing): personal and deleted tags cannot be set. */
  async function requireCorpTags(ids: readonly string[]): Promise<Library> {
    let library = await deps.library.get();
    if (ids.some((id) => !findTag(library, id))) library = await deps.library.refresh();
    const unknown = ids.filter((id) => !findTag(library, id));
    if (unknown.length > 0) {
      throw new AppError(400, 'not_a_corp_tag', `Only the company's corp tags can be set here; ${unknown.join(', ')} is not one (a personal tag, or deleted). Nothing was changed.`, { tags: unknown });
    }
    return library;
  }

  return {
    async contactTags(externalUserId: string, user: User, scope: Scope): Promise<ContactTags> {
      return view(await contacts.requireContact(externalUserId, scope, false), user, scope);
    },

    async mark(externalUserId: string, change: TagsChange, user: User, scope: Scope, key: string): Promise<TagsChanged> {
      const loaded = await contacts.requireContact(externalUserId, scope, true);
      const userid = ownFollow(loaded, user).userid;
      const library = await requireCorpTags([...change.add, ...change.remove]);
      const before = new Set(corpTagIds(ownFollow(loaded, user)));
      const add = change.add.filter((id) => !before.has(id));
      const remove = change.remove.filter((id) => before.has(id));
      if (add.length > 0 || remove.length > 0) {
        try {
          await relationshipWrite(externalUserId, userid, () => client.markTag({ userid, external_userid: externalUserId, ...(add.length ? { add_tag: add } : {}), ...(remove.length ? { remove_tag: remove } : {}) }));
        } catch (error) {
          // A tag deleted meanwhile: the next look at the library must not offer it again.
          if (error instanceof AppError && error.code === 'tag_not_found') await deps.library.refresh().catch(() => undefined);
          throw error;
        }
      }
      const after = await reread(externalUserId, async () => {
        const ids = [...before, ...add].filter((id) => !remove.includes(id));
        await store.followTags(corpId, externalUserId, userid, ids);
        const tags = ids.map((id) => findTag(library, id)).flatMap((hit) => (hit ? [{ group: hit.group.name, name: hit.tag.name, type: 1, id: hit.tag.id }] : []));
        return { ...loaded, followUsers: loaded.followUsers.map((f) => (f.userid === userid ? { ...f, tags: [...f.tags.filter((t) => t.type === 2), ...tags] } : f)) };
      });
      const labels = tagLabels(before, new Set(corpTagIds(after.followUsers.find((f) => f.userid === userid))), library);
      const actor = actorOf(user);
      if (labels.added.length > 0 || labels.removed.length > 0) {
        const binding = await store.binding(corpId, externalUserId);
        await store.addTouchpoint(corpId, {
          externalUserId,
          customerId: binding?.customerId ?? null,
          kind: 'tags_changed',
          at: now(),
          actorUserid: actor,
          detail: { tagsAdded: labels.added, tagsRemoved: labels.removed },
          sourceKey: `tags:${key}`,
        });
      }
      const crm = await deps.sync.syncContact(externalUserId, actor);
      return { ...(await view(after, user, scope)), crm };
    },

    async remark(externalUserId: string, edit: RemarkEdit, user: User, scope: Scope, key: string): Promise<RemarkChanged> {
      const loaded = await contacts.requireContact(externalUserId, scope, true);
      const before = ownFollow(loaded, user);
      const wanted: ProfileFollowUser = {
        ...before,
        remark: edit.remark ?? before.remark,
        description: edit.description ?? before.description,
        remarkMobiles: edit.remarkMobiles ?? before.remarkMobiles,
      };
      if (remarkChanges(before, wanted).length === 0) return { followUser: before, changes: [] };
      const request: RemarkRequest = { userid: before.userid, external_userid: externalUserId };
      if (wanted.remark !== before.remark) request.remark = wanted.remark;
      if (wanted.description !== before.description) request.description = wanted.description;
      // The list replaces WeCom's whole list; [""] is how WeCom clears it.
      if (remarkChanges(before, wanted).some((c) => c.field === 'remarkMobiles')) request.remark_mobiles = wanted.remarkMobiles.length > 0 ? wanted.remarkMobiles : [''];
      await relationshipWrite(externalUserId, before.userid, () => client.remarkExternalContact(request));
      const after = await reread(externalUserId, async () => ({ ...loaded, followUsers: loaded.followUsers.map((f) => (f.userid === before.userid ? wanted : f)) }));
      const followUser = after.followUsers.find((f) => f.userid === before.userid) ?? wanted;
      const changes: FieldChange[] = remarkChanges(before, followUser);
      if (changes.length > 0) {
        const binding = await store.binding(corpId, externalUserId);
        await store.addTouchpoint(corpId, {
          externalUserId,
          customerId: binding?.customerId ?? null,
          kind: 'remark_changed',
          at: now(),
          actorUserid: actorOf(user),
          detail: { changes },
          sourceKey: `remark:${key}`,
        });
      }
      return { followUser, changes };
    },

    async adminView(): Promise<AdminTags> {
      const [library, mappings, pending] = await Promise.all([deps.library.get(), deps.mappings.list(corpId), deps.pending.list(corpId)]);
      return { groups: groupViews(library, mappings), mappings, pending };
    },

    async addTags(input: NewCorpTags): Promise<AdminTags> {
      const tag = input.tags.map((name) => ({ name }));
      await wecomWrite(() => client.addCorpTag(input.groupId ? { group_id: input.groupId, tag } : { group_name: input.groupName ?? '', tag }));
      await deps.library.refresh();
      return this.adminView();
    },

    async renameTag(id: string, name: string): Promise<AdminTags> {
      await wecomWrite(() => client.editCorpTag({ id, name }));
      await deps.library.refresh();
      return this.adminView();
    },

    async deleteTag(id: string): Promise<AdminTags> {
      const library = await deps.library.get();
      const isGroup = library.groups.some((g) => g.groupId === id);
      await wecomWrite(() => client.delCorpTag(isGroup ? { group_id: [id] } : { tag_id: [id] }));
      await deps.library.refresh();
      return this.adminView();
    },

    /** Groups must exist and fields be distinct; existing customers follow at their next edit, event or reconciliation. */
    async setMappings(requested: ReadonlyArray<{ groupId: string; field: string }>, user: User): Promise<AdminTags> {
      const library = await deps.library.refresh();
      const fields = new Set<string>();
      const mappings: TagMapping[] = requested.map(({ groupId, field }) => {
        const group = library.groups.find((g) => g.groupId === groupId);
        if (!group) throw new AppError(400, 'bad_request', `No tag group ${groupId} in WeCom's tag library`);
        if (fields.has(field)) throw new AppError(400, 'bad_request', `The field ${field} is mapped twice`);
        fields.add(field);
        return { groupId, groupName: group.name, field };
      });
      await deps.mappings.replace(corpId, mappings, actorOf(user), now());
      return this.adminView();
    },

    async retryPending(user: User): Promise<AdminTags & { applied: number; waiting: number }> {
      const result = await deps.sync.retryPending(actorOf(user));
      return { ...(await this.adminView()), applied: result.applied, waiting: result.pending };
    },
  };
}

export type TagsService = ReturnType<typeof createTagsService>;
