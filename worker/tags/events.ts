/**
 * @module
 * `change_external_tag`: the corp tag library changed in WeCom (docs/wecom.md §6.3), so the cached
 * copy is read again. Whatever the change (create, update, delete, shuffle), the whole library is
 * re-read: it is one call, and it also catches changes whose events were missed.
 */
import type { EventHandler } from '../events/registry.ts';
import { log } from '../log.ts';

export const applyTagEvent: EventHandler<'change_external_tag'> = async (event, { services, eventId }) => {
  const library = await services.tagLibrary.refresh();
  log('info', 'tags.library_refreshed', { corpId: event.corpId, eventId, changeType: event.changeType, groups: library.groups.length });
};
