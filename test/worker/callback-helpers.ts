/**
 * @module
 * Building callbacks the way WeCom sends them, for the demo app the worker tests run with.
 */
import { env } from 'cloudflare:test';
import { exports } from 'cloudflare:workers';
import { eventXml, sealCallback, type SealKeys } from '../../worker/wecom/envelope.ts';

export const demoKeys: SealKeys = {
  corpId: env.WECOM_CORP_ID!,
  agentId: env.WECOM_AGENT_ID!,
  callbackToken: env.WECOM_CALLBACK_TOKEN!,
  encodingAESKey: env.WECOM_ENCODING_AES_KEY!,
};

export const callbackPath = `/wecom/callback/${demoKeys.corpId}/${demoKeys.agentId}`;

let nonceCounter = 0;
export function nextNonce(): string {
  nonceCounter += 1;
  return `n${Date.now().toString(36)}${nonceCounter}`;
}

export function contactEventXml(fields: { changeType: string; userId: string; externalUserId: string; createTime: number; extra?: Record<string, string> }): string {
  return eventXml({
    ToUserName: demoKeys.corpId,
    FromUserName: 'sys',
    CreateTime: fields.createTime,
    MsgType: 'event',
    Event: 'change_external_contact',
    ChangeType: fields.changeType,
    UserID: fields.userId,
    ExternalUserID: fields.externalUserId,
    ...fields.extra,
  });
}

/** Now in Unix seconds, plus `offsetSeconds`: callbacks are only accepted near the current time. */
export function unixNow(offsetSeconds = 0): string {
  return String(Math.floor(Date.now() / 1000) + offsetSeconds);
}

export async function postCallback(message: string, keys: SealKeys = demoKeys, timestamp = unixNow()): Promise<Response> {
  const sealed = await sealCallback(keys, message, timestamp, nextNonce());
  return exports.default.fetch(`http://sidebar.test${callbackPath}?${sealed.query}`, {
    method: 'POST',
    headers: { 'content-type': 'text/xml' },
    body: sealed.body,
  });
}

export interface EventRowView {
  id: number;
  dedupe_key: string;
  kind: string;
  change_type: string | null;
  status: string;
  duplicates: number;
  attempts: number;
  last_error: string | null;
  payload: string;
}

export async function eventsWithKeyContaining(fragment: string): Promise<EventRowView[]> {
  const { results } = await env.DB.prepare('SELECT * FROM events WHERE dedupe_key LIKE ?1 ORDER BY id').bind(`%${fragment}%`).all<EventRowView>();
  return results;
}

export async function waitFor<T>(probe: () => Promise<T | undefined>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
