/**
 * @module
 * WeCom tags, the remark editor and the admin's tag page, in zh-CN and en (`en` must have every key
 * `zh-CN` has). They travel with those components' lazy chunks, never in the first load.
 */
import { translator } from './index.ts';

const zhCN = {
  'tags.title': '企业微信标签',
  'tags.hint': '标签记在你与该客户的关系上，其他同事的标签不受影响。',
  'tags.personal': '个人标签（仅在企业微信中修改）',
  'tags.mapped': '同步到客户字段「{field}」',
  'tags.readonly': '你没有跟进该客户（或只能查看），标签不可修改。',
  'tags.saving': '保存中…',
  'tags.crm.pending': '已在企业微信生效，但客户字段 {fields} 暂未写入：{reason}。系统会自动重试。',
  'tags.crm.applied': '已同步到客户字段 {fields}。',
  'tags.empty': '企业还没有配置客户标签。',
  'remark.title': '备注',
  'remark.remark': '备注名',
  'remark.description': '描述',
  'remark.mobiles': '备注手机号（每行一个）',
  'remark.save': '保存到企业微信',
  'remark.saved': '已保存到企业微信。',
  'remark.count': '{count}/{max}',
  'error.relationship_ended': '你与该客户已不再是好友关系（一方删除了对方），没有做任何修改。',
  'error.tag_not_found': '这个标签已在企业微信中被删除，列表已刷新，没有做任何修改。',
  'error.not_a_corp_tag': '只能设置企业标签；个人标签或已删除的标签无法设置。',
  'error.too_long': '内容过长：企业微信最多允许 {max} 个字。',
  'error.invalid_value': '企业微信拒绝了这个值（可能过长或为空）。',
  'error.not_following': '标签和备注属于每位成员自己的客户关系，你没有跟进该客户。',
  'error.tag_not_editable': '企业微信只允许本应用修改或删除自己创建的标签；这个标签请到管理后台修改。',
  'error.tag_name_taken': '该名称已被使用，请换一个。',
  'error.wecom_48002': '应用没有客户联系接口权限：请管理员在「客户联系 → 可调用接口的应用」中添加本应用。',
  'error.wecom_84074': '你没有客户联系权限：请管理员在「客户联系 → 权限配置」中为你开启。',
  'error.other': '操作失败：{message}',
  'admin.tags.title': '客户标签与字段映射',
  'admin.tags.intro': '企业标签由企业微信管理。这里可以新建标签；管理后台或其他应用创建的标签，只能在管理后台修改或删除。',
  'admin.tags.group': '标签组',
  'admin.tags.field': '映射到客户字段',
  'admin.tags.fieldPlaceholder': '不映射',
  'admin.tags.saveMappings': '保存映射',
  'admin.tags.mappingRule': '映射后以企业微信为准：客户字段保存该组在所有跟进关系上的标签名，在 CRM 中只读。',
  'admin.tags.newGroup': '标签组名称（新建或已有）',
  'admin.tags.newTags': '标签名称（逗号分隔）',
  'admin.tags.add': '新建标签',
  'admin.tags.rename': '改名',
  'admin.tags.delete': '删除',
  'admin.tags.pending': '待重试的客户字段写入',
  'admin.tags.pendingNone': '没有待重试的写入。',
  'admin.tags.retry': '立即重试',
  'admin.tags.attempts': '已尝试 {count} 次',
} as const;

const en: Record<keyof typeof zhCN, string> = {
  'tags.title': 'WeCom tags',
  'tags.hint': "Tags belong to your own relationship with this customer; colleagues' tags are not changed.",
  'tags.personal': 'Personal tags (changed in WeCom only)',
  'tags.mapped': 'Kept in the customer field “{field}”',
  'tags.readonly': 'You do not follow this customer (or may only read): tags cannot be changed.',
  'tags.saving': 'Saving…',
  'tags.crm.pending': 'Done in WeCom, but the customer fields {fields} are not written yet: {reason}. It will be retried.',
  'tags.crm.applied': 'Written to the customer fields {fields}.',
  'tags.empty': 'The company has no customer tags yet.',
  'remark.title': 'Remark',
  'remark.remark': 'Remark name',
  'remark.description': 'Description',
  'remark.mobiles': 'Remark mobiles (one per line)',
  'remark.save': 'Save to WeCom',
  'remark.saved': 'Saved to WeCom.',
  'remark.count': '{count}/{max}',
  'error.relationship_ended': 'You and this customer are no longer contacts (one of you deleted the other). Nothing was changed.',
  'error.tag_not_found': 'This tag was deleted in WeCom. The list was reloaded; nothing was changed.',
  'error.not_a_corp_tag': 'Only corp tags can be set; personal or deleted tags cannot.',
  'error.too_long': 'Too long: WeCom allows at most {max} characters.',
  'error.invalid_value': 'WeCom refused this value (too long or empty).',
  'error.not_following': "Tags and remarks belong to each member's own relationship, and you do not follow this customer.",
  'error.tag_not_editable': 'WeCom lets this app edit or delete only the tags it created; change this one in the admin console.',
  'error.tag_name_taken': 'That name is already used; choose another.',
  'error.wecom_48002': 'The app may not call the customer-contact APIs: an admin must add it under 客户联系 → 可调用接口的应用.',
  'error.wecom_84074': 'You have no customer-contact permission: an admin must enable it under 客户联系 → 权限配置.',
  'error.other': 'That failed: {message}',
  'admin.tags.title': 'Customer tags and field mappings',
  'admin.tags.intro': 'Corp tags live in WeCom. New tags can be added here; tags made in the admin console or by another app can only be changed there.',
  'admin.tags.group': 'Tag group',
  'admin.tags.field': 'Customer field',
  'admin.tags.fieldPlaceholder': 'not mapped',
  'admin.tags.saveMappings': 'Save mappings',
  'admin.tags.mappingRule': "Once mapped, WeCom decides: the field holds the group's tag names on every relationship, and is read-only in the CRM.",
  'admin.tags.newGroup': 'Tag group name (new or existing)',
  'admin.tags.newTags': 'Tag names (comma-separated)',
  'admin.tags.add': 'Add tags',
  'admin.tags.rename': 'Rename',
  'admin.tags.delete': 'Delete',
  'admin.tags.pending': 'Customer field writes waiting to be retried',
  'admin.tags.pendingNone': 'Nothing is waiting.',
  'admin.tags.retry': 'Retry now',
  'admin.tags.attempts': '{count} attempts',
};

export const tt = translator({ 'zh-CN': zhCN, en });

/** A failed tag or remark action in the member's words; the worker's message when the code is not one of ours. */
export function tagsErrorText(error: { code: string; message: string; body: Readonly<Record<string, unknown>> }): string {
  const key = `error.${error.code}` as keyof typeof zhCN;
  if (key in zhCN) return tt(key, { max: typeof error.body.max === 'number' ? error.body.max : '' });
  return tt('error.other', { message: error.message });
}
