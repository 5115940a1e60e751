/**
 * @module
 * Response shapes of the directory and customer APIs, field for field as WeCom sends them
 * (docs/wecom.md §7, §8), including what WeCom leaves out: sensitive member fields for apps created
 * after 2022-06-20, unionid without a bound WeChat developer ID. Pure: plain values in, JSON out.
 */
import type { DemoApp, DemoExternalContact, DemoFollowUser, DemoMember } from '../fixtures/demo-corp.ts';
import { NEW_APP_RULES_FROM } from './rules.ts';
import type { JsonObject } from './state.ts';

/** user/get and user/list; `app` is the caller's (undefined for the contact-sync token). */
export function memberView(member: DemoMember, app: DemoApp | undefined): JsonObject {
  const view: JsonObject = {
    userid: member.userid,
    name: member.name,
    department: member.department,
    order: member.order,
    position: member.position,
    is_leader_in_dept: member.is_leader_in_dept,
    direct_leader: member.direct_leader,
    main_department: member.main_department,
    status: member.status,
    telephone: member.telephone,
    alias: member.alias,
    extattr: { attrs: [] },
    external_position: '',
  };
  // Apps created after 2022-06-20 never get these from user/get (docs/wecom.md §8, restriction 1).
  if (app && app.createdAt >= NEW_APP_RULES_FROM) return view;
  return {
    ...view,
    mobile: member.mobile,
    gender: member.gender,
    email: member.email,
    biz_mail: member.biz_mail,
    avatar: member.avatar,
    thumb_avatar: member.avatar,
    qr_code: member.qr_code,
    address: member.address,
  };
}

export function contactView(contact: DemoExternalContact, wechatDeveloperIdBound: boolean): JsonObject {
  const ec = contact.external_contact;
  const view: JsonObject = { external_userid: ec.external_userid, name: ec.name, avatar: ec.avatar, type: ec.type, gender: ec.gender };
  // unionid exists only for WeChat users, and only once the corp bound a WeChat developer ID (docs/wecom.md §7).
  if (ec.type === 1 && ec.unionid && wechatDeveloperIdBound) view.unionid = ec.unionid;
  if (ec.type === 2) {
    if (ec.position !== undefined) view.position = ec.position;
    if (ec.corp_name !== undefined) view.corp_name = ec.corp_name;
    if (ec.corp_full_name !== undefined) view.corp_full_name = ec.corp_full_name;
  }
  // The fixture types use optional fields, which the Json index signature cannot express.
  if (ec.external_profile) view.external_profile = structuredClone(ec.external_profile) as unknown as JsonObject;
  return view;
}

function followBase(follow: DemoFollowUser): JsonObject {
  const view: JsonObject = {
    userid: follow.userid,
    remark: follow.remark,
    description: follow.description,
    createtime: follow.createtime,
    remark_mobiles: [...follow.remark_mobiles],
    oper_userid: follow.oper_userid,
    add_way: follow.add_way,
  };
  if (follow.remark_corp_name !== undefined) view.remark_corp_name = follow.remark_corp_name;
  if (follow.state !== undefined) view.state = follow.state;
  return view;
}

export function followView(follow: DemoFollowUser): JsonObject {
  return {
    ...followBase(follow),
    tags: follow.tags.map((t) => {
      const tag: JsonObject = { group_name: t.group_name, tag_name: t.tag_name, type: t.type };
      if (t.tag_id !== undefined) tag.tag_id = t.tag_id;
      return tag;
    }),
  };
}

/** batch/get_by_user's follow_info: tag ids only, and only corp (1) and rule-group (3) tags (docs/wecom.md §7). */
export function followInfoView(follow: DemoFollowUser): JsonObject {
  const tagIds: string[] = [];
  for (const t of follow.tags) if (t.type !== 2 && t.tag_id) tagIds.push(t.tag_id);
  return { ...followBase(follow), tag_id: tagIds };
}
