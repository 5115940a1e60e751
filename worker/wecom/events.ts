/**
 * @module
 * Typed events from a decrypted callback message (docs/wecom.md §6), the dedupe key that makes
 * WeCom's retries idempotent (docs/wecom.md §5.3), and a short label for logs and the event table.
 * Anything not recognised comes back as `kind: 'unknown'` with its fields, never dropped.
 */
import { findChild, type XmlElement } from './xml.ts';

export type WeComEvent =
  | {
      kind: 'change_external_contact';
      changeType: string;
      corpId: string;
      createTime: number;
      userId: string;
      externalUserId: string;
      state?: string;
      welcomeCode?: string;
      source?: string;
      failReason?: string;
    }
  | {
      kind: 'change_external_chat';
      changeType: string;
      corpId: string;
      createTime: number;
      chatId: string;
      updateDetail?: string;
      joinScene?: number;
      quitScene?: number;
      memChangeCnt?: number;
      memChangeList: string[];
    }
  | { kind: 'change_external_tag'; changeType: string; corpId: string; createTime: number; id: string; tagType?: string; strategyId?: string }
  | {
      kind: 'change_contact';
      changeType: string;
      corpId: string;
      createTime: number;
      userId?: string;
      newUserId?: string;
      name?: string;
      departments?: number[];
      mainDepartment?: number;
      mobile?: string;
      position?: string;
      status?: number;
      partyId?: number;
      parentId?: number;
      order?: number;
      tagId?: number;
    }
  | {
      kind: 'unknown';
      corpId: string;
      createTime: number;
      msgType: string;
      event?: string;
      changeType?: string;
      msgId?: string;
      fields: Record<string, string>;
    };

export type EventResult = { ok: true; event: WeComEvent } | { ok: false; reason: string };

// Inside this module a missing required field throws; toEvent turns it into ok:false.
class EventRefusal extends Error {}

function refuse(reason: string): never {
  throw new EventRefusal(reason);
}

/**
 * Top-level leaf elements by name; the first occurrence wins. Elements with children
 * (MemChangeList, ExtAttr) are left to the kind that understands them.
 */
function leafFields(root: XmlElement): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const child of root.children) {
    if (child.children.length === 0 && !Object.hasOwn(fields, child.name)) fields[child.name] = child.text;
  }
  return fields;
}

class Fields {
  readonly values: Record<string, string>;

  constructor(values: Record<string, string>) {
    this.values = values;
  }

  /** Present and non-empty after trimming; identifiers never carry meaningful surrounding space. */
  required(name: string): string {
    const value = this.optional(name);
    if (value === undefined) refuse(`${name} is required`);
    return value;
  }

  /** Empty counts as absent: WeCom sends `<Source><![CDATA[]]></Source>` for "no source". */
  optional(name: string): string | undefined {
    const value = Object.hasOwn(this.values, name) ? this.values[name]?.trim() : undefined;
    return value === undefined || value === '' ? undefined : value;
  }

  integer(name: string): number | undefined {
    const value = this.optional(name);
    return value === undefined ? undefined : parseInteger(value, name);
  }

  integerList(name: string): number[] | undefined {
    const value = this.optional(name);
    return value === undefined ? undefined : value.split(',').map((part) => parseInteger(part.trim(), name));
  }
}

function parseInteger(text: string, name: string): number {
  // Anchored and free of nested quantifiers, so it cannot backtrack.
  if (!/^-?[0-9]{1,15}$/.test(text)) refuse(`${name} must be an integer`);
  return Number(text);
}

/** Copies only the optional values that are present, so events compare and serialise cleanly. */
function present<T extends Record<string, unknown>>(values: T): Partial<T> {
  const out: Partial<T> = {};
  for (const key of Object.keys(values) as Array<keyof T>) if (values[key] !== undefined) out[key] = values[key];
  return out;
}

export function toEvent(root: XmlElement): EventResult {
  try {
    return { ok: true, event: readEvent(root) };
  } catch (error) {
    if (error instanceof EventRefusal) return { ok: false, reason: error.message };
    throw error;
  }
}

function readEvent(root: XmlElement): WeComEvent {
  if (root.name !== 'xml') refuse('root element must be <xml>');
  const raw = leafFields(root);
  const fields = new Fields(raw);
  const corpId = fields.required('ToUserName');
  const createTime = fields.integer('CreateTime');
  if (createTime === undefined) refuse('CreateTime is required');
  if (createTime < 0) refuse('CreateTime must not be negative');
  const msgType = fields.required('MsgType');
  const event = msgType === 'event' ? fields.optional('Event') : undefined;

  switch (event) {
    case 'change_external_contact':
      return {
        kind: 'change_external_contact',
        changeType: fields.required('ChangeType'),
        corpId,
        createTime,
        userId: fields.required('UserID'),
        externalUserId: fields.required('ExternalUserID'),
        ...present({
          state: fields.optional('State'),
          welcomeCode: fields.optional('WelcomeCode'),
          source: fields.optional('Source'),
          failReason: fields.optional('FailReason'),
        }),
      };
    case 'change_external_chat':
      return {
        kind: 'change_external_chat',
        changeType: fields.required('ChangeType'),
        corpId,
        createTime,
        chatId: fields.required('ChatId'),
        ...present({
          updateDetail: fields.optional('UpdateDetail'),
          joinScene: fields.integer('JoinScene'),
          quitScene: fields.integer('QuitScene'),
          memChangeCnt: fields.integer('MemChangeCnt'),
        }),
        memChangeList: itemTexts(root, 'MemChangeList'),
      };
    case 'change_external_tag':
      return {
        kind: 'change_external_tag',
        changeType: fields.required('ChangeType'),
        corpId,
        createTime,
        id: fields.required('Id'),
        ...present({ tagType: fields.optional('TagType'), strategyId: fields.optional('StrategyId') }),
      };
    case 'change_contact':
      return readContactEvent(fields, corpId, createTime);
    default:
      return {
        kind: 'unknown',
        corpId,
        createTime,
        msgType,
        ...present({ event: fields.optional('Event'), changeType: fields.optional('ChangeType'), msgId: fields.optional('MsgId') }),
        fields: raw,
      };
  }
}

