/**
 * @module
 * Follow-up reminders and app-message alerts: the follow-up setter, the notification settings, the
 * lost-customers admin page and the diagnostics page's app-message failures, in zh-CN and en (`en`
 * must have every key `zh-CN` has).
 */
import { translator } from './index.ts';

const zhCN = {
  'nav.settings': '提醒设置',
  'nav.lostCustomers': '流失客户',
  'followUp.title': '下次跟进',
  'followUp.none': '未设置跟进时间。',
  'followUp.due': '{time} 提醒 {owner}',
  'followUp.setBy': '{name} 设置',
  'followUp.when': '跟进时间',
  'followUp.note': '要做什么（可选）',
  'followUp.save': '设置提醒',
  'followUp.clear': '清除',
  'followUp.edit': '修改',
  'followUp.cancel': '取消',
  'followUp.invalid': '请选择一个将来的时间。',
  'followUp.readOnly': '到期时会通过企业微信应用消息提醒客户负责人。',
  'settings.title': '应用消息提醒',
  'settings.intro': '以下提醒会通过企业微信应用消息发送给你。关闭后将不再发送该类消息。',
  'settings.kind.reminder': '跟进提醒：我负责的客户到了约定的跟进时间',
  'settings.kind.lost_customer': '客户流失：客户删除了我，或删除了我负责客户的跟进成员',
  'settings.kind.new_customer': '新客户：我添加的联系人被自动建档为新客户',
  'settings.saved': '已保存',
  'lost.title': '流失客户',
  'lost.intro': '客户删除了跟进成员（del_follow_user）的记录；成员主动删除客户不在此列。',
  'lost.member': '成员 userid',
  'lost.from': '开始日期',
  'lost.to': '结束日期',
  'lost.search': '查询',
  'lost.empty': '该时间段内没有流失客户。',
  'lost.col.at': '时间',
  'lost.col.member': '被删除的成员',
  'lost.col.customer': '客户',
  'lost.col.notified': '已通知',
  'lost.unknownName': '（未知）',
  'lost.open': '查看',
  'failures.title': '应用消息',
  'failures.none': '最近没有发送失败的应用消息。',
  'failures.intro': '发送失败的应用消息（不会无限重试）。成员不在应用可见范围内时，请在管理后台把成员或其部门加入应用的可见范围。',
  'failures.kind.reminder': '跟进提醒',
  'failures.kind.lost_customer': '客户流失',
  'failures.kind.new_customer': '新客户',
  'failures.reason.invaliduser': '成员不在应用可见范围内',
  'failures.reason.outcome_unknown': '发送结果未知，为免重复不再重发',
  'failures.reason.wecom_81013': '接收人全部无效（不在可见范围内）',
  'failures.reason.wecom_48002': '应用无权调用该接口',
  'failures.attempts': '尝试 {count} 次',
  'customerPage.back': '返回',
} as const;

type Key = keyof typeof zhCN;

const en: Record<Key, string> = {
  'nav.settings': 'Reminders',
  'nav.lostCustomers': 'Lost customers',
  'followUp.title': 'Next follow-up',
  'followUp.none': 'No follow-up time set.',
  'followUp.due': 'Reminds {owner} at {time}',
  'followUp.setBy': 'set by {name}',
  'followUp.when': 'Follow up at',
  'followUp.note': 'What to do (optional)',
  'followUp.save': 'Set reminder',
  'followUp.clear': 'Clear',
  'followUp.edit': 'Change',
  'followUp.cancel': 'Cancel',
  'followUp.invalid': 'Pick a time in the future.',
  'followUp.readOnly': "When it is due, the customer's owner gets a WeCom app message.",
  'settings.title': 'App message reminders',
  'settings.intro': 'These come to you as WeCom app messages. Turn one off and that kind is no longer sent.',
  'settings.kind.reminder': 'Follow-up reminders: a customer I own is due for a follow-up',
  'settings.kind.lost_customer': 'Lost customers: a customer deleted me, or a member following a customer I own',
  'settings.kind.new_customer': 'New customers: a contact I added became a new customer',
  'settings.saved': 'Saved',
  'lost.title': 'Lost customers',
  'lost.intro': 'Customers who deleted a member (del_follow_user); a member deleting a customer is not listed.',
  'lost.member': 'Member userid',
  'lost.from': 'From',
  'lost.to': 'To',
  'lost.search': 'Search',
  'lost.empty': 'No lost customers in this period.',
  'lost.col.at': 'When',
  'lost.col.member': 'Member deleted',
  'lost.col.customer': 'Customer',
  'lost.col.notified': 'Told',
  'lost.unknownName': '(unknown)',
  'lost.open': 'Open',
  'failures.title': 'App messages',
  'failures.none': 'No app message failed recently.',
  'failures.intro': "App messages that could not be sent (never retried endlessly). For a member outside the app's visible range, add the member or their department to the app's visible range in the admin console.",
  'failures.kind.reminder': 'Follow-up reminder',
  'failures.kind.lost_customer': 'Lost customer',
  'failures.kind.new_customer': 'New customer',
  'failures.reason.invaliduser': "Member outside the app's visible range",
  'failures.reason.outcome_unknown': 'Outcome unknown; not sent again to avoid a duplicate',
  'failures.reason.wecom_81013': "No valid recipient (outside the app's visible range)",
  'failures.reason.wecom_48002': 'The app may not call this API',
  'failures.attempts': '{count} attempts',
  'customerPage.back': 'Back',
};

export const tr = translator<Key>({ 'zh-CN': zhCN, en });

/** A key of this table when it has one (reasons and kinds the worker may add later show as sent). */
export function known(key: string): key is Key {
  return key in zhCN;
}
