/**
 * @module
 * How customers and timelines look on the wire. Customers outside the reader's scope appear
 * only as a summary (enough to recognise and bind them: name, company, stage, owner, masked phones).
 */
import type { Customer, CrmHistoryItem, RecordedDetail } from '../crm/port.ts';
import { normaliseMobile } from '../mobile.ts';
import type { CustomerView, Person, TimelineDetail, TimelineItem } from '../wire.ts';
import type { Touchpoint } from './store.ts';

export type { CustomerView, TimelineItem };

export function maskMobile(mobile: string): string {
  const digits = normaliseMobile(mobile);
  return digits.length >= 7 ? `${digits.slice(0, 3)}****${digits.slice(-4)}` : '****';
}

export function customerView(customer: Customer, names: ReadonlyMap<string, string>, full: boolean): CustomerView {
  const owner = customer.ownerUserid ? { userid: customer.ownerUserid, name: names.get(customer.ownerUserid) ?? customer.ownerUserid } : null;
  return {
    id: customer.id,
    name: customer.name,
    company: customer.company,
    stage: customer.stage,
    owner,
    mobiles: full ? customer.mobiles : customer.mobiles.map(maskMobile),
    unionid: full ? customer.unionid : null,
    tags: full ? customer.tags : [],
    customFields: full ? customer.customFields : {},
    version: customer.version,
    createdAt: customer.createdAt,
    updatedAt: customer.updatedAt,
    full,
  };
}

/** Everyone a timeline names: actors and the members in details, for one name lookup. */
export function timelineMembers(items: readonly { actorUserid: string | null; detail: RecordedDetail }[]): string[] {
  return items.flatMap((item) => [item.actorUserid ?? '', ...(item.detail.members ?? [])]);
}

/** Contact touchpoints and the CRM's own history, newest first. */
export function mergeTimeline(touchpoints: readonly Touchpoint[], history: readonly CrmHistoryItem[], names: ReadonlyMap<string, string>): TimelineItem[] {
  const person = (userid: string): Person => ({ userid, name: names.get(userid) ?? userid });
  const actor = (userid: string | null) => (userid ? person(userid) : null);
  const detail = ({ members, ...facts }: RecordedDetail): TimelineDetail => (members ? { ...facts, members: members.map(person) } : facts);
  const items: TimelineItem[] = [
    ...touchpoints.map((t) => ({ id: `tp_${t.id}`, kind: t.kind, at: t.at, actor: actor(t.actorUserid), detail: detail(t.detail), externalUserId: t.externalUserId })),
    ...history.map((h) => ({ id: `crm_${h.id}`, kind: h.kind, at: h.at, actor: actor(h.actorUserid), detail: detail(h.detail), externalUserId: null })),
  ];
  return items.sort((a, b) => b.at - a.at || b.id.localeCompare(a.id));
}

/** Names of members by WeCom userid, from this product's users table. */
export async function memberNames(db: D1Database, corpId: string, userids: Iterable<string>): Promise<Map<string, string>> {
  const unique = [...new Set(userids)].filter((id) => id && !id.startsWith('system:'));
  if (unique.length === 0) return new Map();
  const { results } = await db
    .prepare('SELECT wecom_userid, name FROM users WHERE corp_id = ?1 AND wecom_userid IN (SELECT value FROM json_each(?2))')
    .bind(corpId, JSON.stringify(unique))
    .all<{ wecom_userid: string; name: string }>();
  return new Map(results.map((row) => [row.wecom_userid, row.name]));
}
