/**
 * @module
 * The product's event handlers. Each area registers its own here, so one file shows
 * what every kind of WeCom event does.
 */
import { applyDirectoryEvent } from '../identity/directory-events.ts';
import { createRegistry } from './registry.ts';

export const handlers = createRegistry().on('change_contact', applyDirectoryEvent);
