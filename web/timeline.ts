/**
 * @module
 * What a timeline item says, in the reader's language: the worker sends facts (wire.ts
 * `TimelineDetail`), this turns them into lines. Codes and fields this SPA does not know yet (a
 * newer worker or a company CRM's own fields) show as sent rather than disappear.
 */
import { isOneOf, personName, STAGES, TIMELINE_KINDS, type FieldChange, type FieldValue, type TimelineItem } from './api/types.ts';
import { locale, t, type MessageKey } from './i18n/index.ts';
import { messages } from './i18n/messages.ts';

function known(key: string): key is MessageKey {
  return key in messages[locale.value];
}

function list(values: readonly string[]): string {
  return values.join(locale.value === 'en' ? ', ' : '、');
}

export function kindLabel(kind: string): string {
  return isOneOf(TIMELINE_KINDS, kind) ? t(`timeline.kind.${kind}`) : kind;
}

function fieldLabel(field: string): string {
  const custom = /^customFields\.(.+)$/.exec(field);
  if (custom?.[1]) return custom[1];
  for (const key of [`customer.field.${field}`, `timeline.field.${field}`]) if (known(key)) return t(key);
  return field;
}

function valueText(field: string, value: FieldValue | undefined): string {
  if (value === null || value === undefined || value === '' || (Array.isArray(value) && value.length === 0)) return t('timeline.noValue');
  if (Array.isArray(value)) return list(value);
  if (field === 'stage' && isOneOf(STAGES, value)) return t(`stage.${value}`);
  return value;
}

function changeLine(change: FieldChange): string {
  const field = fieldLabel(change.field);
  const to = valueText(change.field, change.to);
  return change.from === undefined ? t('timeline.changeTo', { field, to }) : t('timeline.change', { field, from: valueText(change.field, change.from), to });
}

/** The item's lines under its kind, in a fixed order: what it is about, why, what changed, words, who was told. */
export function detailLines(item: TimelineItem): string[] {
  const { name, reason, state, changes, tagsAdded, tagsRemoved, text, members } = item.detail;
  const lines: string[] = [];
  if (name) lines.push(t('timeline.name', { name }));
  if (reason) lines.push(known(`timeline.reason.${reason}`) ? t(`timeline.reason.${reason}` as MessageKey) : reason);
  if (state) lines.push(t('timeline.state', { state }));
  for (const change of changes ?? []) lines.push(changeLine(change));
  if (tagsAdded?.length) lines.push(t('timeline.tagsAdded', { tags: list(tagsAdded) }));
  if (tagsRemoved?.length) lines.push(t('timeline.tagsRemoved', { tags: list(tagsRemoved) }));
  if (text) lines.push(text);
  if (members?.length) lines.push(t('timeline.members', { names: list(members.map(personName)) }));
  return lines;
}
