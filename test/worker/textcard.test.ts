import { describe, expect, it } from 'vitest';
import { byteLength, chinaTime, customerLink, DESCRIPTION_MAX_BYTES, fitBytes, lostCustomerCard, newCustomerCard, reminderCard, TITLE_MAX_BYTES } from '../../worker/notify/textcard.ts';

describe('fitBytes', () => {
  it.each([
    ['short', 10, 'short'],
    ['星河贸易', 12, '星河贸易'],
    ['星河贸易', 11, '星河…'],
    ['星河贸易', 9, '星河…'],
    ['星河贸易', 8, '星…'],
    ['ab😀cd', 7, 'ab…'],
    ['abcdef', 2, ''],
  ])('cuts %s to %i bytes on a character boundary', (text, max, expected) => {
    const cut = fitBytes(text, max);
    expect(cut).toBe(expected);
    expect(byteLength(cut)).toBeLessThanOrEqual(max);
  });
});

describe('the cards', () => {
  const huge = '星河贸易（上海）有限公司<b>&'.repeat(40);

  it("stay within WeCom's byte limits whatever people wrote, and carry none of their markup", () => {
    const cards = [
      reminderCard({ customerName: huge, dueAt: 0, note: huge, url: 'https://crm.example.com/?customer=a' }),
      lostCustomerCard({ customerName: huge, memberName: huge, at: 0, url: 'https://crm.example.com/?customer=a' }),
      newCustomerCard({ customerName: huge, at: 0, url: 'https://crm.example.com/?customer=a' }),
    ];
    for (const card of cards) {
      expect(byteLength(card.title)).toBeLessThanOrEqual(TITLE_MAX_BYTES);
      expect(byteLength(card.description)).toBeLessThanOrEqual(DESCRIPTION_MAX_BYTES);
      expect(card.description.replace(/<div class="(gray|normal|highlight)">|<\/div>/g, '')).not.toMatch(/[<>&]/);
      expect(card.title).not.toMatch(/[<>&]/);
    }
  });

  it('is the same card for the same reminder (WeCom compares the request for its duplicate check)', () => {
    const input = { customerName: '陈静', dueAt: Date.UTC(2030, 0, 1, 1, 30), note: '报价', url: customerLink('https://crm.example.com', 'cus_1') };
    expect(reminderCard(input)).toEqual(reminderCard({ ...input }));
    expect(reminderCard(input).description).toBe('<div class="gray">约定跟进时间 2030-01-01 09:30</div><div class="normal">报价</div>');
  });

  it('writes times in China time and links to the customer through the query', () => {
    expect(chinaTime(Date.UTC(2030, 11, 31, 16, 5))).toBe('2031-01-01 00:05');
    expect(customerLink('https://crm.example.com', 'cus_a:1')).toBe('https://crm.example.com/?customer=cus_a%3A1');
  });
});
