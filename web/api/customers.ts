/**
 * @module
 * `/api/customers`: search, read, edit under optimistic concurrency, notes and the timeline.
 */
import { ApiError, request } from './http.ts';
import type { Customer, CustomerAnswer, CustomerList, CustomerPatch, Note, NoteAnswer, NoteList, Timeline, TimelineItem } from './types.ts';

const base = (id: string) => `/api/customers/${encodeURIComponent(id)}`;

/** A 412: someone saved the record after we read it. `current` is what is stored now. */
export class VersionConflictError extends ApiError {
  readonly current: Customer;

  constructor(error: ApiError, current: Customer) {
    super(error.status, error.code, error.message, { body: { ...error.body } });
    this.name = 'VersionConflictError';
    this.current = current;
  }
}

export async function searchCustomers(q: string): Promise<Customer[]> {
  const { customers } = await request<CustomerList>('GET', `/api/customers?q=${encodeURIComponent(q)}`);
  return customers;
}

export async function getCustomer(id: string): Promise<Customer> {
  const { customer } = await request<CustomerAnswer>('GET', base(id));
  return customer;
}

/** Sends the version we read as `If-Match`, so a concurrent edit is never overwritten silently. */
export async function patchCustomer(id: string, version: number, patch: CustomerPatch): Promise<Customer> {
  try {
    const { customer } = await request<CustomerAnswer>('PATCH', base(id), { body: patch, headers: { 'if-match': `"${version}"` } });
    return customer;
  } catch (error) {
    const current = error instanceof ApiError && error.status === 412 ? error.body.current : undefined;
    if (error instanceof ApiError && typeof current === 'object' && current !== null) throw new VersionConflictError(error, current as Customer);
    throw error;
  }
}

export async function listNotes(customerId: string): Promise<Note[]> {
  const { notes } = await request<NoteList>('GET', `${base(customerId)}/notes`);
  return notes;
}

export async function addNote(customerId: string, body: string): Promise<Note> {
  const { note } = await request<NoteAnswer>('POST', `${base(customerId)}/notes`, { body: { body } });
  return note;
}

export async function getTimeline(customerId: string): Promise<TimelineItem[]> {
  const { items } = await request<Timeline>('GET', `${base(customerId)}/timeline`);
  return items;
}
