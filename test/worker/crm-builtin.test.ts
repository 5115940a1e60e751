import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { clampLimit, createBuiltinCrm, escapeLike, shortTextSearch, WALK_FROM_MATCHES } from '../../worker/crm/builtin.ts';
import { crmContract, newCorpId, writeContext } from './crm-contract.ts';
import { countingReads } from './d1-reads.ts';

crmContract('builtin', () => createBuiltinCrm(env.DB));

/** A clock that moves 1 s per reading, so "newest first" never rests on ties. */
function steppingClock(start = 1_750_000_000_000): () => number {
  let at = start;
  return () => (at += 1_000);
}

describe('builtin CRM search helpers', () => {
  it('escapes LIKE wildcards and the escape character itself', () => {
    expect(escapeLike('50%_off\\')).toBe('50\\%\\_off\\\\');
  });

  it('clamps limits to 1..100 with 20 by default', () => {
    expect([clampLimit(undefined), clampLimit(0), clampLimit(-5), clampLimit(7.9), clampLimit(101), clampLimit(Number.NaN)]).toEqual([20, 1, 1, 7, 100, 20]);
  });
});

describe('createBuiltinCrm in D1', () => {
  it('stamps records with the injected clock and finds the newest change first', async () => {
    const crm = createBuiltinCrm(env.DB, steppingClock());
    const corpId = newCorpId();
    const older = await crm.create({ name: 'Older' }, writeContext(corpId));
    const newer = await crm.create({ name: 'Newer' }, writeContext(corpId));
    expect(newer.createdAt - older.createdAt).toBe(1_000);
    expect((await crm.find(corpId, {})).map((c) => c.name)).toEqual(['Newer', 'Older']);
    const edited = await crm.update(older.id, 1, { company: 'Moved up' }, writeContext(corpId));
    expect(edited.ok && edited.customer.updatedAt).toBe(newer.createdAt + 1_000);
    expect((await crm.find(corpId, {})).map((c) => c.name)).toEqual(['Older', 'Newer']);
  });

  it('loses to a writer that changed the row after it was read, because the update is conditional', async () => {
    const crm = createBuiltinCrm(env.DB);
    const corpId = newCorpId();
    const customer = await crm.create({ name: 'Read at v1' }, writeContext(corpId));
    // Another writer between our read and our write: only a WHERE version = ? update notices.
    await env.DB.prepare("UPDATE crm_customers SET name = 'Other writer', version = 2 WHERE corp_id = ? AND id = ?").bind(corpId, customer.id).run();
    const result = await crm.update(customer.id, 1, { name: 'Ours' }, writeContext(corpId, 'late'));
    expect(result).toMatchObject({ ok: false, reason: 'version_conflict', current: { name: 'Other writer', version: 2 } });
    const key = await env.DB.prepare('SELECT key FROM crm_idempotency WHERE corp_id = ? AND key = ?').bind(corpId, 'late').first();
    expect(key).toBeNull();
    // The refused attempt bound nothing, so the member's retry at the version they now see applies.
    const retried = await crm.update(customer.id, 2, { name: 'Ours' }, writeContext(corpId, 'late'));
    expect(retried).toMatchObject({ ok: true, customer: { name: 'Ours', version: 3 } });
  });

  it('writes the customer, its mobiles, its history and its key in one batch, once', async () => {
    const crm = createBuiltinCrm(env.DB);
    const corpId = newCorpId();
    const context = writeContext(corpId, 'batch');
    const customer = await crm.create({ name: 'Counted', mobiles: ['+86 138 0013 8000', '13800138000', '010-1234'] }, context);
    await crm.create({ name: 'Counted', mobiles: ['+86 138 0013 8000', '13800138000', '010-1234'] }, context);
    const count = async (table: string) =>
      (await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE corp_id = ?`).bind(corpId).first<{ n: number }>())?.n;
    expect(await count('crm_customers')).toBe(1);
    expect(await count('crm_history')).toBe(1);
    expect(await count('crm_idempotency')).toBe(1);
    const { results } = await env.DB.prepare('SELECT mobile FROM crm_customer_mobiles WHERE corp_id = ? AND customer_id = ? ORDER BY mobile')
      .bind(corpId, customer.id)
      .all<{ mobile: string }>();
    expect(results.map((r) => r.mobile)).toEqual(['0101234', '13800138000']);
  });

  it('keeps an over-long note out of the history summary but whole in the note', async () => {
    const crm = createBuiltinCrm(env.DB);
    const corpId = newCorpId();
    const customer = await crm.create({ name: 'Verbose' }, writeContext(corpId));
    const body = 'x'.repeat(500);
    const note = await crm.addNote(customer.id, body, writeContext(corpId));
    expect(note.body).toBe(body);
    const [item] = await crm.history(corpId, customer.id);
    expect([...(item?.detail.text ?? '')].length).toBeLessThanOrEqual(140);
  });
});

describe('builtin CRM search index (migration 0009)', () => {
  it('finds substrings of Chinese names and companies of any length, and follows renames and deletes', async () => {
    const crm = createBuiltinCrm(env.DB, steppingClock());
    const corpId = newCorpId();
    const wang = await crm.create({ name: '王小芳', company: '深圳腾讯科技有限公司' }, writeContext(corpId));
    await crm.create({ name: '李王明', company: '阿里巴巴' }, writeContext(corpId));
    await crm.create({ name: 'He said "hi"', company: '' }, writeContext(corpId));
    const names = async (text: string) => (await crm.find(corpId, { text })).map((c) => c.name).sort();
    expect(await names('王小芳')).toEqual(['王小芳']);
    expect(await names('小芳')).toEqual(['王小芳']);
    expect(await names('王')).toEqual(['李王明', '王小芳']);
    expect(await names('腾讯科技')).toEqual(['王小芳']);
    expect(await names('腾讯')).toEqual(['王小芳']);
    expect(await names('"hi"')).toEqual(['He said "hi"']);
    expect(await names('SAID "')).toEqual(['He said "hi"']);
    await crm.update(wang.id, 1, { name: '张小芳', company: '华为' }, writeContext(corpId));
    expect(await names('王小芳')).toEqual([]);
    expect(await names('张小芳')).toEqual(['张小芳']);
    expect(await names('腾讯科技')).toEqual([]);
    await env.DB.prepare('DELETE FROM crm_customers WHERE corp_id = ?').bind(corpId).run();
    expect(await names('张小芳')).toEqual([]);
    const orphans = await env.DB.prepare(
      `SELECT count(*) AS n FROM crm_customer_search WHERE crm_customer_search MATCH '"张小芳"'`,
    ).first<{ n: number }>();
    expect(orphans?.n).toBe(0);
  });

  it('keeps another corp out even when its customers share the text', async () => {
    const crm = createBuiltinCrm(env.DB);
    const mine = newCorpId();
    const theirs = newCorpId();
    await crm.create({ name: 'Shared Name', mobiles: ['13800138123'] }, writeContext(mine));
    await crm.create({ name: 'Shared Name', mobiles: ['13800138123'] }, writeContext(theirs));
    expect(await crm.find(mine, { text: 'shared' })).toHaveLength(1);
    expect(await crm.find(mine, { text: '0013 8123' })).toHaveLength(1);
  });

  it('looks text of 3 or more characters up through the trigram indexes, not a scan of customers', async () => {
    const plan = async (sql: string, ...params: unknown[]) =>
      (await env.DB.prepare(`EXPLAIN QUERY PLAN ${sql}`).bind(...params).all<{ detail: string }>()).results.map((r) => r.detail);
    const details = await plan(
      `SELECT c.* FROM crm_customers c WHERE c.corp_id = ? AND (c.name LIKE ? ESCAPE '\\' OR c.company LIKE ? ESCAPE '\\')
       AND c.rowid IN (SELECT rowid FROM crm_customer_search WHERE crm_customer_search MATCH ?
         UNION SELECT k.rowid FROM crm_mobile_search s JOIN crm_customer_mobiles m ON m.rowid = s.rowid
         JOIN crm_customers k ON k.corp_id = m.corp_id AND k.id = m.customer_id WHERE crm_mobile_search MATCH ?)
       ORDER BY c.updated_at DESC, c.id LIMIT 20`,
      'corp',
      '%abc%',
      '%abc%',
      '"abc"',
      '"1234"',
    );
    expect(details.join('\n')).toMatch(/VIRTUAL TABLE INDEX .*crm_customer_search|crm_customer_search VIRTUAL TABLE/);
    expect(details.join('\n')).not.toMatch(/^SCAN c\b/m);
  });
});

describe('builtin CRM search of 1-2 characters (migration 0015)', () => {
  const names = async (corpId: string, text: string) => (await createBuiltinCrm(env.DB).find(corpId, { text })).map((c) => c.name).sort();
  const grams = async (corpId: string) =>
    (await env.DB.prepare('SELECT gram FROM crm_customer_grams WHERE corp_id = ? ORDER BY gram').bind(corpId).all<{ gram: string }>()).results.map((r) => r.gram);

  /**
   * Customers 1..count written in one statement through the triggers: `陈` in nine names of ten
   * (more than WALK_FROM_MATCHES), a CJK character shared by about 2 names, companies `Co<n>`;
   * updated_at n / 3 so that ties fall to the id, owners a and b in turn.
   */
  async function seedMany(corpId: string, count = WALK_FROM_MATCHES + 300): Promise<void> {
    await env.DB.prepare(
      `WITH RECURSIVE i (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < ?2)
       INSERT INTO crm_customers (corp_id, id, name, company, owner_userid, created_at, updated_at)
       SELECT ?1, 'cus_' || n, CASE WHEN n % 10 = 0 THEN '李' ELSE '陈' END || char(0x4e00 + n % 700), 'Co' || n,
         CASE WHEN n % 2 = 0 THEN 'a' ELSE 'b' END, n, n / 3 FROM i`,
    )
      .bind(corpId, count)
      .run();
  }

  it('finds 1- and 2-character text in names and companies, ignoring ASCII case only, as LIKE does', async () => {
    const crm = createBuiltinCrm(env.DB, steppingClock());
    const corpId = newCorpId();
    await crm.create({ name: '陈小明', company: '深圳腾讯' }, writeContext(corpId));
    await crm.create({ name: 'Li Na', company: 'ACME' }, writeContext(corpId));
    await crm.create({ name: 'Ängel', company: '50%_off' }, writeContext(corpId));
    await crm.create({ name: '王伟' }, writeContext(corpId));
    expect(await names(corpId, '陈')).toEqual(['陈小明']);
    expect(await names(corpId, '小明')).toEqual(['陈小明']);
    expect(await names(corpId, '腾')).toEqual(['陈小明']);
    expect(await names(corpId, '深圳')).toEqual(['陈小明']);
    expect(await names(corpId, '王伟')).toEqual(['王伟']);
    expect(await names(corpId, '伟')).toEqual(['王伟']);
    expect(await names(corpId, 'li')).toEqual(['Li Na']);
    expect(await names(corpId, 'A')).toEqual(['Li Na']);
    expect(await names(corpId, 'cM')).toEqual(['Li Na']);
    expect(await names(corpId, 'i ')).toEqual(['Li Na']);
    // LIKE folds ASCII only, and so does lower(): Ä is not ä.
    expect(await names(corpId, 'Ä')).toEqual(['Ängel']);
    expect(await names(corpId, 'ä')).toEqual([]);
    expect(await names(corpId, '%')).toEqual(['Ängel']);
    expect(await names(corpId, '%_')).toEqual(['Ängel']);
    expect(await names(corpId, '_')).toEqual(['Ängel']);
    expect(await names(corpId, '0_')).toEqual([]);
    expect(await names(corpId, '钱孙')).toEqual([]);
  });

  it('follows creates, renames and deletes: a customer has the grams of its current name and company only', async () => {
    const crm = createBuiltinCrm(env.DB, steppingClock());
    const corpId = newCorpId();
    const chen = await crm.create({ name: '陈小明', company: '深圳' }, writeContext(corpId));
    expect(await grams(corpId)).toEqual(['小', '小明', '明', '深', '深圳', '圳', '陈', '陈小'].sort());
    await crm.update(chen.id, 1, { name: '张小明' }, writeContext(corpId));
    expect(await names(corpId, '陈')).toEqual([]);
    expect(await names(corpId, '张')).toEqual(['张小明']);
    expect(await names(corpId, '小明')).toEqual(['张小明']);
    await crm.update(chen.id, 2, { company: '华为', stage: 'won' }, writeContext(corpId));
    expect(await names(corpId, '深圳')).toEqual([]);
    expect(await names(corpId, '华')).toEqual(['张小明']);
    expect(await grams(corpId)).toEqual(['为', '华', '华为', '小', '小明', '张', '张小', '明'].sort());
    // The same letter in name and company is one row; case folds to one too.
    await crm.update(chen.id, 3, { name: 'Aa', company: 'a' }, writeContext(corpId));
    expect(await grams(corpId)).toEqual(['a', 'aa']);
    await env.DB.prepare('DELETE FROM crm_customers WHERE corp_id = ?').bind(corpId).run();
    expect(await grams(corpId)).toEqual([]);
    expect(await names(corpId, 'a')).toEqual([]);
  });

  it('answers exactly as the walk with LIKE alone did, for text few or many customers hold, with ties, limits and owners', async () => {
    const crm = createBuiltinCrm(env.DB);
    const corpId = newCorpId();
    await seedMany(corpId);
    const held = async (gram: string) =>
      (await env.DB.prepare('SELECT count(*) AS n FROM crm_customer_grams WHERE corp_id = ? AND gram = ?').bind(corpId, gram).first<{ n: number }>())?.n ?? 0;
    // Both ways of finding the rows are exercised.
    expect(await held('陈')).toBeGreaterThanOrEqual(WALK_FROM_MATCHES);
    expect(await held('co')).toBeGreaterThanOrEqual(WALK_FROM_MATCHES);
    expect(await held('李')).toBeLessThan(WALK_FROM_MATCHES);
    expect(await held('o1')).toBeLessThan(WALK_FROM_MATCHES);
    const walk = async (text: string, limit: number, owners?: string[]) => {
      const pattern = `%${escapeLike(text)}%`;
      const owned = owners ? ' AND owner_userid IN (SELECT value FROM json_each(?))' : '';
      const { results } = await env.DB.prepare(
        `SELECT id FROM crm_customers WHERE corp_id = ? AND (name LIKE ? ESCAPE '\\' OR company LIKE ? ESCAPE '\\')${owned}
         ORDER BY updated_at DESC, id LIMIT ?`,
      )
        .bind(corpId, pattern, pattern, ...(owners ? [JSON.stringify(owners)] : []), limit)
        .all<{ id: string }>();
      return results.map((r) => r.id);
    };
    for (const text of ['陈', '李', '丁', '陈丁', 'co', 'CO', 'o1', 'O1', 'O12', '1', '99', '钱孙', '%', 'Co1', 'co12', 'Co99', 'Co', 'o10']) {
      for (const limit of [1, 20, 100]) {
        const found = (await crm.find(corpId, { text, limit })).map((c) => c.id);
        expect(found, `${text} limit ${limit}`).toEqual(await walk(text, limit));
      }
      const owned = (await crm.find(corpId, { text, ownerUserids: ['a'] })).map((c) => c.id);
      expect(owned, `${text} owned by a`).toEqual(await walk(text, 20, ['a']));
    }
    expect(await crm.find(corpId, { text: '李' })).toHaveLength(20);
  });

  it('reads rare text from crm_customer_grams and walks newest first only for text many customers hold', async () => {
    const plan = (await env.DB.prepare(`EXPLAIN QUERY PLAN ${shortTextSearch('')}`).bind('corp', 'x', 'corp', 'x', 'corp', 'corp', 20).all<{ detail: string }>()).results
      .map((r) => r.detail)
      .join('\n');
    expect(plan).toMatch(/SEARCH g USING PRIMARY KEY \(corp_id=\? AND gram=\?\)/);
    expect(plan).toMatch(/SEARCH c USING INTEGER PRIMARY KEY \(rowid=\?\)/);
    expect(plan).toMatch(/SEARCH c USING INDEX crm_customers_recent \(corp_id=\?\)/);
    expect(plan).not.toMatch(/^SCAN c\b/m);
    // What D1 counts as read: the half not chosen reads nothing, so a rare or absent text reads a
    // few rows, not the corp's 1,300 customers, and a common one at most the count and a short walk.
    const corpId = newCorpId();
    await seedMany(corpId);
    const rowsRead = async (text: string) => {
      const pattern = `%${escapeLike(text)}%`;
      const { meta } = await env.DB.prepare(shortTextSearch(" AND (c.name LIKE ? ESCAPE '\\' OR c.company LIKE ? ESCAPE '\\')"))
        .bind(corpId, text, corpId, text, corpId, pattern, pattern, corpId, pattern, pattern, 20)
        .all();
      return meta.rows_read;
    };
    expect(await rowsRead('丁')).toBeLessThan(20);
    expect(await rowsRead('钱孙')).toBeLessThan(10);
    expect(await rowsRead('陈')).toBeLessThan(WALK_FROM_MATCHES + 50);
  });
});

describe('builtin CRM lookups that one condition narrows', () => {
  it('reaches a customer by unionid, mobile or rare text through the index, not by walking the corp newest first', async () => {
    const corpId = newCorpId();
    await env.DB.prepare(
      `WITH RECURSIVE i (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM i WHERE n < 1300)
       INSERT INTO crm_customers (corp_id, id, name, company, owner_userid, unionid, created_at, updated_at)
       SELECT ?1, 'cus_' || n, '陈' || char(0x4e00 + n % 700), 'Co' || n, 'a', 'oMany' || n, n, 1000 + n FROM i`,
    )
      .bind(corpId)
      .run();
    const rare = await createBuiltinCrm(env.DB).create({ name: '独一无二的客户', company: 'Unique Ltd', mobiles: ['13912345678'], unionid: 'oRareUnionid', ownerUserid: 'a' }, writeContext(corpId));
    // The oldest, so a newest-first walk would reach it last, after every other customer.
    await env.DB.prepare('UPDATE crm_customers SET updated_at = 0 WHERE corp_id = ? AND id = ?').bind(corpId, rare.id).run();

    const counter = countingReads(env.DB);
    const crm = createBuiltinCrm(counter.db);
    const queries = [{ unionid: 'oRareUnionid' }, { mobile: '+86 139 1234 5678' }, { text: '独一无二' }, { text: 'unique' }, { text: '2345678' }, { unionid: 'oRareUnionid', ownerUserids: ['a', 'b'] }, { mobile: '13912345678', ownerUserids: ['a'] }, { text: 'unique', ownerUserids: ['a'] }];
    for (const query of queries) {
      const before = counter.read();
      expect((await crm.find(corpId, { ...query, limit: 2 })).map((c) => c.id), JSON.stringify(query)).toEqual([rare.id]);
      expect(counter.read() - before, JSON.stringify(query)).toBeLessThan(30);
    }
    // Nobody's: nothing read beyond the lookup either.
    const before = counter.read();
    expect(await crm.find(corpId, { unionid: 'oNobody' })).toEqual([]);
    expect(await crm.find(corpId, { mobile: '13700000000' })).toEqual([]);
    expect(await crm.find(corpId, { text: '没有这个人' })).toEqual([]);
    expect(counter.read() - before).toBeLessThan(30);
  });
});

describe('the built-in CRM history of an edit', () => {
  it('records each changed field from its old value to the new, custom fields one by one, unchanged ones left out', async () => {
    const crm = createBuiltinCrm(env.DB);
    const corpId = newCorpId();
    const customer = await crm.create({ name: 'Before', stage: 'lead', mobiles: ['13800138000'], customFields: { 预算: '10万', 行业: '零售' } }, writeContext(corpId));
    const result = await crm.update(customer.id, 1, { name: 'Before', stage: 'won', mobiles: [], customFields: { 预算: '50万', 区域: '华东' } }, writeContext(corpId));
    expect(result.ok).toBe(true);
    const [edit] = await crm.history(corpId, customer.id);
    expect(edit?.kind).toBe('customer_edited');
    expect(edit?.detail.changes).toEqual([
      { field: 'stage', from: 'lead', to: 'won' },
      { field: 'mobiles', from: ['13800138000'], to: [] },
      { field: 'customFields.预算', from: '10万', to: '50万' },
      { field: 'customFields.行业', from: '零售', to: null },
      { field: 'customFields.区域', from: null, to: '华东' },
    ]);
  });

  it('writes no history for an edit at a stale version', async () => {
    const crm = createBuiltinCrm(env.DB);
    const corpId = newCorpId();
    const customer = await crm.create({ name: 'Raced' }, writeContext(corpId));
    await crm.update(customer.id, 1, { company: 'First' }, writeContext(corpId));
    const stale = await crm.update(customer.id, 1, { company: 'Second' }, writeContext(corpId));
    expect(stale).toMatchObject({ ok: false, reason: 'version_conflict' });
    const items = await crm.history(corpId, customer.id);
    expect(items.map((item) => item.detail.changes)).toEqual([[{ field: 'company', from: '', to: 'First' }], undefined]);
  });
});
