/**
 * @module
 * `change_contact` callbacks keep users and departments current between org syncs.
 * Replaying an event leaves the same state: every step is an upsert, a rename guarded by
 * existence, or a deactivation of someone already inactive.
 */
import type { EventHandler } from '../events/registry.ts';
import { memberFacts } from './users.ts';

export const applyDirectoryEvent: EventHandler<'change_contact'> = async (event, { services }) => {
  const { users, config } = services;
  const now = Date.now();
  switch (event.changeType) {
    case 'create_user':
    case 'update_user': {
      if (!event.userId) return;
      if (event.newUserId && event.newUserId !== event.userId) await users.renameWecomId(event.corpId, event.userId, event.newUserId, now);
      // The event carries the changed fields of a member record under their XML names.
      const facts = memberFacts({ userid: event.newUserId ?? event.userId, name: event.name, mobile: event.mobile, department: event.departments, status: event.status });
      // A status that turns the member inactive ends their sessions inside upsertMember.
      await users.upsertMember(event.corpId, facts, { defaultRole: config.defaultRole, adminUserIds: config.adminUserIds, reactivate: true, now });
      return;
    }
    case 'delete_user': {
      if (!event.userId) return;
      await users.deactivate(event.corpId, event.userId, now);
      return;
    }
    case 'create_party':
    case 'update_party': {
      if (event.partyId === undefined) return;
      await users.upsertDepartment(
        event.corpId,
        {
          id: event.partyId,
          ...(event.name !== undefined ? { name: event.name } : {}),
          ...(event.parentId !== undefined ? { parentId: event.parentId } : {}),
          ...(event.order !== undefined ? { order: event.order } : {}),
        },
        now,
      );
      return;
    }
    case 'delete_party': {
      if (event.partyId !== undefined) await users.deleteDepartment(event.corpId, event.partyId);
      return;
    }
    default:
      // update_tag and future change types carry nothing this product keeps.
      return;
  }
};
