/**
 * @module
 * A customer's follow-up through the sidebar, under the customer's own rules: whoever may read the
 * customer sees it, whoever may edit the customer sets and clears it (contacts/customers.ts: a
 * customer outside the reader's scope is 403 `not_your_customer`, an unknown one 404, a viewer 403
 * `forbidden`).
 */
import type { CustomersService } from '../contacts/customers.ts';
import type { Scope } from '../contacts/access.ts';
import { memberNames } from '../contacts/view.ts';
import { AppError } from '../errors.ts';
import type { FollowUpView } from '../wire.ts';
import type { FollowUp, FollowUps } from './follow-ups.ts';

export interface FollowUpAccessDeps {
  corpId: string;
  db: D1Database;
  customers: CustomersService;
  followUps: FollowUps;
}

export function createFollowUpAccess(deps: FollowUpAccessDeps) {
  const { corpId, db, customers, followUps } = deps;

  async function view(followUp: FollowUp | undefined): Promise<FollowUpView | null> {
    if (!followUp) return null;
    const name = (await memberNames(db, corpId, [followUp.setBy])).get(followUp.setBy) ?? followUp.setBy;
    return { dueAt: followUp.dueAt, note: followUp.note, setBy: { userid: followUp.setBy, name }, setAt: followUp.setAt };
  }

  async function writable(customerId: string, scope: Scope): Promise<void> {
    await customers.get(customerId, scope);
    if (!scope.canWrite) throw new AppError(403, 'forbidden', 'Your role can read but not change customers');
  }

  return {
    async get(customerId: string, scope: Scope): Promise<FollowUpView | null> {
      await customers.get(customerId, scope);
      return view(await followUps.get(customerId));
    },

    async set(customerId: string, input: { dueAt: number; note: string }, userid: string, scope: Scope, now: number): Promise<FollowUpView | null> {
      await writable(customerId, scope);
      await followUps.set({ customerId, dueAt: input.dueAt, note: input.note, setBy: userid, setAt: now });
      return view(await followUps.get(customerId));
    },

    async clear(customerId: string, scope: Scope): Promise<void> {
      await writable(customerId, scope);
      await followUps.clear(customerId);
    },
  };
}

export type FollowUpAccess = ReturnType<typeof createFollowUpAccess>;
