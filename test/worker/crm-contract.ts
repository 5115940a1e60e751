/**
 * @module
 * The behaviour every `Crm` owes its callers, as one suite that runs against each implementation
 * (the D1 one in crm-builtin.test.ts, the HTTP one against the reference CRM in crm-http.test.ts).
 * Each test works in a corp of its own, so tests need no cleanup and cannot see each other.
 */
import { describe, expect, it } from 'vitest';
import { CrmRejectedError, type Crm, type CustomerDraft, type WriteContext } from '../../worker/crm/port.ts';
import { SAME_PHONES } from './mobile-table.ts';

export function newCorpId(): string {
  return `wwtest${crypto.randomUUID().replace(/-/g, '').slice(0, 16)}`;
}

export function writeContext(corpId: string, idempotencyKey: string = crypto.randomUUID(), actor = 'zhangsan'): WriteContext {
  return { corpId, actor, idempotencyKey };
}

/** Registers the contract suite for one implementation; `make` returns a CRM ready to use. */
export function crmContract(name: string, make: () => Crm): void {
  async function seed(corpId: string, drafts: CustomerDraft[]) {
    const crm = make();
    const created = [];
    for (const draft of drafts) created.push(await crm.create(draft, writeContext(corpId)));
    return created;
  }

  describe(`${name} CRM: customers`, () => {
    it('creates a customer with defaults and reads the same record back', async () => {
      const crm = make();
      const corpId = newCorpId();
      const created = await crm.create({ name: '  Wang Fang ' }, writeContext(corpId));
      expect(created).toMatchObject({
        name: 'Wang Fang',
        company: '',
        stage: 'lead',
        ownerUserid: null,
        mobiles: [],
        unionid: null,
        tags: [],
        customFields: {},
        version: 1,
      });
      expect(created.id).toMatch(/\S/);
      expect(created.updatedAt).toBe(created.createdAt);
      expect(await crm.get(corpId, created.id)).toEqual(created);
    });

    it('keeps every field it was given', async () => {
      const crm = make();
      const corpId = newCorpId();
      const draft: CustomerDraft = {
        name: '李雷',
        company: 'Acme 科技',
        stage: 'proposal',
        ownerUserid: 'lisi',
        mobiles: ['+86 138-0013-8000'],
        unionid: 'o6_bmasdasdsad6_2sgVt7hMZOPfL',
        tags: ['vip', 'beijing'],
        customFields: { source: 'expo', budget: '50k' },
      };
      const created = await crm.create(draft, writeContext(corpId));
      expect(created).toMatchObject(draft);
      expect(await crm.get(corpId, created.id)).toEqual(created);
    });

    it('answers undefined for an unknown id and for a customer of another corp', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Only here' }]);
      expect(await crm.get(corpId, 'cus_does_not_exist')).toBeUndefined();
      expect(await crm.get(newCorpId(), customer!.id)).toBeUndefined();
    });

    it('gets several customers in the order asked, leaving out unknown ids and duplicates', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [a, b, c] = await seed(corpId, [{ name: 'A' }, { name: 'B' }, { name: 'C' }]);
      const found = await crm.getMany(corpId, [c!.id, 'cus_unknown', a!.id, c!.id, b!.id]);
      expect(found.map((customer) => customer.name)).toEqual(['C', 'A', 'B']);
      expect(await crm.getMany(corpId, [])).toEqual([]);
      expect(await crm.getMany(newCorpId(), [a!.id])).toEqual([]);
    });

    it('refuses a customer without a name or with an unknown stage as the caller\'s mistake', async () => {
      const crm = make();
      const corpId = newCorpId();
      const blank = crm.create({ name: '   ' }, writeContext(corpId));
      await expect(blank).rejects.toBeInstanceOf(CrmRejectedError);
      await expect(blank).rejects.toMatchObject({ code: 'crm_rejected', status: 400 });
      // Cast: a caller outside TypeScript's reach (a route with a bad schema) could send this.
      await expect(crm.create({ name: 'X', stage: 'closed' as 'won' }, writeContext(corpId))).rejects.toMatchObject({ code: 'crm_rejected', status: 400 });
      expect(await crm.find(corpId, {})).toEqual([]);
    });
  });

  describe(`${name} CRM: find`, () => {
    it('finds by name or company, ignoring case, and treats % and _ literally', async () => {
      const crm = make();
      const corpId = newCorpId();
      await seed(corpId, [
        { name: 'Alice Zhang', company: 'Northwind' },
        { name: 'Bob', company: 'ACME Trading' },
        { name: '50% off_shop', company: '' },
        { name: '50 percent', company: 'x' },
      ]);
      const names = async (text: string) => (await crm.find(corpId, { text })).map((c) => c.name).sort();
      expect(await names('alice')).toEqual(['Alice Zhang']);
      expect(await names('acme')).toEqual(['Bob']);
      expect(await names('NORTH')).toEqual(['Alice Zhang']);
      expect(await names('50%')).toEqual(['50% off_shop']);
      expect(await names('f_s')).toEqual(['50% off_shop']);
      expect(await names('%')).toEqual(['50% off_shop']);
      expect(await names('nobody')).toEqual([]);
    });

    it('finds by a mobile however it is written, and by part of one in free text', async () => {
      const crm = make();
      const corpId = newCorpId();
      // Each phone stored in its first form; every form of it finds it, and no form of another phone does.
      await seed(corpId, SAME_PHONES.map(({ phone, forms }) => ({ name: phone, mobiles: [forms[0] ?? ''] })));
      for (const { phone, forms } of SAME_PHONES) {
        for (const mobile of forms) expect((await crm.find(corpId, { mobile })).map((c) => c.name), mobile).toEqual([phone]);
      }
      expect(await crm.find(corpId, { mobile: '1380013800' })).toEqual([]);
      expect((await crm.find(corpId, { text: '0013 8000' })).map((c) => c.name)).toEqual(['a mainland mobile']);
      expect((await crm.find(corpId, { text: '+86 21 6123' })).map((c) => c.name).sort()).toEqual(['a Shanghai extension', 'a Shanghai landline']);
    });

    it('finds by unionid and by owner, and an empty owner list finds nobody', async () => {
      const crm = make();
      const corpId = newCorpId();
      await seed(corpId, [
        { name: 'U1', unionid: 'union-1', ownerUserid: 'lisi' },
        { name: 'U2', unionid: 'union-2', ownerUserid: 'wangwu' },
        { name: 'Nobody', ownerUserid: null },
      ]);
      expect((await crm.find(corpId, { unionid: 'union-2' })).map((c) => c.name)).toEqual(['U2']);
      expect((await crm.find(corpId, { ownerUserids: ['lisi', 'zhaoliu'] })).map((c) => c.name)).toEqual(['U1']);
      expect((await crm.find(corpId, { ownerUserids: ['lisi', 'wangwu'] })).map((c) => c.name).sort()).toEqual(['U1', 'U2']);
      expect(await crm.find(corpId, { ownerUserids: [] })).toEqual([]);
      expect(await crm.find(corpId, { unionid: 'union-1', ownerUserids: ['wangwu'] })).toEqual([]);
      expect(await crm.find(newCorpId(), { unionid: 'union-1' })).toEqual([]);
    });

    it('returns 20 by default and never more than 100', async () => {
      const crm = make();
      const corpId = newCorpId();
      await seed(
        corpId,
        Array.from({ length: 103 }, (_, i) => ({ name: `Bulk ${i}` })),
      );
      expect(await crm.find(corpId, {})).toHaveLength(20);
      expect(await crm.find(corpId, { text: 'bulk', limit: 3 })).toHaveLength(3);
      expect(await crm.find(corpId, { limit: 1000 })).toHaveLength(100);
    });

    it('finds a customer by its new mobile after an update, and no longer by the old one', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Moved', mobiles: ['13800138000'] }]);
      const result = await crm.update(customer!.id, 1, { mobiles: ['+86 139 0000 1111'] }, writeContext(corpId));
      expect(result.ok).toBe(true);
      expect(await crm.find(corpId, { mobile: '13800138000' })).toEqual([]);
      expect((await crm.find(corpId, { mobile: '13900001111' })).map((c) => c.id)).toEqual([customer!.id]);
    });
  });

  describe(`${name} CRM: updates`, () => {
    it('applies a patch at the current version and bumps the version by one', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Before', company: 'Keep', tags: ['a'] }]);
      const result = await crm.update(customer!.id, 1, { name: 'After', stage: 'won', customFields: { k: 'v' } }, writeContext(corpId));
      if (!result.ok) throw new Error(`expected ok, got ${result.reason}`);
      expect(result.customer).toMatchObject({ id: customer!.id, name: 'After', stage: 'won', company: 'Keep', tags: ['a'], customFields: { k: 'v' }, version: 2 });
      expect(result.customer.updatedAt).toBeGreaterThanOrEqual(customer!.updatedAt);
      expect(result.customer.createdAt).toBe(customer!.createdAt);
      expect(await crm.get(corpId, customer!.id)).toEqual(result.customer);
    });

    it('refuses a stale version with the current record and changes nothing', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Original' }]);
      const first = await crm.update(customer!.id, 1, { name: 'First' }, writeContext(corpId));
      expect(first.ok).toBe(true);
      const stale = await crm.update(customer!.id, 1, { name: 'Second', stage: 'lost' }, writeContext(corpId));
      expect(stale).toEqual({ ok: false, reason: 'version_conflict', current: expect.objectContaining({ name: 'First', stage: 'lead', version: 2 }) });
      expect(await crm.get(corpId, customer!.id)).toMatchObject({ name: 'First', stage: 'lead', version: 2 });
      expect((await crm.history(corpId, customer!.id)).filter((item) => item.kind === 'customer_edited')).toHaveLength(1);
    });

    it('lets exactly one of two updates at the same version win', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Contested' }]);
      const results = await Promise.all([
        crm.update(customer!.id, 1, { name: 'Left' }, writeContext(corpId)),
        crm.update(customer!.id, 1, { name: 'Right' }, writeContext(corpId)),
      ]);
      const winners = results.filter((r) => r.ok);
      const losers = results.filter((r) => !r.ok);
      expect(winners).toHaveLength(1);
      expect(losers).toEqual([{ ok: false, reason: 'version_conflict', current: expect.objectContaining({ version: 2 }) }]);
      const stored = await crm.get(corpId, customer!.id);
      expect(stored?.version).toBe(2);
      if (winners[0]?.ok) expect(stored?.name).toBe(winners[0].customer.name);
    });

    it('answers not_found for an unknown customer or one of another corp', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Mine' }]);
      expect(await crm.update('cus_unknown', 1, { name: 'x' }, writeContext(corpId))).toEqual({ ok: false, reason: 'not_found' });
      expect(await crm.update(customer!.id, 1, { name: 'x' }, writeContext(newCorpId()))).toEqual({ ok: false, reason: 'not_found' });
    });

    it('refuses a patch that changes nothing', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Same' }]);
      await expect(crm.update(customer!.id, 1, {}, writeContext(corpId))).rejects.toMatchObject({ code: 'crm_rejected', status: 400 });
      expect((await crm.get(corpId, customer!.id))?.version).toBe(1);
    });
  });

  describe(`${name} CRM: idempotency`, () => {
    it('creates one customer for two creates with the same key, even at once', async () => {
      const crm = make();
      const corpId = newCorpId();
      const context = writeContext(corpId, 'create-once');
      const first = await crm.create({ name: 'Once' }, context);
      const again = await crm.create({ name: 'Once' }, context);
      expect(again.id).toBe(first.id);
      const racing = await Promise.all([crm.create({ name: 'Racing' }, writeContext(corpId, 'race')), crm.create({ name: 'Racing' }, writeContext(corpId, 'race'))]);
      expect(racing[1].id).toBe(racing[0].id);
      expect((await crm.find(corpId, {})).map((c) => c.name).sort()).toEqual(['Once', 'Racing']);
    });

    it('refuses a key reused for a different request and writes nothing', async () => {
      const crm = make();
      const corpId = newCorpId();
      await crm.create({ name: 'First' }, writeContext(corpId, 'shared'));
      await expect(crm.create({ name: 'Different' }, writeContext(corpId, 'shared'))).rejects.toMatchObject({ code: 'crm_rejected', status: 409 });
      expect((await crm.find(corpId, {})).map((c) => c.name)).toEqual(['First']);
    });

    it('scopes keys to the corp', async () => {
      const crm = make();
      const [one, two] = [newCorpId(), newCorpId()];
      const a = await crm.create({ name: 'Same key' }, writeContext(one, 'k'));
      const b = await crm.create({ name: 'Same key' }, writeContext(two, 'k'));
      expect(b.id).not.toBe(a.id);
      expect(await crm.find(two, {})).toHaveLength(1);
    });

    it('adds one note for two adds with the same key', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Noted' }]);
      const context = writeContext(corpId, 'note-once', 'lisi');
      const first = await crm.addNote(customer!.id, 'Called, wants a demo', context);
      const again = await crm.addNote(customer!.id, 'Called, wants a demo', context);
      expect(again.id).toBe(first.id);
      expect(await crm.listNotes(corpId, customer!.id)).toHaveLength(1);
    });

    it('treats a repeated update as the success it was, not a conflict with itself', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Once' }]);
      const context = writeContext(corpId, 'update-once');
      const first = await crm.update(customer!.id, 1, { stage: 'qualified' }, context);
      const again = await crm.update(customer!.id, 1, { stage: 'qualified' }, context);
      expect(first).toMatchObject({ ok: true, customer: { version: 2, stage: 'qualified' } });
      expect(again).toMatchObject({ ok: true, customer: { id: customer!.id, version: 2, stage: 'qualified' } });
      expect((await crm.get(corpId, customer!.id))?.version).toBe(2);
      expect((await crm.history(corpId, customer!.id)).filter((item) => item.kind === 'customer_edited')).toHaveLength(1);
    });
  });

  describe(`${name} CRM: notes and history`, () => {
    it('lists notes newest first with their author', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Talkative' }]);
      await crm.addNote(customer!.id, 'first', writeContext(corpId, undefined, 'lisi'));
      await crm.addNote(customer!.id, 'second', writeContext(corpId, undefined, 'wangwu'));
      await crm.addNote(customer!.id, 'third', writeContext(corpId, undefined, 'lisi'));
      const notes = await crm.listNotes(corpId, customer!.id);
      expect(notes.map((n) => [n.body, n.authorUserid, n.customerId])).toEqual([
        ['third', 'lisi', customer!.id],
        ['second', 'wangwu', customer!.id],
        ['first', 'lisi', customer!.id],
      ]);
      expect(notes[0]!.createdAt).toBeGreaterThanOrEqual(notes[2]!.createdAt);
    });

    it('refuses notes for an unknown customer or one of another corp', async () => {
      const crm = make();
      const corpId = newCorpId();
      const [customer] = await seed(corpId, [{ name: 'Private' }]);
      await expect(crm.addNote('cus_unknown', 'hello', writeContext(corpId))).rejects.toMatchObject({ code: 'crm_rejected', status: 404 });
      await expect(crm.addNote(customer!.id, 'hello', writeContext(newCorpId()))).rejects.toMatchObject({ code: 'crm_rejected', status: 404 });
      await expect(crm.listNotes(newCorpId(), customer!.id)).rejects.toMatchObject({ code: 'crm_rejected', status: 404 });
      await expect(crm.addNote(customer!.id, '  ', writeContext(corpId))).rejects.toMatchObject({ code: 'crm_rejected', status: 400 });
      expect(await crm.listNotes(corpId, customer!.id)).toEqual([]);
    });

    it('records creation, edits and notes in the history, newest first, with the actor', async () => {
      const crm = make();
      const corpId = newCorpId();
      const customer = await crm.create({ name: 'Storied' }, writeContext(corpId, undefined, 'lisi'));
      await crm.update(customer.id, 1, { stage: 'won' }, writeContext(corpId, undefined, 'wangwu'));
      await crm.addNote(customer.id, 'Signed the contract', writeContext(corpId, undefined, 'system:import'));
      const items = await crm.history(corpId, customer.id);
      expect(items.map((item) => [item.kind, item.actorUserid, item.customerId])).toEqual([
        ['note', 'system:import', customer.id],
        ['customer_edited', 'wangwu', customer.id],
        ['customer_created', 'lisi', customer.id],
      ]);
      expect(items[0]!.detail).toEqual({ text: 'Signed the contract' });
      expect(items[1]!.detail.changes).toContainEqual(expect.objectContaining({ field: 'stage', to: 'won' }));
      expect(items[2]!.detail).toEqual({ name: 'Storied' });
      expect(new Set(items.map((item) => item.id)).size).toBe(3);
      await expect(crm.history(newCorpId(), customer.id)).rejects.toMatchObject({ code: 'crm_rejected', status: 404 });
    });
  });
}
