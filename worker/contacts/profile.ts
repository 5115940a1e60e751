/**
 * @module
 * A contact's WeCom profile (`externalcontact/get`), cached briefly in KV and dropped by edit
 * events, and what reading it teaches us about who follows the contact.
 */
import { normaliseMobile } from '../mobile.ts';
import type { WeComClient } from '../wecom/client.ts';
import type { ExternalContact, FollowUser } from '../wecom/replies.ts';
import type { ExternalContact as ContactCard, ProfileFollowUser } from '../wire.ts';

export type { ProfileFollowUser };

/** Short: WeCom stays the truth, edit events drop the copy early. KV's floor is 60 s. */
export const PROFILE_TTL_SECONDS = 300;
/** WeCom pages follow users above 500; a safety bound on pages. */
const MAX_PAGES = 20;

export interface ContactProfile {
  contact: ContactCard;
  followUsers: ProfileFollowUser[];
  fetchedAt: number;
}

export const profileKey = (corpId: string, externalUserId: string) => `contact:${corpId}:${externalUserId}`;

function toFollowUser(follow: FollowUser): ProfileFollowUser {
  return {
    userid: follow.userid,
    remark: follow.remark ?? '',
    description: follow.description ?? '',
    createdAt: follow.createtime,
    tags: (follow.tags ?? []).map((tag) => ({ group: tag.group_name ?? '', name: tag.tag_name, type: tag.type, ...(tag.tag_id ? { id: tag.tag_id } : {}) })),
    remarkMobiles: (follow.remark_mobiles ?? []).filter((mobile) => mobile !== ''),
    remarkCorpName: follow.remark_corp_name ?? '',
    addWay: follow.add_way ?? null,
    state: follow.state ?? '',
  };
}

/**
 * The profile of a contact from WeCom's own shape: `externalcontact/get`, or one entry of
 * `batch/get_by_user` (whose follow info carries no tag names, so its tags stay empty).
 */
export function contactProfile(contact: ExternalContact, followUsers: readonly FollowUser[], now: number): ContactProfile {
  return {
    contact: {
      externalUserId: contact.external_userid,
      name: contact.name,
      avatar: contact.avatar ?? '',
      type: contact.type,
      gender: contact.gender ?? 0,
      corpName: contact.corp_full_name || contact.corp_name || contact.external_profile?.external_corp_name || '',
      position: contact.position ?? '',
      unionid: contact.unionid || null,
    },
    followUsers: followUsers.map(toFollowUser),
    fetchedAt: now,
  };
}

export async function fetchProfile(client: WeComClient, externalUserId: string, now: number): Promise<ContactProfile> {
  const first = await client.getExternalContact(externalUserId);
  const followUsers = [...first.follow_user];
  let cursor = first.next_cursor;
  for (let page = 1; cursor && page < MAX_PAGES; page++) {
    const next = await client.getExternalContact(externalUserId, cursor);
    followUsers.push(...next.follow_user);
    cursor = next.next_cursor;
  }
  return contactProfile(first.external_contact, followUsers, now);
}

export interface ProfileCache {
  get(corpId: string, externalUserId: string): Promise<ContactProfile | undefined>;
  put(corpId: string, profile: ContactProfile): Promise<void>;
  drop(corpId: string, externalUserId: string): Promise<void>;
}

export function createProfileCache(kv: KVNamespace): ProfileCache {
  return {
    async get(corpId, externalUserId) {
      return (await kv.get<ContactProfile>(profileKey(corpId, externalUserId), 'json')) ?? undefined;
    },
    async put(corpId, profile) {
      await kv.put(profileKey(corpId, profile.contact.externalUserId), JSON.stringify(profile), { expirationTtl: PROFILE_TTL_SECONDS });
    },
    async drop(corpId, externalUserId) {
      await kv.delete(profileKey(corpId, externalUserId));
    },
  };
}

/** Every mobile a follow user wrote into their remark for this contact, normalised, without duplicates. */
export function profileMobiles(profile: ContactProfile): string[] {
  return [...new Set(profile.followUsers.flatMap((follow) => follow.remarkMobiles).map(normaliseMobile).filter((m) => m.length >= 5))];
}

