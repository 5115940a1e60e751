/**
 * @module
 * The known answers for mobile normalisation (worker/mobile.ts): each row is one phone, written
 * the ways members type it into WeCom's remark mobiles and the CRM, and the digits it reads as.
 * The same table drives the unit test, contact matching and every CRM's search by mobile.
 */
export interface SamePhone {
  phone: string;
  digits: string;
  forms: string[];
}

export const SAME_PHONES: readonly SamePhone[] = [
  {
    phone: 'a mainland mobile',
    digits: '13800138000',
    forms: [
      '13800138000',
      '138 0013 8000',
      '138-0013-8000',
      '+86 138 0013 8000',
      '+8613800138000',
      '+86-138-0013-8000',
      '(+86) 138 0013 8000',
      '0086 138 0013 8000',
      '008613800138000',
      '8613800138000',
      '86 138 0013 8000',
    ],
  },
  {
    phone: 'a Shanghai landline',
    digits: '02161234567',
    forms: ['021-61234567', '021 6123 4567', '(021) 6123-4567', '+86 21 6123 4567', '+86-21-61234567', '0086 21 61234567', '+86 (0)21 6123 4567'],
  },
  {
    phone: 'a Beijing landline (area code 10, which a mobile never starts like)',
    digits: '01065529988',
    forms: ['010-65529988', '(010) 6552 9988', '+86 10 6552 9988', '0086-10-6552-9988'],
  },
  {
    phone: 'a landline with a four-digit area code and a seven-digit number',
    digits: '05718888888',
    forms: ['0571-8888888', '0571 888 8888', '+86 571 888 8888'],
  },
  {
    phone: 'a Shanghai extension',
    digits: '021612345678001',
    forms: ['021-61234567-8001', '021-61234567 转 8001', '021 6123 4567 x8001', '+86 21 6123 4567 ext. 8001'],
  },
  {
    phone: 'a number in the US',
    digits: '0014155550100',
    forms: ['+1 (415) 555-0100', '+1-415-555-0100', '001 415 555 0100'],
  },
  {
    phone: 'a Hong Kong mobile',
    digits: '0085291234567',
    forms: ['+852 9123 4567', '00852 9123 4567'],
  },
];

/** Read as written, digits only: nothing here says which country code or area code it carries. */
export const LEFT_AS_DIGITS: ReadonlyArray<[string, string]> = [
  ['86 10 6552 9988', '861065529988'],
  ['861234', '861234'],
  ['6123 4567', '61234567'],
  ['n/a', ''],
  ['+86', ''],
];
