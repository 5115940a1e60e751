/**
 * @module
 * Customers through the worker: search, read, edit with a version, notes, timeline.
 * Reads outside the reader's scope are refused (search shows them only as summaries);
 * a stale version is a conflict with the current record, never a silent overwrite.
 */
import type { Crm, Customer, CustomerPatch } from '../crm/port.ts';
import { AppError } from '../errors.ts';
import { actorOf, type User } from '../identity/users.ts';
import { customerInScope, type Scope } from './access.ts';
import type { ContactStore } from './store.ts';
import type { TagMappings } from '../tags/mappings.ts';
import { customerView, memberNames, mergeTimeline, timelineMembers } from './view.ts';
import type { CustomerView, NoteView, TimelineItem } from '../wire.ts';

export interface CustomersDeps {
  corpId: string;
  crm: Crm;
  store: ContactStore;
  db: D1Database;
  mappings: TagMappings;
}

export function createCustomersService(deps: CustomersDeps) {
  const { corpId, crm, store, db } = deps;

  async function names(customers: readonly Customer[], extra: Iterable<string> = []) {
    return memberNames(db, corpId, [...customers.map((c) => c.ownerUserid).filter((id): id is string => id !== null), ...extra]);
  }

  async function readable(id: string, scope: Scope): Promise<Customer> {
    const customer = await crm.get(corpId, id);
    if (!customer) throw new AppError(404, 'customer_not_found', `No customer ${id}`);
    if (!(await customerInScope(scope, customer, corpId, store))) {
      throw new AppError(403, 'not_your_customer', 'This customer is not owned by you or your departments, nor bound to a contact you follow');
    }
    return customer;
  }

  async function writable(id: string, scope: Scope): Promise<Customer> {
    const customer = await readable(id, scope);
    if (!scope.canWrite) throw new AppError(403, 'forbidden', 'Your role can read but not change customers');
    return customer;
  }

  return {
    async search(text: string, scope: Scope): Promise<CustomerView[]> {
      const found = await crm.find(corpId, { text, limit: 20 });
      const owners = await names(found);
      return Promise.all(found.map(async (customer) => customerView(customer, owners, await customerInScope(scope, customer, corpId, store))));
    },

    async get(id: string, scope: Scope): Promise<CustomerView> {
      const customer = await readable(id, scope);
      return customerView(customer, await names([customer]), true);
    },

    async update(id: string, expectedVersion: number, patch: CustomerPatch, user: User, scope: Scope, idempotencyKey: string): Promise<CustomerView> {
      const current = await writable(id, scope);
      // WeCom is the truth for a field mapped to a tag group (docs/tags.md): it changes with the tags only.
      if (patch.customFields) {
        const mapped = (await deps.mappings.list(corpId)).map((m) => m.field);
        const touched = mapped.filter((field) => (patch.customFields?.[field] ?? '') !== (current.customFields[field] ?? ''));
        if (touched.length > 0) {
          throw new AppError(409, 'field_mapped', `${touched.join(', ')} follows the customer's WeCom tags: change the tags in the sidebar instead`, { fields: touched });
        }
      }
      const result = await crm.update(id, expectedVersion, patch, { corpId, actor: actorOf(user), idempotencyKey });
      if (!result.ok && result.reason === 'not_found') throw new AppError(404, 'customer_not_found', `No customer ${id}`);
      if (!result.ok) {
        throw new AppError(412, 'version_conflict', `Someone changed this customer since you read it (you had version ${expectedVersion}, it is now ${result.current.version})`, {
          current: customerView(result.current, await names([result.current]), true),
        });
      }
      return customerView(result.customer, await names([result.customer]), true);
    },

    async notes(id: string, scope: Scope): Promise<NoteView[]> {
      await readable(id, scope);
      const notes = await crm.listNotes(corpId, id);
      const authors = await memberNames(db, corpId, notes.map((n) => n.authorUserid));
      return notes.map((note) => ({ id: note.id, body: note.body, author: { userid: note.authorUserid, name: authors.get(note.authorUserid) ?? note.authorUserid }, createdAt: note.createdAt }));
    },

    async addNote(id: string, body: string, user: User, scope: Scope, idempotencyKey: string): Promise<NoteView> {
      await writable(id, scope);
      const author = actorOf(user);
      const note = await crm.addNote(id, body, { corpId, actor: author, idempotencyKey });
      return { id: note.id, body: note.body, author: { userid: note.authorUserid, name: user.name }, createdAt: note.createdAt };
    },

    async timeline(id: string, scope: Scope): Promise<TimelineItem[]> {
      await readable(id, scope);
      const [touchpoints, history] = await Promise.all([store.touchpointsOfCustomer(corpId, id), crm.history(corpId, id)]);
      const names = await memberNames(db, corpId, timelineMembers([...touchpoints, ...history]));
      return mergeTimeline(touchpoints, history, names);
    },
  };
}

export type CustomersService = ReturnType<typeof createCustomersService>;
