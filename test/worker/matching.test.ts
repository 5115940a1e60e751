import { describe, expect, it } from 'vitest';
import { nameSimilarity, rankSuggestions } from '../../worker/contacts/matching.ts';
import type { Customer } from '../../worker/crm/port.ts';

function customer(id: string, fields: Partial<Customer> = {}): Customer {
  return { id, name: '', company: '', stage: 'lead', ownerUserid: null, mobiles: [], unionid: null, tags: [], customFields: {}, version: 1, createdAt: 0, updatedAt: 0, ...fields };
}

describe('nameSimilarity', () => {
  it.each([
    ['Wang Fang', 'wang fang', 1],
    ['王芳', '王 芳', 1],
    ['Ｗａｎｇ', 'wang', 1],
    ['刘洋（北京）', '刘洋(北京)', 1],
    ['刘洋', '刘洋 北京分公司', 0.6],
    ['Li-Na', 'lina', 1],
    ['王', '王', 1],
    ['王', '王芳', 0],
    ['', '', 0],
    ['Alice', 'Bob', 0],
  ])('rates %s against %s as %d', (a, b, score) => {
    expect(nameSimilarity(a, b)).toBe(score);
  });
});

describe('rankSuggestions', () => {
  it('scores unionid 100, mobile 50 and a name up to 20, and names every reason', () => {
    const candidates = [
      customer('byName', { name: 'Wang Fang' }),
      customer('byMobile', { mobiles: ['138-0013-8000'] }),
      customer('byUnionid', { unionid: 'u-1' }),
      customer('byAll', { name: 'Wang Fang (Acme)', mobiles: ['+86 138 0013 8000'], unionid: 'u-1' }),
      customer('none', { name: 'Bob', mobiles: ['13900139000'], unionid: 'u-2' }),
    ];
    const ranked = rankSuggestions({ unionid: 'u-1', mobiles: ['13800138000'], names: ['Wang Fang'] }, candidates);
    expect(ranked.map((s) => [s.customer.id, s.reasons, s.score])).toEqual([
      ['byAll', ['unionid', 'mobile', 'name'], 162],
      ['byUnionid', ['unionid'], 100],
      ['byMobile', ['mobile'], 50],
      ['byName', ['name'], 20],
    ]);
  });

  it('matches no unionid when the contact has none, and lists a customer once', () => {
    const twice = customer('same', { name: 'Wang Fang' });
    const ranked = rankSuggestions({ unionid: null, mobiles: [], names: ['Wang Fang'] }, [customer('nullUnionid'), twice, twice]);
    expect(ranked.map((s) => s.customer.id)).toEqual(['same']);
  });

  it('breaks ties by the newest change and keeps at most `limit`', () => {
    const candidates = [1, 2, 3].map((n) => customer(`c${n}`, { name: 'Wang Fang', updatedAt: n }));
    expect(rankSuggestions({ unionid: null, mobiles: [], names: ['Wang Fang'] }, candidates, 2).map((s) => s.customer.id)).toEqual(['c3', 'c2']);
  });
});
