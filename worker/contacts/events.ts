/**
 * @module
 * `change_external_contact` callbacks become touchpoints and relationship states, and a new
 * contact is bound or created (auto-bind.ts). An edit is read back from WeCom: the timeline says
 * what changed (against the cached profile, when there is one) and CRM fields mapped to tag groups
 * follow (docs/tags.md). Touchpoints are keyed by the event's row, so a
 * replayed event adds nothing; relationships are ended, never deleted, and CRM data is never removed.
 */
import type { EventHandler } from '../events/registry.ts';
import { log } from '../log.ts';
import { WeComError } from '../wecom/errors.ts';
import { autoBind } from './auto-bind.ts';
import { fetchProfile } from './profile.ts';
import type { RecordedDetail } from '../crm/port.ts';
import { recordFollows, type TouchpointKind } from './store.ts';
import { followEdit } from '../tags/diff.ts';

export const applyContactEvent: EventHandler<'change_external_contact'> = async (event, { services, eventId }) => {
  const { store, profiles: cache, config } = services;
  const corpId = event.corpId;
  const externalUserId = event.externalUserId;
  const at = event.createTime * 1000;
  const now = Date.now();
  const binding = await store.binding(corpId, externalUserId);

  const touchpoint = (kind: TouchpointKind, detail: RecordedDetail = {}) =>
    store.addTouchpoint(corpId, {
      externalUserId,
      customerId: binding?.customerId ?? null,
      kind,
      at,
      actorUserid: event.userId,
      detail,
      sourceKey: `event:${eventId}`,
    });

  switch (event.changeType) {
    case 'add_external_contact':
    case 'add_half_external_contact': {
      await store.followActive(corpId, externalUserId, event.userId, at, now);
      await touchpoint('contact_added', event.state ? { state: event.state } : {});
      if (binding) return;
      await cache.drop(corpId, externalUserId);
      let profile;
      try {
        profile = await fetchProfile(services.wecom, externalUserId, now);
      } catch (error) {
        // Deleted again before we got here: nothing to bind, and retrying cannot change that.
        if (error instanceof WeComError && (error.errcode === 84061 || error.errcode === 40096)) {
          log('warn', 'contacts.add_without_profile', { corpId, eventId, errcode: error.errcode });
          return;
        }
        throw error;
      }
      await cache.put(corpId, profile);
      await recordFollows(store, corpId, profile, now);
      const result = await autoBind(profile, event.userId, { corpId, crm: services.crm, store, autoCreate: config.autoCreateCustomers, now });
      log('info', 'contacts.auto_bind', { corpId, eventId, outcome: result.outcome });
      // A contact added with tags (a 「联系我」 code can tag on add) fills the mapped CRM fields of the customer just bound.
      if (result.customerId) await services.mappedSync.syncContact(externalUserId, 'system:wecom-event');
      if (result.outcome === 'created' && result.customerId) {
        await services.notify.customerCreated({ userid: event.userId, customerId: result.customerId, name: profile.contact.name, at });
      }
      return;
    }
    case 'edit_external_contact': {
      // The cached profile is how things stood before the edit, as far as we know; WeCom's answer now is after it.
      const before = await cache.get(corpId, externalUserId);
      await cache.drop(corpId, externalUserId);
      let after;
      try {
        after = await fetchProfile(services.wecom, externalUserId, now);
      } catch (error) {
        if (error instanceof WeComError && (error.errcode === 84061 || error.errcode === 40096)) {
          await touchpoint('contact_edited');
          return;
        }
        throw error;
      }
      await cache.put(corpId, after);
      await recordFollows(store, corpId, after, now);
      const mine = (profile: typeof after | undefined) => profile?.followUsers.find((f) => f.userid === event.userId);
      await touchpoint('contact_edited', followEdit(mine(before), mine(after)));
      // A CRM write that fails is kept to retry (tags/mappings.ts): the event itself is done.
      await services.mappedSync.syncContact(externalUserId, 'system:wecom-event');
      return;
    }
    case 'del_external_contact':
      await store.followEnded(corpId, externalUserId, event.userId, at, now);
      await cache.drop(corpId, externalUserId);
      await touchpoint('contact_deleted', event.source === 'DELETE_BY_TRANSFER' ? { reason: 'transfer' } : {});
      return;
    case 'del_follow_user':
      await store.followEnded(corpId, externalUserId, event.userId, at, now);
      await cache.drop(corpId, externalUserId);
      await touchpoint('follow_user_deleted');
      return;
    default:
      // transfer_fail, msg_audit_approved: recorded in the event log, nothing to change here.
      return;
  }
};
