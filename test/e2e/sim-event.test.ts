import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { describe, expect, inject, it } from 'vitest';
import { root } from '../../scripts/local.ts';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { sendEvent } from '../../dev/simulator/events.ts';
import { loginAs } from './session.ts';

const run = promisify(execFile);

describe('sim:event against the running product', () => {
  const baseUrl = inject('baseUrl');
  const simulatorUrl = inject('simulatorUrl');

  it('delivers a signed, encrypted event that the worker accepts and applies', async () => {
    const delivery = await sendEvent('contact-edited', { target: baseUrl, user: 'wangwu', contact: demoIds.externalUserIds.withoutUnionid, createTime: 1_790_000_001 });
    expect(delivery.accepted).toBe(true);
    expect(delivery.attempts).toHaveLength(1);

    const cookie = await loginAs(baseUrl, simulatorUrl, demoIds.admin);
    let applied: { status: string } | undefined;
    for (let i = 0; i < 100 && applied?.status !== 'applied'; i++) {
      const response = await fetch(`${baseUrl}/api/admin/events`, { headers: { cookie } });
      const { events } = (await response.json()) as { events: Array<{ status: string; changeType: string; event: { createTime: number } }> };
      applied = events.find((e) => e.changeType === 'edit_external_contact' && e.event.createTime === 1_790_000_001);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(applied?.status).toBe('applied');
  });

  it('runs as `npm run sim:event -- <kind>` and reports the answer', async () => {
    const { stdout } = await run(process.execPath, [join(root, 'dev/simulator/send-event.ts'), 'follow-user-deleted', '--target', baseUrl, '--user', 'zhaoliu', '--contact', demoIds.externalUserIds.partlyHiddenFollowers], { cwd: root });
    expect(stdout).toContain('attempt 1: 200');
    expect(stdout).toContain('follow-user-deleted: accepted');
  });

  it('retries like WeCom when the answer is not 200', async () => {
    const delivery = await sendEvent('contact-added', { target: baseUrl, keys: { corpId: demoIds.corpId, agentId: '999', callbackToken: 'x', encodingAESKey: 'A'.repeat(43) }, retries: 3, retryDelayMs: 10 });
    expect(delivery.accepted).toBe(false);
    expect(delivery.attempts.map((a) => a.status)).toEqual([404, 404, 404, 404]);
  });
});
