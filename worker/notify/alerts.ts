/**
 * @module
 * Alerts from `change_external_contact`: when a customer deletes a member (`del_follow_user`), that
 * member and the customer's owner get an app message (service.ts). When the member deletes the
 * customer (`del_external_contact`), only the timeline records it (contacts/events.ts): they know.
 * Runs in the queue consumer, never on the callback's path; replays queue nothing twice.
 */
import type { EventHandler } from '../events/registry.ts';

export const alertOnContactEvent: EventHandler<'change_external_contact'> = async (event, { services, eventId }) => {
  if (event.changeType !== 'del_follow_user') return;
  await services.notify.customerLost({ eventId, userid: event.userId, externalUserId: event.externalUserId, at: event.createTime * 1000 });
};
