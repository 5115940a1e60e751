/**
 * @module
 * The product's event handlers. Each area registers its own here, so one file shows
 * what every kind of WeCom event does.
 */
import { applyContactEvent } from '../contacts/events.ts';
import { applyDirectoryEvent } from '../identity/directory-events.ts';
import { applyTagEvent } from '../tags/events.ts';
import { alertOnContactEvent } from '../notify/alerts.ts';
import { createRegistry } from './registry.ts';

export const handlers = createRegistry()
  .on('change_contact', applyDirectoryEvent)
  .on('change_external_contact', applyContactEvent)
  .on('change_external_tag', applyTagEvent)
  // After the contact's own handler, which writes the touchpoint the alert names its recipients on.
  .on('change_external_contact', alertOnContactEvent);
