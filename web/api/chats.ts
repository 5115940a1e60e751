/**
 * @module
 * `GET /api/chats/:chatId`: a customer group and its members with their binding status.
 */
import { request } from './http.ts';
import type { ChatDetail } from './types.ts';

export function getChat(chatId: string): Promise<ChatDetail> {
  return request<ChatDetail>('GET', `/api/chats/${encodeURIComponent(chatId)}`);
}
