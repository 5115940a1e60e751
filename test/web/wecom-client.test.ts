import { afterEach, describe, expect, it, vi } from 'vitest';
import { createWeComClient, describeFailure, isDomainFailure, isSignatureFailure, pageUrl } from '../../web/wecom/client.ts';
import { fakeWw } from './fake-ww.ts';
import { signatures } from './fixtures.ts';

afterEach(() => vi.restoreAllMocks());

/** happy-dom has no PromiseRejectionEvent; the listener only reads `reason`. */
function rejection(reason: unknown): Event {
  return Object.assign(new Event('unhandledrejection', { cancelable: true }), { reason });
}

describe('the WeCom client', () => {
  it('refuses every call outside WeCom without touching ww', async () => {
    const ww = fakeWw({ isWeCom: false });
    const client = createWeComClient(ww);
    const sign = vi.fn(async () => signatures());
    expect(client.isWeCom).toBe(false);
    await expect(client.register(sign)).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.getContext()).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.getCurExternalContact()).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.getCurExternalChat()).rejects.toMatchObject({ kind: 'unavailable' });
    await expect(client.openUserProfile('wm1')).rejects.toMatchObject({ kind: 'unavailable' });
    expect(ww.log).toEqual([]);
    expect(sign).not.toHaveBeenCalled();
  });

  it('refuses API calls before registration finished, so the SDK never signs on its own', async () => {
    const ww = fakeWw();
    const client = createWeComClient(ww);
    await expect(client.getContext()).rejects.toMatchObject({ kind: 'unavailable' });
    expect(ww.log).toEqual([]);
  });

  it('calls the signer once per attempt for both signatures', async () => {
    const ww = fakeWw();
    const client = createWeComClient(ww);
    const sign = vi.fn(async () => signatures());
    expect(await client.register(sign)).toEqual({ ok: true });
    expect(sign).toHaveBeenCalledExactlyOnceWith(pageUrl(), false);
    expect(ww.signed).toHaveLength(2);
    await expect(client.register(sign)).rejects.toThrow('once');
  });

  it('classifies call failures by their errMsg', async () => {
    const ww = fakeWw({ chatFailure: { errMsg: 'getCurExternalChat:fail without context of external contact', errCode: -1 }, contactFailure: { errMsg: 'getCurExternalContact:fail no permission', errCode: -1 } });
    const client = createWeComClient(ww);
    await client.register(async () => signatures());
    await expect(client.getCurExternalChat()).rejects.toMatchObject({ kind: 'no_context', api: 'getCurExternalChat' });
    await expect(client.getCurExternalContact()).rejects.toMatchObject({ kind: 'no_permission', errMsg: 'getCurExternalContact:fail no permission' });
  });

  it('mutes only the unhandled config rejections the SDK leaves behind', async () => {
    const ww = fakeWw();
    await createWeComClient(ww).register(async () => signatures());
    const configFailure = rejection({ errMsg: 'agentConfig:fail invalid signature', errCode: 40093 });
    window.dispatchEvent(configFailure);
    expect(configFailure.defaultPrevented).toBe(true);
    const other = rejection(new Error('something else'));
    window.dispatchEvent(other);
    expect(other.defaultPrevented).toBe(false);
  });
});

describe('failure tests', () => {
  it.each([
    [{ errMsg: 'agentConfig:fail invalid signature', errCode: -1 }, true, false],
    [{ errMsg: 'config:invalid signature', errCode: 40093 }, true, false],
    [{ errMsg: 'agentConfig:fail', errCode: 42012 }, true, false],
    [{ errMsg: 'config:fail invalid url domain', errCode: -1 }, false, true],
    [{ errMsg: 'agentConfig:fail not match any reliable domain', errCode: 80001 }, false, true],
    [{ errMsg: 'agentConfig:fail function not exist', errCode: -1 }, false, false],
  ])('reads %o as signature %s, domain %s', (result, signature, domain) => {
    const failure = describeFailure(result);
    expect(isSignatureFailure(failure)).toBe(signature);
    expect(isDomainFailure(failure)).toBe(domain);
  });

  it('reads SDK errors by their message', () => {
    expect(describeFailure(new Error('SDK Error: Aborted'))).toEqual({ errMsg: 'SDK Error: Aborted', errCode: undefined });
  });
});
