/**
 * @module
 * The worker's JSON shapes (docs/api.md), as the SPA reads them.
 */

/** Whether `value` is one of `known`; a newer worker may send values this SPA does not know yet. */
export function isOneOf<T extends string>(known: readonly T[], value: string): value is T {
  return (known as readonly string[]).includes(value);
}

export const STAGES = ['lead', 'qualified', 'proposal', 'won', 'lost'] as const;
export type Stage = (typeof STAGES)[number];

export interface Person {
  userid: string;
  name: string;
}

/** A member by name; the userid when WeCom gave no name, or when only the userid is known. */
export function personName(person: Person | string): string {
  return typeof person === 'string' ? person : person.name || person.userid;
}

export interface Customer {
  id: string;
  name: string;
  company: string;
  stage: Stage;
  owner: Person | null;
  mobiles: string[];
  unionid: string | null;
  tags: string[];
  customFields: Record<string, string>;
  version: number;
  createdAt: number;
  updatedAt: number;
  /** False for a summary of a customer outside the reader's scope (phones masked, no tags or fields). */
  full?: boolean;
}

/** The fields `PATCH /api/customers/:id` accepts. */
export type CustomerPatch = Partial<Pick<Customer, 'name' | 'company' | 'stage' | 'mobiles' | 'tags' | 'customFields'>>;

export interface ExternalContact {
  externalUserId: string;
  name: string;
  avatar: string;
  /** 1 WeChat user, 2 WeCom user of another company. */
  type: number;
  gender: number;
  corpName?: string | null;
  position?: string | null;
  unionid?: string | null;
}

export interface FollowTag {
  group: string;
  name: string;
}

export interface FollowUser {
  userid: string;
  name: string;
  remark: string;
  description: string;
  createdAt: number;
  tags: FollowTag[];
  remarkMobiles: string[];
  /** The company this member noted for the contact. */
  remarkCorpName?: string;
  addWay: number;
  relationship: 'active' | 'ended';
}

export interface Binding {
  customerId: string;
  boundBy: string;
  boundAt: number;
  unionid: string | null;
}

export type MatchReason = 'unionid' | 'mobile' | 'name';

export interface Suggestion {
  customer: Customer;
  reasons: MatchReason[];
}

export interface ContactDetail {
  contact: ExternalContact;
  followUsers: FollowUser[];
  binding: Binding | null;
  customer: Customer | null;
  suggestions: Suggestion[];
  permissions: { canBind: boolean; canEdit: boolean };
}

export interface BindingResult {
  binding: Binding;
  customer: Customer;
}

export interface NewCustomer {
  name?: string;
  company?: string;
  stage?: Stage;
}

export interface Note {
  id: string;
  body: string;
  author: Person;
  createdAt: number;
}

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
] as const;
export type TimelineKind = (typeof TIMELINE_KINDS)[number];

export interface TimelineItem {
  id: string;
  kind: TimelineKind | string;
  at: number;
  /** A member (userid and name), a bare userid, or nobody for system changes. */
  actor: Person | string | null;
  summary: string;
  externalUserId: string | null;
}

export interface ChatMember {
  type: 'internal' | 'external';
  id: string;
  name: string;
  binding: { customerId: string } | null;
  customerName: string | null;
}

export interface ChatDetail {
  chat: { chatId: string; name: string; owner: Person | string | null };
  members: ChatMember[];
}

export type Role = 'admin' | 'manager' | 'sales' | 'viewer';

export interface Me {
  user: { id: number; userid: string; name: string; roles: Role[]; departments: Array<{ id: number; name: string; isLeader: boolean }> };
  corp: { corpId: string; agentId: string };
}

export interface SignatureData {
  timestamp: number | string;
  nonceStr: string;
  signature: string;
}

export interface Signatures {
  corpId: string;
  agentId: string;
  config: SignatureData;
  agentConfig: SignatureData;
  /** Only on `refresh: true`: the worker refused to refetch (once a minute per app); seconds until it would. */
  retryAfter?: number;
}

export interface AdminUser {
  id: number;
  wecomUserId: string | null;
  name: string;
  mobile: string | null;
  status: 'active' | 'inactive';
  roles: Role[];
  departments: Array<{ id: number; name: string; isLeader: boolean }>;
  lastLoginAt: number | null;
}

export interface OrgSyncRun {
  id: number;
  trigger: 'manual' | 'scheduled';
  startedBy: string | null;
  status: 'running' | 'succeeded' | 'failed';
  phase: string;
  done: number;
  total: number;
  created: number;
  updated: number;
  deactivated: number;
  failed: number;
  failures: Array<{ subject: string; reason: string }>;
  error: string | null;
  startedAt: number;
  finishedAt: number | null;
}

export interface AdminUsers {
  users: AdminUser[];
  roles: Role[];
  latestSync: OrgSyncRun | null;
}

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
}

/** The checks of `GET /api/admin/diagnostics`, in the order the worker runs them (worker/diagnostics/checks.ts). */
export const DIAGNOSTIC_CHECKS = ['config', 'access_token', 'jssdk_tickets', 'customer_contact', 'visible_range', 'callback', 'origin'] as const;
export type DiagnosticCheckId = (typeof DIAGNOSTIC_CHECKS)[number];
export type DiagnosticStatus = 'pass' | 'warn' | 'fail';
export type DiagnosticDetail = string | number | boolean | null | string[];

export interface DiagnosticCheck {
  id: DiagnosticCheckId;
  status: DiagnosticStatus;
  /** WeCom's errcode when WeCom refused. */
  errcode?: number;
  message: string;
  messageZh: string;
  /** The console step that fixes it; null when nothing needs fixing. */
  fix: { zh: string; en: string } | null;
  /** Facts behind the message (times in ms, counts, the IP WeCom saw, the URL to enter). */
  details?: Record<string, DiagnosticDetail>;
  /** Not run because this earlier check failed. */
  blockedBy?: DiagnosticCheckId;
}

export interface DiagnosticsReport {
  app: { corpId: string; agentId: string };
  /** The page origin the `origin` check judged. */
  origin: string;
  checkedAt: number;
  /** No check failed (warnings allowed). */
  ok: boolean;
  summary: Record<DiagnosticStatus, number>;
  checks: DiagnosticCheck[];
}
