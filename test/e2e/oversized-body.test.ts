/**
 * @module
 * The product under `wrangler dev` (scripts/local.ts, as `npm run dev` starts it) survives what
 * the workerd test pool cannot show: a real socket streaming an oversized chunked callback body.
 * It uses the e2e suite's running product: starting a second one would rebuild the dist/ that
 * product serves.
 */
import { request } from 'node:http';
import { describe, expect, inject, it } from 'vitest';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';

const baseUrl = inject('baseUrl');

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
  it('answers 413 to a 2 MB chunked POST and keeps serving', async () => {
    const url = `${baseUrl}/wecom/callback/${demoIds.corpId}/${demoIds.agentId}?msg_signature=${'0'.repeat(40)}&timestamp=1&nonce=2`;
    for (let round = 0; round < 2; round++) {
      const refused = await chunkedPost(url, 2 * 1024 * 1024);
      expect(refused.status).toBe(413);
      expect(JSON.parse(refused.body)).toMatchObject({ error: 'too_large' });
      const health = await fetch(`${baseUrl}/healthz`, { signal: AbortSignal.timeout(10_000) });
      expect(health.status).toBe(200);
    }
  });
});
