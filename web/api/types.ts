/**
 * @module
 * The worker's JSON shapes, as the SPA names them. They are declared once, in worker/wire.ts,
 * which the worker's services and routes are typed with: a changed answer fails the SPA's
 * typecheck here instead of a screen in production. Only the closed lists are values (a few
 * bytes in the bundle); everything else is erased.
 */
export { DIAGNOSTIC_CHECKS, NOTIFICATION_KINDS, REPLY_VARIABLES, ROLES, STAGES, TIMELINE_KINDS } from '../../worker/wire.ts';
export type {
  AdminEvent,
  AdminEventList,
  CustomerAnswer,
  CustomerList,
  NoteAnswer,
  NoteList,
  Timeline,
  AdminUsers,
  Binding,
  BindingResult,
  ExternalContact,
  FollowTag,
  FollowUser,
  MatchReason,
  Me,
  NewCustomer,
  Person,
  Role,
  Stage,
  Suggestion,
  TimelineItem,
  TimelineDetail,
  FieldChange,
  FieldValue,
  TimelineKind,
  ChatMember,
  DiagnosticsReport,
  User as AdminUser,
  OrgSyncRunView as OrgSyncRun,
  CustomerView as Customer,
  CustomerEdit as CustomerPatch,
  ContactView as ContactDetail,
  NoteView as Note,
  ChatView as ChatDetail,
  JsSdkSignature as SignatureData,
  PageSignatures as Signatures,
  CheckId as DiagnosticCheckId,
  CheckStatus as DiagnosticStatus,
  DetailValue as DiagnosticDetail,
  CheckResult as DiagnosticCheck,
  QuickReply,
  ReplyBody,
  ReplyList,
  ReplyUse,
  ReplyVariable,
  ReplyDraft,
  ManagedReply,
  ManagedReplyList,
  ManagedReplyAnswer,
  FollowUpView as FollowUp,
  FollowUpAnswer,
  NotificationKind,
  NotificationSettings,
  LostCustomer,
  LostCustomerList,
  AppMessageFailure,
  AppMessageFailureList,
} from '../../worker/wire.ts';
import type { OrgSyncRunView, Person, ReconcileRunView } from '../../worker/wire.ts';

/** `GET /api/admin/reconcile/latest`, `/:id` (docs/api.md): a run with reconciliation's counts and the step meter. */
export type ReconcileRun = ReconcileRunView;

/** Either long admin job, as its panel shows it. */
export type JobRun = OrgSyncRunView | ReconcileRun;

/** Whether `value` is one of `known`; a newer worker may send values this SPA does not know yet. */
export function isOneOf<T extends string>(known: readonly T[], value: string): value is T {
  return (known as readonly string[]).includes(value);
}

/** A member by name; the userid when WeCom gave no name, or when only the userid is known. */
export function personName(person: Person | string): string {
  return typeof person === 'string' ? person : person.name || person.userid;
}
