/**
 * @module
 * The worker's entry: exports the handlers (and the Durable Object and Workflow classes) and nothing else.
 */
import { createApp } from './app.ts';
import type { Env, EventMessage } from './bindings.ts';
import { consumeDeadLetters, consumeEvents } from './events/consumer.ts';
import { handlers } from './events/handlers.ts';
import { firstSyncOnce } from './jobs/first-sync.ts';
import { APP_MESSAGES_QUEUE, type SendHop } from './notify/chains.ts';
import { consumeSendHops } from './notify/hops.ts';
import { runScheduledJobs } from './scheduled.ts';

export { TokenBroker } from './wecom/token-broker.ts';
export { OrgSyncWorkflow, ReconcileWorkflow } from './jobs/workflows.ts';

const app = createApp();

export default {
  fetch(request, env, ctx) {
    firstSyncOnce(env, ctx);
    return app.fetch(request, env, ctx);
  },
  async queue(batch, env) {
    // The queue's name says what its messages are.
    if (batch.queue === APP_MESSAGES_QUEUE) await consumeSendHops(batch as MessageBatch<unknown> as MessageBatch<SendHop>, env);
    else if (batch.queue.endsWith('-dlq')) await consumeDeadLetters(batch as MessageBatch<EventMessage>, env);
    else await consumeEvents(batch as MessageBatch<EventMessage>, env, handlers);
  },
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(runScheduledJobs(controller.cron, env, controller.scheduledTime));
  },
} satisfies ExportedHandler<Env, EventMessage | SendHop>;
