/**
 * @module
 * `/api/replies`: the quick replies a member may use, each use counted, and the library's
 * management by admins and managers.
 */
import { request } from './http.ts';
import type { ManagedReply, ManagedReplyAnswer, ManagedReplyList, ReplyDraft, ReplyList, ReplyUse } from './types.ts';

export function listReplies(q = ''): Promise<ReplyList> {
  return request<ReplyList>('GET', q ? `/api/replies?q=${encodeURIComponent(q)}` : '/api/replies');
}

export async function recordReplyUse(id: number, action: ReplyUse): Promise<void> {
  await request<{ ok: true }>('POST', `/api/replies/${id}/usage`, { body: { action } });
}

export function listManagedReplies(): Promise<ManagedReplyList> {
  return request<ManagedReplyList>('GET', '/api/replies/manage');
}

export async function createReply(draft: ReplyDraft): Promise<ManagedReply> {
  return (await request<ManagedReplyAnswer>('POST', '/api/replies/manage', { body: draft })).reply;
}

export async function updateReply(id: number, draft: ReplyDraft): Promise<ManagedReply> {
  return (await request<ManagedReplyAnswer>('PUT', `/api/replies/manage/${id}`, { body: draft })).reply;
}

export async function deleteReply(id: number): Promise<void> {
  await request<{ ok: true }>('DELETE', `/api/replies/manage/${id}`);
}
