/**
 * @module
 * The member's WeCom relationship with a contact (corp tags, remark) and the admin's tag library
 * and group → CRM field mappings (docs/api.md). Each write carries a fresh Idempotency-Key.
 */
import type { AdminTags, ContactTags, NewCorpTags, RemarkChanged, RemarkEdit, TagsChange, TagsChanged } from '../../worker/wire.ts';
import { request } from './http.ts';

const base = (externalUserId: string) => `/api/contacts/${encodeURIComponent(externalUserId)}`;
const once = () => ({ 'idempotency-key': crypto.randomUUID() });

export function getContactTags(externalUserId: string): Promise<ContactTags> {
  return request<ContactTags>('GET', `${base(externalUserId)}/tags`);
}

export function markTags(externalUserId: string, change: TagsChange): Promise<TagsChanged> {
  return request<TagsChanged>('POST', `${base(externalUserId)}/tags`, { body: change, headers: once() });
}

export function editRemark(externalUserId: string, edit: RemarkEdit): Promise<RemarkChanged> {
  return request<RemarkChanged>('PATCH', `${base(externalUserId)}/remark`, { body: edit, headers: once() });
}

export function getAdminTags(): Promise<AdminTags> {
  return request<AdminTags>('GET', '/api/admin/tags');
}

export function addCorpTags(input: NewCorpTags): Promise<AdminTags> {
  return request<AdminTags>('POST', '/api/admin/tags', { body: input });
}

export function renameCorpTag(id: string, name: string): Promise<AdminTags> {
  return request<AdminTags>('PATCH', `/api/admin/tags/${encodeURIComponent(id)}`, { body: { name } });
}

export function deleteCorpTag(id: string): Promise<AdminTags> {
  return request<AdminTags>('DELETE', `/api/admin/tags/${encodeURIComponent(id)}`);
}

export function setTagMappings(mappings: Array<{ groupId: string; field: string }>): Promise<AdminTags> {
  return request<AdminTags>('PUT', '/api/admin/tags/mappings', { body: { mappings } });
}

export function retryPendingWrites(): Promise<AdminTags & { applied: number; waiting: number }> {
  return request<AdminTags & { applied: number; waiting: number }>('POST', '/api/admin/tags/pending/retry');
}
