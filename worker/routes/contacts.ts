/**
 * @module
 * `/api/contacts/:externalUserId`: the contact beside its customer; bind, unbind, create.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types.ts';
import { STAGES, type Stage } from '../crm/port.ts';
import { AppError } from '../errors.ts';
import { idempotencyKey } from '../http/idempotency.ts';
import { checkId } from '../ids.ts';

async function jsonBody(request: Request): Promise<Record<string, unknown>> {
  const body: unknown = await request.json().catch(() => undefined);
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AppError(400, 'bad_request', 'Send a JSON object');
  return body as Record<string, unknown>;
}

function optionalText(body: Record<string, unknown>, field: string, max: number): string | undefined {
  const value = body[field];
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > max) throw new AppError(400, 'bad_request', `${field} must be text of at most ${max} characters`);
  return value.trim();
}

export const contacts = new Hono<AppEnv>()
  .get('/:externalUserId', async (c) => {
    const id = checkId('contact', c.req.param('externalUserId'));
    const services = c.var.services;
    return c.json(await services.contacts.view(id, await services.scope()));
  })

  .put('/:externalUserId/binding', async (c) => {
    const id = checkId('contact', c.req.param('externalUserId'));
    const body = await jsonBody(c.req.raw);
    if (body.customerId === undefined) throw new AppError(400, 'bad_request', 'Send { "customerId": "…" }');
    const customerId = checkId('customer', body.customerId);
    const services = c.var.services;
    return c.json(await services.contacts.bind(id, customerId, c.var.user, await services.scope()));
  })

  .delete('/:externalUserId/binding', async (c) => {
    const id = checkId('contact', c.req.param('externalUserId'));
    const services = c.var.services;
    await services.contacts.unbind(id, c.var.user, await services.scope());
    return c.json({ ok: true });
  })

  .post('/:externalUserId/customer', async (c) => {
    const id = checkId('contact', c.req.param('externalUserId'));
    const body = await jsonBody(c.req.raw);
    const stage = body.stage;
    if (stage !== undefined && !STAGES.includes(stage as Stage)) throw new AppError(400, 'bad_request', `stage must be one of ${STAGES.join(', ')}`);
    const name = optionalText(body, 'name', 100);
    const company = optionalText(body, 'company', 200);
    // A retried request must name the same key, so a lost answer never creates a second customer.
    const services = c.var.services;
    const key = idempotencyKey(c.req.header('idempotency-key'), 'contact-create', services.app.corpId, id);
    const created = await services.contacts.createCustomer(
      id,
      { ...(name ? { name } : {}), ...(company !== undefined ? { company } : {}), ...(stage ? { stage: stage as Stage } : {}) },
      c.var.user,
      await services.scope(),
      key,
    );
    return c.json(created, 201);
  });
