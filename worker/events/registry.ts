/**
 * @module
 * Event handlers by kind. Areas register what they do with an event (contacts, identity);
 * the consumer runs every handler for the event's kind. Handlers must be idempotent:
 * a queue redelivers after a failure, so the same event can reach a handler twice.
 */
import type { AppServices } from '../services.ts';
import type { WeComEvent } from '../wecom/events.ts';

export interface HandlerContext {
  /** The services of the app the event came to (worker/services.ts). */
  services: AppServices;
  /** The D1 row of the event, for touchpoints and logs that point back at it. */
  eventId: number;
}

export type EventHandler<K extends WeComEvent['kind'] = WeComEvent['kind']> = (
  event: Extract<WeComEvent, { kind: K }>,
  context: HandlerContext,
) => Promise<void>;

export interface HandlerRegistry {
  on<K extends WeComEvent['kind']>(kind: K, handler: EventHandler<K>): HandlerRegistry;
  handlersFor(event: WeComEvent): Array<(event: WeComEvent, context: HandlerContext) => Promise<void>>;
}

export function createRegistry(): HandlerRegistry {
  const byKind = new Map<string, Array<(event: WeComEvent, context: HandlerContext) => Promise<void>>>();
  const registry: HandlerRegistry = {
    on(kind, handler) {
      const list = byKind.get(kind) ?? [];
      list.push(handler as (event: WeComEvent, context: HandlerContext) => Promise<void>);
      byKind.set(kind, list);
      return registry;
    },
    handlersFor(event) {
      return byKind.get(event.kind) ?? [];
    },
  };
  return registry;
}
