/**
 * @module
 * The JSON the worker's `/api` routes answer and accept (docs/api.md): one source for both sides.
 * The services that build these shapes are typed with them, and the SPA reads them from here
 * (web/api/types.ts), so a changed shape fails `npm run typecheck` in whichever code did not follow.
 *
 * It imports nothing: the SPA's typecheck loads this file without the Workers types, and its bundle
 * takes only the few closed lists below.
 */

export const STAGES = ['lead', 'qualified', 'proposal', 'won', 'lost'] as const;
export type Stage = (typeof STAGES)[number];

export const ROLES = ['admin', 'manager', 'sales', 'viewer'] as const;
export type Role = (typeof ROLES)[number];

/** A member by WeCom userid, with the name we know (the userid when WeCom gave none). */
export interface Person {
  userid: string;
  name: string;
}

// ---- customers

/** A customer on the wire: the CRM record, its owner with a name, and whether it is all of it. */
export interface CustomerView {
  id: string;
  name: string;
  company: string;
  stage: Stage;
  owner: Person | null;
  mobiles: string[];
  unionid: string | null;
  tags: string[];
  customFields: Record<string, string>;
  /** Increases on every update; `PATCH` names the version it read in `If-Match`. */
  version: number;
  createdAt: number;
  updatedAt: number;
  /** False for a summary of a customer outside the reader's scope (phones masked, no tags or fields). */
  full: boolean;
}

/** The fields `PATCH /api/customers/:id` accepts. */
export type CustomerEdit = Partial<Pick<CustomerView, 'name' | 'company' | 'stage' | 'mobiles' | 'tags' | 'customFields'>>;

/** `POST /api/contacts/:id/customer`: the basic customer to create for a contact. */
export interface NewCustomer {
  name?: string;
  company?: string;
  stage?: Stage;
}

export interface NoteView {
  id: string;
  body: string;
  author: Person;
  createdAt: number;
}

/** `GET /api/customers?q=`. */
export interface CustomerList {
  customers: CustomerView[];
}

/** `GET` and `PATCH /api/customers/:id`. */
export interface CustomerAnswer {
  customer: CustomerView;
}

/** `GET /api/customers/:id/notes`. */
export interface NoteList {
  notes: NoteView[];
}

/** `POST /api/customers/:id/notes`. */
export interface NoteAnswer {
  note: NoteView;
}

