/**
 * @module
 * WeCom's request and reply shapes for the calls the client makes (worker/wecom/client.ts), with
 * fields as documented; WeCom omits what an app may not see. Types only: no transport here.
 */
/** Every WeCom reply; `errcode` missing or 0 means success. */
export interface WeComReply {
  errcode?: number;
  errmsg?: string;
}

export interface AccessTokenReply extends WeComReply {
  access_token: string;
  /** Seconds, normally 7200. */
  expires_in: number;
}

export interface TicketReply extends WeComReply {
  ticket: string;
  /** Seconds, normally 7200. */
  expires_in: number;
}

/** A member has `userid` (and `user_ticket` with snsapi_privateinfo); a non-member has `openid` and maybe `external_userid`. */
export interface UserInfoReply extends WeComReply {
  userid?: string;
  user_ticket?: string;
  openid?: string;
  external_userid?: string;
}

export interface UserDetailReply extends WeComReply {
  userid: string;
  /** "0" unknown, "1" male, "2" female. */
  gender?: string;
  avatar?: string;
  qr_code?: string;
  mobile?: string;
  email?: string;
  biz_mail?: string;
  address?: string;
}

export interface WeComUser {
  userid: string;
  name?: string;
  department?: number[];
  order?: number[];
  position?: string;
  mobile?: string;
  gender?: string;
  email?: string;
  biz_mail?: string;
  is_leader_in_dept?: number[];
  direct_leader?: string[];
  avatar?: string;
  thumb_avatar?: string;
  telephone?: string;
  alias?: string;
  address?: string;
  open_userid?: string;
  main_department?: number;
  /** 1 active, 2 disabled, 4 not yet activated, 5 left. */
  status?: number;
}

export type UserReply = WeComReply & WeComUser;

export interface UserListReply extends WeComReply {
  userlist: WeComUser[];
}

export interface Department {
  id: number;
  name?: string;
  name_en?: string;
  department_leader?: string[];
  parentid: number;
  order?: number;
}

export interface DepartmentListReply extends WeComReply {
  department: Department[];
}

export type ExternalAttr =
  | { type: 0; name: string; text: { value: string } }
  | { type: 1; name: string; web: { url: string; title: string } }
  | { type: 2; name: string; miniprogram: { appid: string; pagepath: string; title: string } };

export interface ExternalContact {
  external_userid: string;
  name: string;
  avatar?: string;
  /** 1 WeChat user, 2 WeCom user. */
  type: 1 | 2;
  /** 0 unknown, 1 male, 2 female. */
  gender?: 0 | 1 | 2;
  unionid?: string;
  position?: string;
  corp_name?: string;
  corp_full_name?: string;
  external_profile?: {
    external_corp_name?: string;
    wechat_channels?: { nickname: string; status: number };
    external_attr?: ExternalAttr[];
  };
}

export interface FollowUserTag {
  group_name?: string;
  tag_name: string;
  tag_id?: string;
  /** 1 company tag, 2 personal tag, 3 rule-group tag. */
  type: 1 | 2 | 3;
}

export interface FollowUser {
  userid: string;
  remark?: string;
  description?: string;
  createtime: number;
  tags?: FollowUserTag[];
  remark_corp_name?: string;
  remark_mobiles?: string[];
  oper_userid?: string;
  add_way?: number;
  state?: string;
  wechat_channels?: { nickname: string; source: number };
}

export interface ExternalContactReply extends WeComReply {
  external_contact: ExternalContact;
  follow_user: FollowUser[];
  next_cursor?: string;
}

export interface FollowUserListReply extends WeComReply {
  follow_user: string[];
}

export interface ExternalContactListReply extends WeComReply {
  external_userid: string[];
}

export interface BatchByUserRequest {
  /** At most 100. */
  userid_list: string[];
  cursor?: string;
  /** Default 50, at most 100. */
  limit?: number;
}

/** `batch/get_by_user`'s follow info: tag ids only, no names. */
export interface FollowInfo extends Omit<FollowUser, 'tags'> {
  tag_id?: string[];
}

export interface BatchByUserReply extends WeComReply {
  external_contact_list: Array<{ external_contact: ExternalContact; follow_info: FollowInfo }>;
  next_cursor?: string;
}

export interface RemarkRequest {
  userid: string;
  external_userid: string;
  /** At most 20 characters. */
  remark?: string;
  /** At most 150 characters. */
  description?: string;
  /** At most 20 characters; WeChat customers only. */
  remark_company?: string;
  /** Replaces all; `[""]` clears. */
  remark_mobiles?: string[];
  remark_pic_mediaid?: string;
}

export interface GroupChatMember {
  userid: string;
  /** 1 member, 2 external contact. */
  type: 1 | 2;
  unionid?: string;
  join_time: number;
  join_scene: number;
  invitor?: { userid: string };
  group_nickname?: string;
  name?: string;
}

export interface GroupChat {
  chat_id: string;
  name?: string;
  owner: string;
  create_time: number;
  notice?: string;
  member_list: GroupChatMember[];
  admin_list?: Array<{ userid: string }>;
  member_version?: string;
}

export interface GroupChatReply extends WeComReply {
  group_chat: GroupChat;
}

interface MessageTarget {
  touser?: string;
  toparty?: string;
  totag?: string;
  safe?: 0 | 1;
  enable_id_trans?: 0 | 1;
  enable_duplicate_check?: 0 | 1;
  duplicate_check_interval?: number;
}

/** An app message; the client adds this app's `agentid`. */
export type MessageRequest = MessageTarget &
  (
    | { msgtype: 'text'; text: { content: string } }
    | { msgtype: 'markdown'; markdown: { content: string } }
    | { msgtype: 'textcard'; textcard: { title: string; description: string; url: string; btntxt?: string } }
  );

export interface MessageSendReply extends WeComReply {
  invaliduser?: string;
  invalidparty?: string;
  invalidtag?: string;
  unlicenseduser?: string;
  msgid?: string;
  response_code?: string;
}

/** One group of the corp tag library; `deleted` appears only when the query named ids. */
export interface CorpTagGroup {
  group_id: string;
  group_name: string;
  create_time: number;
  /** Larger first. */
  order: number;
  deleted?: boolean;
  tag: Array<{ id: string; name: string; create_time: number; order: number; deleted?: boolean }>;
}

export interface CorpTagListReply extends WeComReply {
  tag_group: CorpTagGroup[];
}

export interface MarkTagRequest {
  userid: string;
  external_userid: string;
  add_tag?: string[];
  remove_tag?: string[];
}

/** `group_id` adds to that group (then `group_name` and `order` are ignored); otherwise `group_name` names a new or existing group. */
export interface AddCorpTagRequest {
  group_id?: string;
  group_name?: string;
  order?: number;
  tag: Array<{ name: string; order?: number }>;
}

/** The group with only the tags just created. */
export interface AddCorpTagReply extends WeComReply {
  tag_group: CorpTagGroup;
}

/** `id` is a tag or a group id. */
export interface EditCorpTagRequest {
  id: string;
  name?: string;
  order?: number;
}

export interface DelCorpTagRequest {
  tag_id?: string[];
  group_id?: string[];
}
