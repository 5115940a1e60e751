import { describe, expect, it } from 'vitest';
import { issueLoginState, LOGIN_STATE_SECONDS, verifyLoginState, type LoginStateRefusal } from '../../worker/identity/login-state.ts';

// Expected values computed outside the worker with Node's crypto: key = HMAC-SHA-256(secret, "oauth-state/v1"),
// mac = HMAC-SHA-256(key, JSON [nonce, expiry, corpId, agentId, returnTo]).
const secret = 'known-answer-secret-0000000000000000000001';
const nonce = '00112233445566778899aabbccddeeff';
const now = 1_700_000_000_000;
const context = { returnTo: '/#/contact/wm1?x=é', corpId: 'wwdemo0000000001', agentId: '1000002' };
const expectedState = '00112233445566778899aabbccddeeff6553f3583b8d730da536820778d21d0875be75f0ae61d6c7ee5aa653ec50640b0133deb8';
const expectedCookie = '00112233445566778899aabbccddeeff.WyIvIy9jb250YWN0L3dtMT94PcOpIiwid3dkZW1vMDAwMDAwMDAwMSIsIjEwMDAwMDIiXQ';

function flip(text: string, at: number): string {
  return `${text.slice(0, at)}${text[at] === '0' ? '1' : '0'}${text.slice(at + 1)}`;
}

describe('login state', () => {
  it('matches the independently computed state and cookie', async () => {
    expect(await issueLoginState(secret, context, now, nonce)).toEqual({ state: expectedState, cookie: expectedCookie });
  });

  it('fits WeCom\'s state rule ([a-zA-Z0-9], at most 128 bytes) with a random nonce', async () => {
    const { state } = await issueLoginState(secret, { ...context, returnTo: `/${'x'.repeat(2000)}` }, now);
    expect(state).toMatch(/^[a-zA-Z0-9]{1,128}$/);
  });

  it('accepts its own state in the browser holding the cookie, until it expires', async () => {
    expect(await verifyLoginState(secret, expectedState, expectedCookie, now)).toEqual({ ok: true, nonce, context });
    expect(await verifyLoginState(secret, expectedState, expectedCookie, now + LOGIN_STATE_SECONDS * 1000 - 1)).toMatchObject({ ok: true });
  });

  const otherCookie = `ffeeddccbbaa99887766554433221100.${expectedCookie.split('.')[1]}`;
  const evilCookie = `${nonce}.${btoa(JSON.stringify(['//evil.example/x', context.corpId, context.agentId])).replace(/=+$/, '')}`;
  it.each<[string, string, string | undefined, number, LoginStateRefusal]>([
    ['expired', expectedState, expectedCookie, now + LOGIN_STATE_SECONDS * 1000, 'expired'],
    ['a flipped mac bit', flip(expectedState, 60), expectedCookie, now, 'bad_signature'],
    ['a later expiry written in', `${nonce}ffffffff${expectedState.slice(40)}`, expectedCookie, now, 'bad_signature'],
    ['a return path changed in the cookie', expectedState, evilCookie, now, 'bad_signature'],
    ['another secret', expectedState, expectedCookie, now, 'bad_signature'],
    ['no cookie (another browser)', expectedState, undefined, now, 'no_cookie'],
    ["another login's cookie (another browser)", expectedState, otherCookie, now, 'other_browser'],
    ['a cookie that is not ours', expectedState, `${nonce}.%%%`, now, 'other_browser'],
    ['upper-case hex', expectedState.toUpperCase(), expectedCookie, now, 'malformed'],
    ['a truncated state', expectedState.slice(0, 103), expectedCookie, now, 'malformed'],
    ['an empty state', '', expectedCookie, now, 'malformed'],
  ])('refuses %s', async (name, state, cookie, at, reason) => {
    const key = name === 'another secret' ? `${secret}-rotated` : secret;
    expect(await verifyLoginState(key, state, cookie, at)).toEqual({ ok: false, reason });
  });
});
