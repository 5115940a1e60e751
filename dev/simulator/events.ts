/**
 * @module
 * Sending callbacks exactly as WeCom does: event XML of each supported kind, encrypted and signed
 * with the app's keys, POSTed to the worker's callback URL; an answer that is not 200 within
 * 5 seconds is retried (WeCom: "总共重试三次"), with the same request.
 */
import { eventXml, sealCallback, type SealKeys } from '../../worker/wecom/envelope.ts';
import { demoApp, demoIds } from '../fixtures/demo-corp.ts';

export const EVENT_KINDS = {
  'contact-added': { Event: 'change_external_contact', ChangeType: 'add_external_contact' },
  'contact-half-added': { Event: 'change_external_contact', ChangeType: 'add_half_external_contact' },
  'contact-edited': { Event: 'change_external_contact', ChangeType: 'edit_external_contact' },
  'contact-deleted': { Event: 'change_external_contact', ChangeType: 'del_external_contact' },
  'follow-user-deleted': { Event: 'change_external_contact', ChangeType: 'del_follow_user' },
  'user-created': { Event: 'change_contact', ChangeType: 'create_user' },
  'user-updated': { Event: 'change_contact', ChangeType: 'update_user' },
  'user-deleted': { Event: 'change_contact', ChangeType: 'delete_user' },
  'party-created': { Event: 'change_contact', ChangeType: 'create_party' },
  'party-updated': { Event: 'change_contact', ChangeType: 'update_party' },
  'party-deleted': { Event: 'change_contact', ChangeType: 'delete_party' },
  'chat-updated': { Event: 'change_external_chat', ChangeType: 'update' },
  'tag-created': { Event: 'change_external_tag', ChangeType: 'create', TagType: 'tag' },
  'tag-updated': { Event: 'change_external_tag', ChangeType: 'update', TagType: 'tag' },
  'tag-deleted': { Event: 'change_external_tag', ChangeType: 'delete', TagType: 'tag' },
  'tag-group-deleted': { Event: 'change_external_tag', ChangeType: 'delete', TagType: 'tag_group' },
  // A group's tags were reordered: Id is the group and there is no TagType (docs/wecom.md §6.3).
  'tags-shuffled': { Event: 'change_external_tag', ChangeType: 'shuffle' },
} as const;

export type EventKind = keyof typeof EVENT_KINDS;

export interface EventOptions {
  /** The member (UserID); defaults to the demo corp's first sales member. */
  user?: string;
  /** The external contact (ExternalUserID). */
  contact?: string;
  chat?: string;
  /** Department id for party events; tag or tag-group id for tag events. */
  id?: string;
  name?: string;
  createTime?: number;
}

export function buildEventXml(kind: EventKind, corpId: string, options: EventOptions = {}): string {
  const spec = EVENT_KINDS[kind];
  const fields: Record<string, string | number> = {
    ToUserName: corpId,
    FromUserName: 'sys',
    CreateTime: options.createTime ?? Math.floor(Date.now() / 1000),
    MsgType: 'event',
    Event: spec.Event,
    ChangeType: spec.ChangeType,
  };
  const user = options.user ?? demoIds.sales[0];
  if (spec.Event === 'change_external_contact') {
    fields.UserID = user;
    fields.ExternalUserID = options.contact ?? demoIds.externalUserIds.withoutUnionid;
    if (spec.ChangeType.startsWith('add_')) fields.State = 'sim';
  } else if (spec.Event === 'change_contact' && spec.ChangeType.endsWith('_user')) {
    fields.UserID = user;
    if (options.name) fields.Name = options.name;
  } else if (spec.Event === 'change_contact') {
    fields.Id = Number(options.id ?? 77);
    if (options.name) fields.Name = options.name;
    if (spec.ChangeType === 'create_party') fields.ParentId = demoIds.departments.salesCenter;
  } else if (spec.Event === 'change_external_chat') {
    fields.ChatId = options.chat ?? demoIds.chatId;
    fields.UpdateDetail = 'add_member';
    fields.JoinScene = 0;
  } else {
    fields.Id = options.id ?? (spec.ChangeType === 'shuffle' ? 'etDemoGroupLevel0000000000000001' : 'etDemoTagLevelA00000000000000001');
    if ('TagType' in spec) fields.TagType = spec.TagType;
  }
  return eventXml(fields);
}

export interface Delivery {
  attempts: Array<{ status: number | null; ms: number; error?: string }>;
  accepted: boolean;
}

export interface SendOptions {
  /** The worker's origin, e.g. http://127.0.0.1:8787. */
  target: string;
  keys?: SealKeys;
  /** WeCom gives up on an answer after 5 s and sends again. */
  timeoutMs?: number;
  retries?: number;
  retryDelayMs?: number;
}

export const demoKeys: SealKeys = {
  corpId: demoIds.corpId,
  agentId: String(demoIds.agentId),
  callbackToken: demoApp.callbackToken,
  encodingAESKey: demoApp.encodingAESKey,
};

export async function sendCallback(message: string, options: SendOptions): Promise<Delivery> {
  const keys = options.keys ?? demoKeys;
  const sealed = await sealCallback(keys, message, String(Math.floor(Date.now() / 1000)), Math.random().toString().slice(2, 12));
  const url = `${options.target.replace(/\/$/, '')}/wecom/callback/${keys.corpId}/${keys.agentId}?${sealed.query}`;
  const delivery: Delivery = { attempts: [], accepted: false };
  const retries = options.retries ?? 3;
  for (let attempt = 0; attempt <= retries && !delivery.accepted; attempt++) {
    if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, options.retryDelayMs ?? 1000));
    const started = Date.now();
    try {
      const response = await fetch(url, {
        method: 'POST',
        headers: { 'content-type': 'text/xml' },
        body: sealed.body,
        signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
      });
      await response.arrayBuffer();
      delivery.attempts.push({ status: response.status, ms: Date.now() - started });
      delivery.accepted = response.status === 200;
    } catch (error) {
      delivery.attempts.push({ status: null, ms: Date.now() - started, error: error instanceof Error ? error.message : String(error) });
    }
  }
  return delivery;
}

export function sendEvent(kind: EventKind, options: SendOptions & EventOptions): Promise<Delivery> {
  return sendCallback(buildEventXml(kind, (options.keys ?? demoKeys).corpId, options), options);
}
