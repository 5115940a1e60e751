/**
 * @module
 * The product under `wrangler dev` (scripts/local.ts, as `npm run dev` starts it) survives what
 * the workerd test pool cannot show: a real socket streaming an oversized chunked callback body.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, startLocal, type Local } from '../../scripts/local.ts';
import { demoIds } from '../fixtures/demo-corp.ts';

/** POSTs `total` bytes with Transfer-Encoding: chunked (no Content-Length), as fast as the socket takes them. */
function chunkedPost(url: string, total: number): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-type': 'text/xml', 'transfer-encoding': 'chunked' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    const chunk = Buffer.alloc(64 * 1024, 'A');
    let sent = 0;
    const write = (): void => {
      while (sent < total) {
        sent += chunk.length;
        if (!req.write(chunk)) {
          req.once('drain', write);
          return;
        }
      }
      req.end();
    };
    write();
  });
}

describe('wrangler dev with an oversized chunked callback', () => {
  let local: Local;
  let persistTo: string;
  const output: string[] = [];

  beforeAll(async () => {
    persistTo = await mkdtemp(join(tmpdir(), 'local-server-test-'));
    local = await startLocal({ port: await freePort(), simulatorPort: 0, persistTo, log: (line) => output.push(line) });
  }, 90_000);

  afterAll(async () => {
    await local?.stop();
    await rm(persistTo, { recursive: true, force: true });
  });

  it('answers 413 to a 2 MB chunked POST and keeps serving', async () => {
    const url = `${local.url}/wecom/callback/${demoIds.corpId}/${demoIds.agentId}?msg_signature=${'0'.repeat(40)}&timestamp=1&nonce=2`;
    for (let round = 0; round < 2; round++) {
      const refused = await chunkedPost(url, 2 * 1024 * 1024);
      expect(refused.status, output.join('').slice(-2000)).toBe(413);
      expect(JSON.parse(refused.body)).toMatchObject({ error: 'too_large' });
      const health = await fetch(`${local.url}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status, output.join('').slice(-2000)).toBe(200);
    }
  });
});
