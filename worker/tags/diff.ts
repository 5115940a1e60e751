/**
 * @module
 * What changed on one member's relationship with a customer, as timeline facts: the remark,
 * description and remark mobiles (`changes`), and tags as "group/tag" labels. Pure.
 */
import type { RecordedDetail } from '../crm/port.ts';
import type { FieldChange, ProfileFollowUser } from '../wire.ts';
import { findTag, type Library } from './library.ts';

const sameList = (a: readonly string[], b: readonly string[]) => a.length === b.length && a.every((value, i) => value === b[i]);

export function remarkChanges(before: ProfileFollowUser, after: ProfileFollowUser): FieldChange[] {
  const changes: FieldChange[] = [];
  if (before.remark !== after.remark) changes.push({ field: 'remark', from: before.remark, to: after.remark });
  if (before.description !== after.description) changes.push({ field: 'description', from: before.description, to: after.description });
  if (!sameList(before.remarkMobiles, after.remarkMobiles)) changes.push({ field: 'remarkMobiles', from: before.remarkMobiles, to: after.remarkMobiles });
  if (before.remarkCorpName !== after.remarkCorpName) changes.push({ field: 'remarkCompany', from: before.remarkCorpName, to: after.remarkCorpName });
  return changes;
}

/** Tag ids gone and come, labelled from the library (an id it no longer knows stays an id). */
export function tagLabels(before: ReadonlySet<string>, after: ReadonlySet<string>, library: Library): { added: string[]; removed: string[] } {
  const label = (id: string) => findTag(library, id)?.label ?? id;
  return {
    added: [...after].filter((id) => !before.has(id)).map(label),
    removed: [...before].filter((id) => !after.has(id)).map(label),
  };
}

/**
 * An edit WeCom announced, told from the profile read before it and the one after: empty when
 * the earlier profile is unknown (then only the fact of an edit can be recorded).
 */
export function followEdit(before: ProfileFollowUser | undefined, after: ProfileFollowUser | undefined): RecordedDetail {
  if (!before || !after) return {};
  const labels = (follow: ProfileFollowUser) => new Set(follow.tags.map((tag) => `${tag.group}/${tag.name}`));
  const was = labels(before);
  const is = labels(after);
  const detail: RecordedDetail = {};
  const changes = remarkChanges(before, after);
  if (changes.length > 0) detail.changes = changes;
  const added = [...is].filter((label) => !was.has(label));
  const removed = [...was].filter((label) => !is.has(label));
  if (added.length > 0) detail.tagsAdded = added;
  if (removed.length > 0) detail.tagsRemoved = removed;
  return detail;
}
