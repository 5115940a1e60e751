import { describe, expect, it } from 'vitest';
import { CALLBACK_WINDOW_SECONDS, checkCallbackTime } from '../../worker/wecom/freshness.ts';

describe('checkCallbackTime', () => {
  const now = 1_800_000_000_500; // epoch ms, half a second into second 1_800_000_000

  it('states a five-minute window', () => {
    expect(CALLBACK_WINDOW_SECONDS).toBe(300);
  });

  it.each([
    ['1800000000', true],
    ['1799999700', true],
    ['1800000300', true],
    ['1799999699', false],
    ['1800000301', false],
    ['1000000000', false],
    ['0', false],
    ['999999999999', false],
  ])('judges timestamp %s as fresh: %s', (timestamp, fresh) => {
    expect(checkCallbackTime(timestamp, now).ok).toBe(fresh);
  });

  it('says how far off and which way in its reason', () => {
    expect(checkCallbackTime('1799999000', now)).toEqual({ ok: false, reason: 'timestamp is 1000 s old, outside ±300 s' });
    expect(checkCallbackTime('1800001000', now)).toEqual({ ok: false, reason: 'timestamp is 1000 s in the future, outside ±300 s' });
  });

  it('takes another window when given one', () => {
    expect(checkCallbackTime('1799999990', now, 5).ok).toBe(false);
    expect(checkCallbackTime('1799999995', now, 5).ok).toBe(true);
  });
});