/** Contact touchpoints (D1) and the CRM's own history, in one timeline. */
export const TIMELINE_KINDS = [
  'contact_added',
  'contact_edited',
  'contact_deleted',
  'follow_user_deleted',
  'note',
  'customer_created',
  'customer_edited',
  'bound',
  'unbound',
  /** Corp tags of the member's relationship changed through the sidebar (tagsAdded, tagsRemoved). */
  'tags_changed',
  /** Remark, description or remark mobiles changed through the sidebar (changes). */
  'remark_changed',
  /** A follow-up reminder went to a member (members, text). */
  'reminder_sent',
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

/** A value before or after a change: lists (mobiles, tags) stay lists, an absent value is null. */
export type FieldValue = string | string[] | null;

/**
 * One field that changed. `field` names a CRM customer field (`name`, `stage`, `customFields.<key>`…)
 * or a WeCom relationship field (`remark`, `description`, `remarkMobiles`, `remarkCompany`); the SPA
 * names it in the reader's language. `from` is absent when the writer did not know the old value.
 */
export interface FieldChange {
  field: string;
  from?: FieldValue;
  to: FieldValue;
}

/**
 * What a timeline item says besides its kind, as facts the SPA renders in the reader's language:
 * the worker and the built-in CRM never write sentences. Every part is optional; a kind uses the
 * parts it needs.
 */
export interface TimelineDetail {
  /** The contact or customer the item is about, by name (as it was then). */
  name?: string;
  /** Fields that changed. */
  changes?: FieldChange[];
  /** Corp tags (group / tag names) added and removed. */
  tagsAdded?: string[];
  tagsRemoved?: string[];
  /** Words a person wrote (a note, a reminder's note) or a company CRM's own text: shown as written. */
  text?: string;
  /** A closed code the SPA words: how a binding was made, why a relationship ended, … */
  reason?: string;
  /** The 「联系我」 state the contact was added through. */
  state?: string;
  /** Members the item names besides the actor (those a message went to). */
  members?: Person[];
}

export interface TimelineItem {
  id: string;
  kind: TimelineKind;
  at: number;
  /** Nobody for system changes. */
  actor: Person | null;
  detail: TimelineDetail;
  externalUserId: string | null;
}

/** `GET /api/customers/:id/timeline`. */
export interface Timeline {
  items: TimelineItem[];
}

// ---- contacts

/** The contact as WeCom describes it (`externalcontact/get`). */
export interface ExternalContact {
  externalUserId: string;
  name: string;
  avatar: string;
  /** 1 WeChat user, 2 WeCom user of another company. */
  type: 1 | 2;
  gender: number;
  corpName: string;
  position: string;
  unionid: string | null;
}

export interface FollowTag {
  group: string;
  name: string;
  type: number;
  /** WeCom's tag id; personal tags (type 2) have none. */
  id?: string;
}

/** One member following the contact, as WeCom describes the relationship. */
export interface ProfileFollowUser {
  userid: string;
  remark: string;
  description: string;
  /** Seconds, as WeCom sends it. */
  createdAt: number;
  tags: FollowTag[];
  remarkMobiles: string[];
  /** The company this member noted for the contact. */
  remarkCorpName: string;
  addWay: number | null;
  state: string;
}

export interface FollowUser extends ProfileFollowUser {
  name: string;
  relationship: 'active' | 'ended';
}

export interface Binding {
  externalUserId: string;
  customerId: string;
  boundBy: string;
  boundAt: number;
  unionid: string | null;
}

export type MatchReason = 'unionid' | 'mobile' | 'name';

export interface Suggestion {
  customer: CustomerView;
  reasons: MatchReason[];
}

/** `GET /api/contacts/:externalUserId`. */
export interface ContactView {
  contact: ExternalContact;
  followUsers: FollowUser[];
  binding: Binding | null;
  customer: CustomerView | null;
  suggestions: Suggestion[];
  permissions: { canBind: boolean; canEdit: boolean };
}

/** `PUT …/binding` and `POST …/customer`. */
export interface BindingResult {
  binding: Binding;
  customer: CustomerView;
}

// ---- chats

export interface ChatMember {
  type: 'internal' | 'external';
  id: string;
  name: string;
  /** Seconds, as WeCom sends it. */
  joinedAt: number;
  binding: { customerId: string } | null;
  customerName: string | null;
}

/** `GET /api/chats/:chatId`. */
export interface ChatView {
  chat: { chatId: string; name: string; owner: Person };
  members: ChatMember[];
}

// ---- session and JS-SDK

export interface UserDepartment {
  id: number;
  name: string;
  isLeader: boolean;
}

/** `GET /api/me`, and the member the sidebar page embeds. */
export interface Me {
  user: { id: number; userid: string | null; name: string; roles: Role[]; departments: UserDepartment[] };
  corp: { corpId: string; agentId: string };
}

export interface JsSdkSignature {
  timestamp: number;
  nonceStr: string;
  signature: string;
}

/** What `POST /api/jssdk/signatures` answers, and the sidebar page embeds. */
export interface PageSignatures {
  corpId: string;
  agentId: string;
  config: JsSdkSignature;
  agentConfig: JsSdkSignature;
  /** A refused refetch (once a minute per app) says when one would be granted, so the page can explain. */
  retryAfter?: number;
}

// ---- admin

/** A user of this product, as admins see and edit them. */
export interface User {
  id: number;
  corpId: string;
  wecomUserId: string | null;
  name: string;
  mobile: string | null;
  status: 'active' | 'inactive';
  roles: Role[];
  departments: UserDepartment[];
  lastLoginAt: number | null;
  /** Sessions created under an older generation are over (worker/identity/sessions.ts). */
  sessionGeneration: number;
}

export interface JobFailure {
  subject: string;
  reason: string;
}

export type JobKind = 'org_sync' | 'reconcile';

/** What every long admin job's run says of itself, whatever it counts. */
export interface JobRunFields {
  id: number;
  kind: JobKind;
  trigger: 'manual' | 'scheduled';
  startedBy: string | null;
  status: 'running' | 'succeeded' | 'failed';
  phase: string;
  done: number;
  total: number;
  failed: number;
  failures: JobFailure[];
  error: string | null;
  startedAt: number;
  finishedAt: number | null;
}

/** A long admin job as the admin routes show it: the run with its counts spread beside the rest. */
export type JobRunView<Counts extends Record<string, number>> = JobRunFields & Counts;

/**
 * Besides its own counts, every run carries its step meter (worker/jobs/steps.ts): steps, WeCom
 * and CRM calls, the most WeCom calls, subrequests and D1 queries in one step, and the Workflow
 * instances it ran in one after another.
 */
export type OrgSyncRunView = JobRunView<{ created: number; updated: number; deactivated: number; steps: number; wecomCalls: number; crmCalls: number; maxStepWecomCalls: number; maxStepSubrequests: number; maxStepD1Queries: number; instances: number }>;

export type ReconcileRunView = JobRunView<{ followsAdded: number; followsEnded: number; bindingsAdded: number; customersCreated: number; steps: number; wecomCalls: number; crmCalls: number; maxStepWecomCalls: number; maxStepSubrequests: number; maxStepD1Queries: number; instances: number }>;

/** `GET /api/admin/users`. */
export interface AdminUsers {
  users: User[];
  roles: readonly Role[];
  latestSync: OrgSyncRunView | null;
}

/** One row of `GET /api/admin/events`; `event` is the typed callback event, which the SPA does not read. */
export interface AdminEvent {
  id: number;
  kind: string;
  changeType: string | null;
  status: 'received' | 'applied' | 'failed';
  duplicates: number;
  attempts: number;
  lastError: string | null;
  receivedAt: number;
  appliedAt: number | null;
  event: unknown;
}

/** `GET /api/admin/events`. */
export interface AdminEventList {
  events: AdminEvent[];
}

/** The checks of `GET /api/admin/diagnostics`, in the order the worker runs them (worker/diagnostics/run.ts and the check modules beside it). */
export const DIAGNOSTIC_CHECKS = ['config', 'access_token', 'jssdk_tickets', 'customer_contact', 'visible_range', 'callback', 'origin'] as const;
export type CheckId = (typeof DIAGNOSTIC_CHECKS)[number];
export type CheckStatus = 'pass' | 'warn' | 'fail';

/** The console step (or configuration change) that fixes a finding. */
export interface Fix {
  zh: string;
  en: string;
}

export type DetailValue = string | number | boolean | null | string[];

export interface CheckResult {
  id: CheckId;
  status: CheckStatus;
  /** WeCom's errcode when WeCom refused. */
  errcode?: number;
  message: string;
  messageZh: string;
  /** null when nothing needs fixing. */
  fix: Fix | null;
  /** Facts behind the message (times, counts, the IP WeCom saw, the URL to enter); never a secret. */
  details?: Record<string, DetailValue>;
  /** Not run because this earlier check failed. */
  blockedBy?: CheckId;
}

/** `GET /api/admin/diagnostics`. */
export interface DiagnosticsReport {
  app: { corpId: string; agentId: string };
  /** The page origin the `origin` check judged. */
  origin: string;
  checkedAt: number;
  /** No check failed (warnings allowed). */
  ok: boolean;
  summary: Record<CheckStatus, number>;
  checks: CheckResult[];
}

// ---- quick replies (话术)

/** The `{variable}`s a reply's texts may hold (worker/replies/template.ts), filled by the sidebar from the chat it is in. */
export const REPLY_VARIABLES = ['contact_name', 'contact_remark', 'customer_company', 'my_name'] as const;
export type ReplyVariable = (typeof REPLY_VARIABLES)[number];

/** What a reply sends, in the shape `ww.sendChatMessage` takes: a text, or a link card (`news`). */
export type ReplyBody =
  | { msgtype: 'text'; text: { content: string } }
  | { msgtype: 'news'; news: { link: string; title: string; desc: string; imgUrl: string } };

/** A reply as the sidebar lists it. `departmentId` null: corp-wide. */
export interface QuickReply {
  id: number;
  group: string;
  title: string;
  departmentId: number | null;
  departmentName: string | null;
  body: ReplyBody;
  updatedAt: number;
}

/** `GET /api/replies?q=`: the replies the reader may use, and the groups they fall in. */
export interface ReplyList {
  replies: QuickReply[];
  groups: string[];
}

/** What `POST /api/replies/:id/usage` records. */
export type ReplyUse = 'sent' | 'copied';

/** A reply as its managers see it: with its usage. */
export interface ManagedReply extends QuickReply {
  sentCount: number;
  copiedCount: number;
  lastUsedAt: number | null;
  updatedBy: Person;
}

/** `POST /api/replies/manage` and `PUT /api/replies/manage/:id`. */
export interface ReplyDraft {
  group: string;
  title: string;
  departmentId: number | null;
  body: ReplyBody;
}

/** `GET /api/replies/manage`: the replies the caller manages, and where they may put new ones. */
export interface ManagedReplyList {
  replies: ManagedReply[];
  departments: Array<{ id: number; name: string }>;
  /** Whether the caller may write corp-wide replies (admins). */
  corpWide: boolean;
}

/** `POST` and `PUT /api/replies/manage…`. */
export interface ManagedReplyAnswer {
  reply: ManagedReply;
}

// ---- WeCom corp tags and remarks (docs/tags.md)

/** WeCom's limits on `externalcontact/remark`, checked before WeCom is asked (characters). */
export const REMARK_LIMITS = { remark: 20, description: 150, mobiles: 10, mobile: 32 } as const;

export interface CorpTag {
  id: string;
  name: string;
}

/** One group of the corp tag library, tags in WeCom's order. */
export interface CorpTagGroupView {
  groupId: string;
  name: string;
  tags: CorpTag[];
  /** The CRM custom field an admin keeps equal with this group, if any. */
  field: string | null;
}

/** `GET /api/contacts/:id/tags`: the library, and what is on the reader's own relationship. */
export interface ContactTags {
  groups: CorpTagGroupView[];
  /** Corp tag ids on the reader's relationship with the contact. */
  selected: string[];
  /** The reader's personal tags: shown, never set through the API. */
  personal: FollowTag[];
  /** False when the reader does not (or no longer) follow the contact, or may only read. */
  canEdit: boolean;
}

/** `POST /api/contacts/:id/tags`. */
export interface TagsChange {
  add: string[];
  remove: string[];
}

/** What became of the CRM side of a change: nothing mapped, written, or kept to retry with the reason. */
export interface CrmSync {
  status: 'none' | 'applied' | 'pending';
  /** The custom fields written (applied) or waiting (pending). */
  fields: string[];
  reason?: string;
}

/** The answer to `POST /api/contacts/:id/tags`. */
export interface TagsChanged extends ContactTags {
  crm: CrmSync;
}

/** `PATCH /api/contacts/:id/remark`: what to change on the reader's relationship; `remarkMobiles` replaces the list. */
export interface RemarkEdit {
  remark?: string;
  description?: string;
  remarkMobiles?: string[];
}

/** The answer to `PATCH /api/contacts/:id/remark`. */
export interface RemarkChanged {
  followUser: ProfileFollowUser;
  changes: FieldChange[];
}

export interface TagMapping {
  groupId: string;
  groupName: string;
  /** The key in the customer's `customFields`. */
  field: string;
}

/** A CRM write WeCom's side already made necessary, waiting to be retried. */
export interface PendingCrmWrite {
  id: number;
  customerId: string;
  field: string;
  value: string;
  reason: string;
  attempts: number;
  createdAt: number;
  updatedAt: number;
}

/** `GET /api/admin/tags`. */
export interface AdminTags {
  groups: CorpTagGroupView[];
  mappings: TagMapping[];
  pending: PendingCrmWrite[];
}

/** `POST /api/admin/tags`: new tags in an existing group (`groupId`) or a group by name. */
export interface NewCorpTags {
  groupId?: string;
  groupName?: string;
  tags: string[];
}

// ---- follow-ups and app messages

/** The kinds of app message a member receives (each can be muted). */
export const NOTIFICATION_KINDS = ['reminder', 'lost_customer', 'new_customer'] as const;
export type NotificationKind = (typeof NOTIFICATION_KINDS)[number];

/** A customer's next follow-up: when its owner gets a reminder, and what to do. */
export interface FollowUpView {
  dueAt: number;
  note: string;
  setBy: Person;
  setAt: number;
}

/** `GET`/`PUT /api/customers/:id/follow-up`. */
export interface FollowUpAnswer {
  followUp: FollowUpView | null;
}

/** `PUT /api/customers/:id/follow-up`. */
export interface FollowUpInput {
  dueAt: number;
  note?: string;
}

/** `GET`/`PUT /api/me/notifications`: true for each kind the member receives. */
export interface NotificationSettings {
  settings: Record<NotificationKind, boolean>;
}

/** One customer who deleted a member (`del_follow_user`), as `GET /api/admin/lost-customers` lists it. */
export interface LostCustomer {
  id: string;
  at: number;
  /** The member the customer deleted. */
  member: Person | null;
  externalUserId: string | null;
  customerId: string | null;
  /** The customer's (or contact's) name when the alert was sent; null when unknown. */
  name: string | null;
  /** Members the alert reached. */
  notified: Person[];
}

/** `GET /api/admin/lost-customers`. */
export interface LostCustomerList {
  items: LostCustomer[];
}

/** An app message WeCom refused or we gave up on, as the diagnostics page lists it. */
export interface AppMessageFailure {
  id: number;
  kind: string;
  touser: string;
  customerId: string | null;
  attempts: number;
  /** WeCom's errcode, when WeCom answered with one. */
  errcode: number | null;
  /** `invaliduser` (outside the app's visible range), `outcome_unknown`, `wecom_<errcode>`, `wecom_timeout`, … */
  reason: string;
  at: number;
}

/** `GET /api/admin/app-messages/failures`. */
export interface AppMessageFailureList {
  failures: AppMessageFailure[];
}
