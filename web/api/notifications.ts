/**
 * @module
 * Follow-up times, the member's app-message settings, and the admin views of app messages
 * (lost customers, failed sends).
 */
import { request } from './http.ts';
import type { AppMessageFailure, AppMessageFailureList, FollowUp, FollowUpAnswer, LostCustomer, LostCustomerList, NotificationKind, NotificationSettings } from './types.ts';

const followUpPath = (customerId: string) => `/api/customers/${encodeURIComponent(customerId)}/follow-up`;

export async function getFollowUp(customerId: string): Promise<FollowUp | null> {
  return (await request<FollowUpAnswer>('GET', followUpPath(customerId))).followUp;
}

export async function setFollowUp(customerId: string, dueAt: number, note: string): Promise<FollowUp | null> {
  return (await request<FollowUpAnswer>('PUT', followUpPath(customerId), { body: { dueAt, note } })).followUp;
}

export async function clearFollowUp(customerId: string): Promise<void> {
  await request<FollowUpAnswer>('DELETE', followUpPath(customerId));
}

export async function getNotificationSettings(): Promise<Record<NotificationKind, boolean>> {
  return (await request<NotificationSettings>('GET', '/api/me/notifications')).settings;
}

export async function putNotificationSettings(settings: Partial<Record<NotificationKind, boolean>>): Promise<Record<NotificationKind, boolean>> {
  return (await request<NotificationSettings>('PUT', '/api/me/notifications', { body: { settings } })).settings;
}

export async function listLostCustomers(filter: { member?: string; from?: string; to?: string }): Promise<LostCustomer[]> {
  const query = new URLSearchParams(Object.entries(filter).filter((entry): entry is [string, string] => Boolean(entry[1])));
  return (await request<LostCustomerList>('GET', `/api/admin/lost-customers?${query.toString()}`)).items;
}

export async function listAppMessageFailures(): Promise<AppMessageFailure[]> {
  return (await request<AppMessageFailureList>('GET', '/api/admin/app-messages/failures')).failures;
}
