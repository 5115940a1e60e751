/**
 * @module
 * `npm run sim:event -- <kind> [--user ID] [--contact ID] [--chat ID] [--id ID] [--name NAME] [--target URL]`
 * sends one correctly signed and encrypted callback to a running worker, as WeCom would (with its retries).
 */
import { parseArgs } from 'node:util';
import { EVENT_KINDS, sendEvent, type EventKind } from './events.ts';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    target: { type: 'string', default: 'http://127.0.0.1:8787' },
    user: { type: 'string' },
    contact: { type: 'string' },
    chat: { type: 'string' },
    id: { type: 'string' },
    name: { type: 'string' },
  },
});

const kind = positionals[0];
if (!kind || !(kind in EVENT_KINDS)) {
  console.error(`usage: npm run sim:event -- <kind> [--user ID] [--contact ID] [--target URL]\nkinds: ${Object.keys(EVENT_KINDS).join(', ')}`);
  process.exit(2);
}

const options = Object.fromEntries(Object.entries(values).filter(([, value]) => value !== undefined)) as { target: string } & Record<string, string>;
const delivery = await sendEvent(kind as EventKind, options);
for (const [index, attempt] of delivery.attempts.entries()) {
  console.log(`attempt ${index + 1}: ${attempt.status ?? attempt.error} in ${attempt.ms} ms`);
}
console.log(delivery.accepted ? `${kind}: accepted` : `${kind}: not accepted after ${delivery.attempts.length} attempts`);
process.exit(delivery.accepted ? 0 : 1);
