/**
 * @module
 * The callback check: when WeCom last verified the callback URL, and when the last event arrived.
 */
import type { CheckResult, DetailValue } from '../wire.ts';
import { iso, result } from './wording.ts';

export interface CallbackFacts {
  corpId: string;
  agentId: string;
  /** Where the callback route records the last successful URL verification (`CALLBACK_VERIFIED_KEY`). */
  verifiedKey: string;
  /** The URL to enter under 接收消息 → 设置API接收. */
  callbackUrl: string;
}

/** When WeCom last verified the callback URL (KV) and when the last event arrived (D1 `events`). */
export async function checkCallback(stores: { kv: KVNamespace; db: D1Database }, facts: CallbackFacts): Promise<CheckResult> {
  const raw = await stores.kv.get(facts.verifiedKey);
  const parsed = raw === null ? Number.NaN : Number(raw);
  const verifiedAt = Number.isFinite(parsed) && parsed > 0 ? parsed : null;
  const row = await stores.db
    .prepare('SELECT MAX(received_at) AS last FROM events WHERE corp_id = ?1 AND agent_id = ?2')
    .bind(facts.corpId, facts.agentId)
    .first<{ last: number | null }>();
  const lastEventAt = row?.last ?? null;
  const details: Record<string, DetailValue> = { verifiedAt, lastEventAt, callbackUrl: facts.callbackUrl };
  if (verifiedAt === null && lastEventAt === null) {
    return result(
      'callback',
      'warn',
      `WeCom has never verified the callback URL with this worker, and no event has arrived. Enter ${facts.callbackUrl} as the callback URL.`,
      `企业微信从未向本服务校验过回调 URL，也没有收到任何事件。请把回调 URL 设为 ${facts.callbackUrl}。`,
      {
        en: `管理后台 → 应用管理 → this app → 接收消息 → 设置API接收: URL ${facts.callbackUrl}, Token and EncodingAESKey the values of WECOM_CALLBACK_TOKEN and WECOM_ENCODING_AES_KEY; tick 外部联系人变更 among the events, then save (saving makes WeCom verify the URL).`,
        zh: `管理后台 → 应用管理 → 本应用 → 接收消息 → 设置API接收：URL 填 ${facts.callbackUrl}，Token 与 EncodingAESKey 填 WECOM_CALLBACK_TOKEN、WECOM_ENCODING_AES_KEY 的值，勾选外部联系人变更事件后保存（保存时企业微信会校验该 URL）。`,
      },
      { details },
    );
  }
  const verified = verifiedAt === null ? 'before this worker kept a record of it' : `at ${iso(verifiedAt)}`;
  const verifiedZh = verifiedAt === null ? '（本服务没有校验记录）' : `于 ${iso(verifiedAt)}`;
  const events = lastEventAt === null ? 'no event has arrived yet (events come when customers or members change)' : `the last event arrived at ${iso(lastEventAt)}`;
  const eventsZh = lastEventAt === null ? '尚未收到事件（客户或成员变化时才会推送）' : `最近一次事件于 ${iso(lastEventAt)} 收到`;
  return result(
    'callback',
    'pass',
    `WeCom verified the callback URL ${verified}; ${events}.`,
    `企业微信已${verifiedZh}校验回调 URL；${eventsZh}。`,
    null,
    { details },
  );
}
