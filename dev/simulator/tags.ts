/**
 * @module
 * Corp customer tags (docs/wecom.md §7.1): marking a member's customer (`mark_tag`) and managing the
 * library (`add_corp_tag`, `edit_corp_tag`, `del_corp_tag`), with WeCom's rules: only corp tags can
 * be marked, and only on a relationship that exists (84061); ids WeCom does not know are refused
 * (40068); an app edits and deletes only the tags and groups it created itself (301002). API changes
 * send no callback, as with WeCom. Also the admin console's own edits, for `/__sim/corp-tags`, which
 * do (the caller sends the `change_external_tag` callback, events.ts).
 */
import type { DemoCorpTag, DemoCorpTagGroup } from '../fixtures/demo-corp.ts';
import { fail } from './errors.ts';
import type { Rules } from './rules.ts';
import type { AccessTokenRecord, JsonObject, SimCore } from './state.ts';
import { randomString } from './util.ts';
import { ok, optInteger, optString, optStringList, readJson, type Ctx } from './wire.ts';

export type CgiPost = (path: string, handler: (c: Ctx, token: AccessTokenRecord) => Response | Promise<Response>) => void;

/** Tag and group names: WeCom's limit is 30 characters (UNCONFIRMED), counted in code points here. */
export const TAG_NAME_MAX = 30;

const newId = () => `et${randomString(30)}`;

export interface TagLibrary {
  findTag(id: string): { group: DemoCorpTagGroup; tag: DemoCorpTag } | undefined;
  /** What an admin does in the console: no app owns the result. Returns the change event's fields. */
  consoleCreate(groupName: string, name: string): { Id: string; TagType: 'tag'; ChangeType: 'create' };
  consoleDelete(id: string): { Id: string; TagType: 'tag' | 'tag_group'; ChangeType: 'delete' } | undefined;
}

export function tagLibrary(core: SimCore): TagLibrary {
  const groups = () => core.corp().corpTags;

  function findTag(id: string) {
    for (const group of groups()) {
      const tag = group.tag.find((t) => t.id === id);
      if (tag) return { group, tag };
    }
    return undefined;
  }

  /** WeCom takes deleted tags off every customer too. */
  function forgetTags(ids: Set<string>): void {
    for (const contact of core.corp().externalContacts) {
      for (const follow of contact.follow_user) follow.tags = follow.tags.filter((t) => !t.tag_id || !ids.has(t.tag_id));
    }
  }

  function removeTags(ids: Set<string>): void {
    for (const group of groups()) group.tag = group.tag.filter((t) => !ids.has(t.id));
    // A group left without tags is deleted with them (WeCom does not keep empty groups).
    core.corp().corpTags = groups().filter((g) => g.tag.length > 0);
    forgetTags(ids);
  }

  function removeGroup(group: DemoCorpTagGroup): void {
    removeTags(new Set(group.tag.map((t) => t.id)));
    core.corp().corpTags = groups().filter((g) => g !== group);
  }

  return {
    findTag,
    consoleCreate(groupName, name) {
      const at = core.now();
      let group = groups().find((g) => g.group_name === groupName);
      if (!group) {
        group = { group_id: newId(), group_name: groupName, create_time: at, order: 0, tag: [] };
        groups().push(group);
      }
      const tag: DemoCorpTag = { id: newId(), name, create_time: at, order: 0 };
      group.tag.push(tag);
      return { Id: tag.id, TagType: 'tag', ChangeType: 'create' };
    },
    consoleDelete(id) {
      const group = groups().find((g) => g.group_id === id);
      if (group) {
        removeGroup(group);
        return { Id: id, TagType: 'tag_group', ChangeType: 'delete' };
      }
      if (!findTag(id)) return undefined;
      removeTags(new Set([id]));
      return { Id: id, TagType: 'tag', ChangeType: 'delete' };
    },
  };
}

function checkName(name: unknown, what: string): string {
  if (typeof name !== 'string' || name.trim() === '') fail(40058, `${what} is empty`);
  if ([...name].length > TAG_NAME_MAX) fail(40058, `${what} is longer than ${TAG_NAME_MAX} characters`);
  return name;
}

