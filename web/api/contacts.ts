/**
 * @module
 * `/api/contacts/:externalUserId`: the contact with its binding, and binding changes.
 */
import { request } from './http.ts';
import type { BindingResult, ContactDetail, NewCustomer } from './types.ts';

const base = (externalUserId: string) => `/api/contacts/${encodeURIComponent(externalUserId)}`;

export function getContact(externalUserId: string): Promise<ContactDetail> {
  return request<ContactDetail>('GET', base(externalUserId));
}

export function bindContact(externalUserId: string, customerId: string): Promise<BindingResult> {
  return request<BindingResult>('PUT', `${base(externalUserId)}/binding`, { body: { customerId } });
}

export async function unbindContact(externalUserId: string): Promise<void> {
  await request<{ ok: true }>('DELETE', `${base(externalUserId)}/binding`);
}

export function createCustomerForContact(externalUserId: string, draft: NewCustomer): Promise<BindingResult> {
  return request<BindingResult>('POST', `${base(externalUserId)}/customer`, { body: draft });
}
