import { afterEach, describe, expect, it, vi } from 'vitest';
import { patchCustomer, VersionConflictError } from '../../web/api/customers.ts';
import { ApiError, onUnauthorized, request } from '../../web/api/http.ts';
import { loginUrl } from '../../web/api/session.ts';
import { problemFromAdminError, problemFromApiError } from '../../web/problems.ts';
import { fakeApi } from './fake-api.ts';
import { customer } from './fixtures.ts';

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('request', () => {
  it('turns an error answer into an ApiError with the stable code, WeCom errcode and admin hint', async () => {
    fakeApi({ 'GET /api/x': { status: 503, body: { error: 'wecom_60020', message: 'caller IP is not trusted', errcode: 60020, hint: 'Point WECOM_API_BASE at a fixed-IP proxy' } } });
    const error = await request('GET', '/api/x').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(ApiError);
    expect(error).toMatchObject({ status: 503, code: 'wecom_60020', message: 'caller IP is not trusted', errcode: 60020, hint: 'Point WECOM_API_BASE at a fixed-IP proxy' });
  });

  it('names an answer that is not JSON by its status', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => new Response('<html>Bad gateway</html>', { status: 502 })));
    await expect(request('GET', '/api/x')).rejects.toMatchObject({ status: 502, code: 'http_502', hint: undefined, errcode: undefined });
  });

  it('reports no answer at all as a network error with status 0', async () => {
    vi.stubGlobal('fetch', vi.fn(async () => Promise.reject(new TypeError('Failed to fetch'))));
    await expect(request('GET', '/api/x')).rejects.toMatchObject({ status: 0, code: 'network_error' });
  });

  it('sends JSON with the session cookie and tells 401 listeners', async () => {
    const api = fakeApi({ 'POST /api/y': { status: 401, body: { error: 'unauthenticated', message: 'Not logged in' } } });
    const heard: string[] = [];
    const stop = onUnauthorized((error) => heard.push(error.code));
    await expect(request('POST', '/api/y', { body: { a: 1 } })).rejects.toMatchObject({ status: 401 });
    stop();
    expect(heard).toEqual(['unauthenticated']);
    expect(api.calls[0]).toMatchObject({ method: 'POST', body: { a: 1 }, headers: { 'content-type': 'application/json' } });
    expect(vi.mocked(fetch).mock.calls[0]?.[1]).toMatchObject({ credentials: 'same-origin' });
  });
});

describe('patchCustomer', () => {
  it('sends the version it read as If-Match', async () => {
    const api = fakeApi({ 'PATCH /api/customers/c1': { body: { customer: customer({ id: 'c1', version: 8 }) } } });
    expect((await patchCustomer('c1', 7, { name: 'x' })).version).toBe(8);
    expect(api.calls[0]?.headers['if-match']).toBe('"7"');
  });

  it('turns a 412 into a VersionConflictError carrying the current record', async () => {
    fakeApi({ 'PATCH /api/customers/c1': { status: 412, body: { error: 'version_conflict', message: 'stale', current: customer({ id: 'c1', version: 9 }) } } });
    const error = await patchCustomer('c1', 7, { name: 'x' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(VersionConflictError);
    expect((error as VersionConflictError).current.version).toBe(9);
    expect((error as VersionConflictError).code).toBe('version_conflict');
  });
});

describe('problemFromApiError', () => {
  const error = (status: number, code: string, errcode?: number) => new ApiError(status, code, 'm', { errcode, hint: 'h' });
  it.each([
    [error(401, 'unauthenticated'), 'session_expired'],
    [error(403, 'not_your_contact'), 'not_your_contact'],
    [error(404, 'chat_not_found'), 'not_your_contact'],
    [error(403, 'forbidden'), 'forbidden'],
    [error(404, 'contact_not_found'), 'not_your_contact'],
    [error(403, 'customer_not_yours'), 'customer_not_yours'],
    [error(404, 'wecom_84061', 84061), 'not_your_contact'],
    [error(502, 'wecom_84061', 84061), 'not_your_contact'],
    [error(502, 'crm_unreachable'), 'crm_unreachable'],
    [error(502, 'crm_bad_response'), 'crm_unreachable'],
    [error(504, 'crm_timeout'), 'crm_unreachable'],
    [error(404, 'not_found'), 'not_found'],
    [error(0, 'network_error'), 'network'],
    [error(503, 'wecom_48002', 48002), 'wecom_failed'],
    [error(503, 'config_incomplete'), 'service_unavailable'],
    [error(500, 'internal'), 'unexpected'],
  ])('maps %o to %s', (apiError, kind) => {
    expect(problemFromApiError(apiError).kind).toBe(kind);
  });

  it('keeps the code, errcode and hint for the screen', () => {
    expect(problemFromApiError(error(502, 'wecom_60020', 60020))).toEqual({ kind: 'wecom_failed', errCode: 60020, hint: 'h', detail: 'm', code: 'wecom_60020' });
  });

  it('reads a 403 on an admin page as a missing role', () => {
    expect(problemFromAdminError(error(403, 'forbidden')).kind).toBe('forbidden');
  });
});

describe('loginUrl', () => {
  it('carries the way back as one encoded same-origin path', () => {
    expect(loginUrl('/?entry=single_chat_tools&contact=wm1#/contact/wm2')).toBe('/auth/login?return=%2F%3Fentry%3Dsingle_chat_tools%26contact%3Dwm1%23%2Fcontact%2Fwm2');
  });
});