// Which field identifies the subject of each directory change; other change types pass unchecked.
const CONTACT_SUBJECT: Readonly<Record<string, string>> = {
  create_user: 'UserID',
  update_user: 'UserID',
  delete_user: 'UserID',
  create_party: 'Id',
  update_party: 'Id',
  delete_party: 'Id',
  update_tag: 'TagId',
};

function readContactEvent(fields: Fields, corpId: string, createTime: number): WeComEvent {
  const changeType = fields.required('ChangeType');
  const subject = Object.hasOwn(CONTACT_SUBJECT, changeType) ? CONTACT_SUBJECT[changeType] : undefined;
  if (subject !== undefined) fields.required(subject);
  return {
    kind: 'change_contact',
    changeType,
    corpId,
    createTime,
    ...present({
      userId: fields.optional('UserID'),
      newUserId: fields.optional('NewUserID'),
      name: fields.optional('Name'),
      departments: fields.integerList('Department'),
      mainDepartment: fields.integer('MainDepartment'),
      mobile: fields.optional('Mobile'),
      position: fields.optional('Position'),
      status: fields.integer('Status'),
      partyId: fields.integer('Id'),
      parentId: fields.integer('ParentId'),
      order: fields.integer('Order'),
      tagId: fields.integer('TagId'),
    }),
  };
}

function itemTexts(root: XmlElement, listName: string): string[] {
  const list = findChild(root, listName);
  if (!list) return [];
  return list.children.filter((item) => item.name === 'Item').map((item) => item.text.trim());
}

/**
 * The key docs/wecom.md §5.3 recommends, `Event|ChangeType|UserID|ExternalUserID|ChatId|Id|CreateTime`
 * (FromUserName is always `sys` for CRM events, so the documented FromUserName+CreateTime is
 * too weak), plus what it misses: two group joins, or two directory edits, in the same second
 * differ only in MemChangeList/UpdateDetail or the changed fields, and must not swallow each other.
 * Plain messages use MsgId. The table scopes keys per corp and agent, so corpId is not in it.
 */
export function dedupeKey(event: WeComEvent): string {
  switch (event.kind) {
    case 'change_external_contact':
      return joinKey([event.kind, event.changeType, event.userId, event.externalUserId, '', '', event.createTime]);
    case 'change_external_chat':
      return joinKey([
        event.kind,
        event.changeType,
        '',
        '',
        event.chatId,
        '',
        event.createTime,
        event.updateDetail ?? '',
        event.memChangeList.join(','),
      ]);
    case 'change_external_tag':
      return joinKey([event.kind, event.changeType, '', '', '', event.id, event.createTime, event.tagType ?? '', event.strategyId ?? '']);
    case 'change_contact': {
      // update_user carries only what changed, so two edits of one member in one second
      // differ only there; every field takes part.
      const { kind, changeType, corpId, createTime, userId, partyId, ...detail } = event;
      return joinKey([kind, changeType, userId ?? '', '', '', partyId ?? '', createTime, ...namedValues(detail)]);
    }
    case 'unknown': {
      if (event.msgId !== undefined) return joinKey(['msg', event.msgType, event.msgId]);
      // Without knowing which fields tell two such events apart, all of them do.
      return joinKey([event.event ?? event.msgType, event.changeType ?? '', event.createTime, ...namedValues(event.fields)]);
    }
  }
}

function namedValues(values: Record<string, string | number | number[] | undefined>): string[] {
  return Object.keys(values)
    .sort()
    .map((name) => {
      const value = values[name];
      return `${name}=${Array.isArray(value) ? value.join(',') : (value ?? '')}`;
    });
}

// Escaped so that a '|' inside a value cannot make two different events share a key. Values
// rarely hold either character, so each is looked for before paying for two replaceAll calls.
function joinKey(parts: Array<string | number>): string {
  let key = '';
  for (let i = 0; i < parts.length; i++) {
    const text = String(parts[i]);
    const escaped = text.includes('|') || text.includes('\\') ? text.replaceAll('\\', '\\\\').replaceAll('|', '\\|') : text;
    key += i === 0 ? escaped : `|${escaped}`;
  }
  return key;
}

/** For logs and the event table: unknown events keep their raw Event (or MsgType) so they can be told apart. */
export function eventLabel(event: WeComEvent): { kind: string; changeType: string | null } {
  if (event.kind === 'unknown') return { kind: `unknown:${event.event ?? event.msgType}`, changeType: event.changeType ?? null };
  return { kind: event.kind, changeType: event.changeType };
}