export function registerTagApis(core: SimCore, rules: Rules, post: CgiPost): void {
  const groups = () => core.corp().corpTags;
  const library = tagLibrary(core);

  post('/externalcontact/mark_tag', async (c, token) => {
    const body = await readJson(c);
    const userid = optString(body, 'userid');
    const externalUserid = optString(body, 'external_userid');
    const add = optStringList(body, 'add_tag') ?? [];
    const remove = optStringList(body, 'remove_tag') ?? [];
    if (!userid) fail(41009);
    if (!externalUserid) fail(41035);
    if (add.length === 0 && remove.length === 0) fail(40058, 'add_tag and remove_tag are both empty');
    const member = rules.requireVisibleMember(token, userid);
    const contact = core.findContact(externalUserid);
    if (!contact) fail(40096);
    const follow = contact.follow_user.find((f) => f.userid === member.userid);
    if (!follow) fail(84061, `${member.userid} does not follow ${externalUserid}`);
    // Only corp tags have ids the library knows; personal tags and deleted tags are refused alike.
    const found = [...add, ...remove].map((id) => ({ id, hit: library.findTag(id) }));
    const unknown = found.find((f) => !f.hit);
    if (unknown) fail(40068, `tag ${unknown.id}`);

    const removing = new Set(remove);
    follow.tags = follow.tags.filter((t) => !t.tag_id || !removing.has(t.tag_id));
    for (const id of add) {
      const hit = library.findTag(id);
      if (!hit || follow.tags.some((t) => t.tag_id === id)) continue;
      follow.tags.push({ group_name: hit.group.group_name, tag_name: hit.tag.name, tag_id: id, type: 1 });
    }
    return ok(c);
  });

  post('/externalcontact/add_corp_tag', async (c, token) => {
    const body = await readJson(c);
    const groupId = optString(body, 'group_id');
    const rawTags = body.tag;
    if (!Array.isArray(rawTags) || rawTags.length === 0) fail(40058, 'tag is empty: WeCom creates no empty group');
    const names = rawTags.map((t, i) => checkName(typeof t === 'object' && t !== null && !Array.isArray(t) ? t.name : undefined, `tag[${i}].name`));
    if (new Set(names).size !== names.length) fail(40071, 'the same tag name twice');
    const at = core.now();
    let group: DemoCorpTagGroup | undefined;
    if (groupId) {
      // With group_id, group_name and the group's order are ignored.
      group = groups().find((g) => g.group_id === groupId);
      if (!group) fail(40068, `group ${groupId}`);
    } else {
      const groupName = checkName(optString(body, 'group_name'), 'group_name');
      // An existing name adds to that group.
      group = groups().find((g) => g.group_name === groupName);
      if (!group) {
        group = { group_id: newId(), group_name: groupName, create_time: at, order: optInteger(body, 'order') ?? 0, createdBy: token.agentid ?? undefined, tag: [] };
        groups().push(group);
      }
    }
    const target = group;
    const clash = names.find((name) => target.tag.some((t) => t.name === name));
    if (clash) fail(40071, `tag ${clash} already exists in ${target.group_name}`);
    const created: DemoCorpTag[] = rawTags.map((t, i) => {
      const order = typeof t === 'object' && t !== null && !Array.isArray(t) && typeof t.order === 'number' ? t.order : 0;
      const tag: DemoCorpTag = { id: newId(), name: names[i] ?? '', create_time: at, order };
      if (token.agentid !== null) tag.createdBy = token.agentid;
      return tag;
    });
    target.tag.push(...created);
    const view: JsonObject = {
      group_id: target.group_id,
      group_name: target.group_name,
      create_time: target.create_time,
      order: target.order,
      tag: created.map((t) => ({ id: t.id, name: t.name, create_time: t.create_time, order: t.order })),
    };
    return ok(c, { tag_group: view });
  });

  /** An app edits and deletes only what it created (UNCONFIRMED that WeCom's code is 301002). */
  function requireOwn(createdBy: number | undefined, token: AccessTokenRecord, id: string): void {
    if (createdBy === undefined || createdBy !== token.agentid) fail(301002, `${id} was not created by this app`);
  }

  post('/externalcontact/edit_corp_tag', async (c, token) => {
    const body = await readJson(c);
    const id = optString(body, 'id');
    if (!id) fail(40058, 'id is required');
    const name = body.name === undefined ? undefined : checkName(body.name, 'name');
    const order = optInteger(body, 'order');
    const group = groups().find((g) => g.group_id === id);
    if (group) {
      requireOwn(group.createdBy, token, id);
      if (name !== undefined && groups().some((g) => g !== group && g.group_name === name)) fail(40071, `group ${name} already exists`);
      if (name !== undefined) group.group_name = name;
      if (order !== undefined) group.order = order;
      for (const contact of core.corp().externalContacts) {
        for (const follow of contact.follow_user) for (const t of follow.tags) if (t.tag_id && group.tag.some((g) => g.id === t.tag_id)) t.group_name = group.group_name;
      }
      return ok(c);
    }
    const hit = library.findTag(id);
    if (!hit) fail(40068, `tag ${id}`);
    requireOwn(hit.tag.createdBy, token, id);
    if (name !== undefined && hit.group.tag.some((t) => t !== hit.tag && t.name === name)) fail(40071, `tag ${name} already exists in ${hit.group.group_name}`);
    if (name !== undefined) hit.tag.name = name;
    if (order !== undefined) hit.tag.order = order;
    for (const contact of core.corp().externalContacts) {
      for (const follow of contact.follow_user) for (const t of follow.tags) if (t.tag_id === id) t.tag_name = hit.tag.name;
    }
    return ok(c);
  });

  post('/externalcontact/del_corp_tag', async (c, token) => {
    const body = await readJson(c);
    const tagIds = optStringList(body, 'tag_id') ?? [];
    const groupIds = optStringList(body, 'group_id') ?? [];
    if (tagIds.length === 0 && groupIds.length === 0) fail(40058, 'tag_id and group_id are both empty');
    // Everything is checked before anything is deleted: a refused call changes nothing.
    const doomedGroups = groupIds.map((id) => {
      const group = groups().find((g) => g.group_id === id);
      if (!group) fail(40068, `group ${id}`);
      requireOwn(group.createdBy, token, id);
      return group;
    });
    for (const id of tagIds) {
      const hit = library.findTag(id);
      if (!hit) fail(40068, `tag ${id}`);
      requireOwn(hit.tag.createdBy, token, id);
    }
    for (const group of doomedGroups) library.consoleDelete(group.group_id);
    for (const id of tagIds) if (library.findTag(id)) library.consoleDelete(id);
    return ok(c);
  });
}
