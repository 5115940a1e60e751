import { env } from 'cloudflare:test';
import { describe, expect, it } from 'vitest';
import { rankSuggestions } from '../../worker/contacts/matching.ts';
import type { Customer } from '../../worker/crm/port.ts';
import { mobileFragment, normaliseMobile } from '../../worker/mobile.ts';
import { newCorpId } from './crm-contract.ts';
import { LEFT_AS_DIGITS, SAME_PHONES } from './mobile-table.ts';

const forms = SAME_PHONES.flatMap(({ phone, digits, forms }) => forms.map((form) => ({ phone, digits, form })));

function customerWith(mobile: string): Customer {
  return { id: `cus_${mobile}`, name: 'Someone', company: '', stage: 'lead', ownerUserid: null, mobiles: [mobile], unionid: null, tags: [], customFields: {}, version: 1, createdAt: 0, updatedAt: 0 };
}

describe('normaliseMobile', () => {
  it.each(forms)('reads $form ($phone) as $digits', ({ form, digits }) => {
    expect(normaliseMobile(form)).toBe(digits);
  });

  it.each(LEFT_AS_DIGITS)('reads %s as %s', (raw, digits) => {
    expect(normaliseMobile(raw)).toBe(digits);
  });

  it('reads a normalised number as itself, so normalising twice changes nothing', () => {
    for (const { digits } of SAME_PHONES) expect(normaliseMobile(digits)).toBe(digits);
  });

  it('keeps different phones apart', () => {
    expect(new Set(SAME_PHONES.map((row) => row.digits)).size).toBe(SAME_PHONES.length);
  });

  it('treats text as a phone fragment only when it is digits and separators with at least 4 digits', () => {
    expect(mobileFragment('0013 8000')).toBe('00138000');
    expect(mobileFragment('+86 1380')).toBe('1380');
    expect(mobileFragment('+86 21 6123')).toBe('216123');
    expect(mobileFragment('+86 138')).toBeUndefined();
    expect(mobileFragment('138')).toBeUndefined();
    expect(mobileFragment('Acme 1380')).toBeUndefined();
  });
});

// The CRM side of the same table: the search-by-mobile test of the CRM contract (crm-contract.ts).
describe('rankSuggestions by mobile', () => {
  it('suggests a customer by mobile exactly when the contact and the customer have the same phone', () => {
    for (const stored of forms) {
      for (const remark of forms) {
        const [suggestion] = rankSuggestions({ unionid: null, mobiles: [remark.form], names: [] }, [customerWith(stored.form)]);
        expect(suggestion?.reasons ?? [], `${remark.form} ~ ${stored.form}`).toEqual(stored.phone === remark.phone ? ['mobile'] : []);
      }
    }
  });

});

describe('migration 0007_mobile_rule', () => {
  it('re-indexes the builtin CRM mobiles as entered by the same rule as normaliseMobile', async () => {
    const migration = env.TEST_MIGRATIONS.find((m) => m.name.startsWith('0007_'));
    if (!migration) throw new Error('migration 0007 not found');
    const corpId = newCorpId();
    const entered = [...forms.map((f) => f.form), ...LEFT_AS_DIGITS.map(([raw]) => raw)];
    await env.DB.batch([
      env.DB.prepare(`INSERT INTO crm_customers (corp_id, id, name, mobiles, created_at, updated_at) VALUES (?1, 'cus_legacy', 'Legacy', ?2, 0, 0)`).bind(
        corpId,
        JSON.stringify(entered),
      ),
      // A row as the old rule wrote it: '+86 10 6552 9988' without its trunk zero.
      env.DB.prepare(`INSERT INTO crm_customer_mobiles (corp_id, mobile, customer_id) VALUES (?1, '1065529988', 'cus_legacy')`).bind(corpId),
    ]);
    for (const query of migration.queries) await env.DB.prepare(query).run();
    const { results } = await env.DB.prepare('SELECT mobile FROM crm_customer_mobiles WHERE corp_id = ? ORDER BY mobile').bind(corpId).all<{ mobile: string }>();
    const expected = [...new Set(entered.map(normaliseMobile).filter((m) => m !== ''))].sort();
    expect(results.map((row) => row.mobile)).toEqual(expected);
  });
});
