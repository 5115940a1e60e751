import { flushPromises } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { ORG_SYNC_POLL_MS } from '../../web/stores/admin.ts';
import { adminEvent, adminMe, adminUser, me, syncRun } from './fixtures.ts';
import { settled, startApp } from './harness.ts';

const ROLES = ['admin', 'manager', 'sales', 'viewer'];

function usersRoutes(latestSync = syncRun({ id: 6, status: 'succeeded', done: 6, total: 6, finishedAt: 1707000100000 })) {
  return {
    'GET /api/admin/users': {
      body: {
        users: [adminUser({ id: 1, wecomUserId: 'zhangsan', name: '张三', roles: ['admin'] }), adminUser(), adminUser({ id: 9, wecomUserId: 'sunqi', name: '孙七', roles: ['viewer'], status: 'inactive', lastLoginAt: null })],
        roles: ROLES,
        latestSync,
      },
    },
  };
}

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the users page', () => {
  it('lists members with their roles and saves a role change', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: { ...usersRoutes(), 'PUT /api/admin/users/3/roles': (call) => ({ body: { user: adminUser({ roles: (call.body as { roles: [] }).roles }) } }) },
    });
    const rows = wrapper.findAll('[data-testid="admin-user"]');
    expect(rows.map((row) => row.attributes('data-user'))).toEqual(['zhangsan', 'wangwu', 'sunqi']);
    expect(rows[2]?.text()).toContain('已停用');
    expect(rows[2]?.text()).toContain('从未登录');
    const wangwu = rows[1]!;
    expect((wangwu.find('input[value="sales"]').element as HTMLInputElement).checked).toBe(true);
    await wangwu.find('input[value="manager"]').setValue(true);
    await settled();
    expect(api.find('PUT /api/admin/users/3/roles').map((call) => call.body)).toEqual([{ roles: ['manager', 'sales'] }]);
    expect((wrapper.findAll('[data-testid="admin-user"]')[1]!.find('input[value="manager"]').element as HTMLInputElement).checked).toBe(true);
  });

  it('shows a refused role change on its row', async () => {
    const { wrapper } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: { ...usersRoutes(), 'PUT /api/admin/users/1/roles': { status: 409, body: { error: 'conflict', message: 'You cannot remove your own admin role; ask another admin' } } },
    });
    await wrapper.findAll('[data-testid="admin-user"]')[0]!.find('input[value="admin"]').setValue(false);
    await settled();
    expect(wrapper.findAll('[data-testid="admin-user"]')[0]!.find('[data-testid="action-error"]').text()).toContain('You cannot remove your own admin role');
  });

  it('shows the last org sync with every failure and its reason', async () => {
    const { wrapper } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: usersRoutes(syncRun({ id: 6, status: 'succeeded', done: 6, total: 6, created: 1, updated: 4, failed: 1, failures: [{ subject: 'zhouba', reason: '60011 outside the visible range' }], finishedAt: 1707000100000 })),
    });
    const sync = wrapper.find('[data-testid="org-sync"]');
    expect(sync.find('[data-testid="sync-status"]').text()).toContain('同步完成');
    expect(sync.text()).toContain('新增 1');
    expect(sync.find('[data-testid="sync-failures"]').text()).toContain('zhouba: 60011 outside the visible range');
  });

  it('starts an org sync and follows its progress to the result', async () => {
    const progress = [syncRun({ done: 4 }), syncRun({ status: 'failed', done: 5, total: 6, failed: 1, failures: [{ subject: 'department 5', reason: '60011 not visible' }], error: 'stopped after a WeCom error', finishedAt: 1707000200000 })];
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: {
        ...usersRoutes(),
        'POST /api/admin/org-sync': { status: 202, body: { run: syncRun() } },
        'GET /api/admin/org-sync/7': (_call, nth) => ({ body: { run: progress[Math.min(nth, progress.length) - 1] } }),
      },
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await wrapper.find('[data-testid="start-sync"]').trigger('click');
    await flushPromises();
    const sync = () => wrapper.find('[data-testid="org-sync"]');
    expect(sync().find('[data-testid="sync-status"]').text()).toContain('同步中');
    expect(sync().find('progress').attributes('value')).toBe('2');
    expect(sync().find('[data-testid="start-sync"]').attributes('disabled')).toBeDefined();

    await vi.advanceTimersByTimeAsync(ORG_SYNC_POLL_MS);
    await flushPromises();
    expect(sync().find('progress').attributes('value')).toBe('4');

    await vi.advanceTimersByTimeAsync(ORG_SYNC_POLL_MS);
    await flushPromises();
    expect(sync().find('[data-testid="sync-status"]').text()).toContain('同步失败');
    expect(sync().text()).toContain('stopped after a WeCom error');
    expect(sync().find('[data-testid="sync-failures"]').text()).toContain('department 5: 60011 not visible');

    await vi.advanceTimersByTimeAsync(ORG_SYNC_POLL_MS * 5);
    expect(api.count('GET /api/admin/org-sync/7')).toBe(2);
    // The members list is read again once the sync ended.
    expect(api.count('GET /api/admin/users')).toBe(2);
  });

  it('follows the sync already running when the worker answers 409', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: {
        ...usersRoutes(),
        'POST /api/admin/org-sync': { status: 409, body: { run: syncRun({ id: 8, done: 1 }), alreadyRunning: true } },
        'GET /api/admin/org-sync/8': { body: { run: syncRun({ id: 8, status: 'succeeded', done: 6, finishedAt: 1707000300000 }) } },
      },
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    await wrapper.find('[data-testid="start-sync"]').trigger('click');
    await flushPromises();
    expect(wrapper.find('[data-testid="org-sync"] [data-testid="action-error"]').exists()).toBe(false);
    expect(wrapper.find('[data-testid="sync-status"]').text()).toContain('同步中');
    await vi.advanceTimersByTimeAsync(ORG_SYNC_POLL_MS);
    await flushPromises();
    expect(api.count('GET /api/admin/org-sync/8')).toBe(1);
    expect(wrapper.find('[data-testid="sync-status"]').text()).toContain('同步完成');
  });
});

describe('the events page', () => {
  it('lists recent callback events with status, retries and errors', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/events',
      me: adminMe(),
      routes: {
        'GET /api/admin/events': {
          body: {
            events: [
              adminEvent({ id: 3, status: 'failed', attempts: 3, lastError: 'CRM timeout' }),
              adminEvent({ id: 2, status: 'applied', duplicates: 2 }),
              adminEvent({ id: 1, kind: 'change_contact', changeType: 'update_user', status: 'received' }),
            ],
          },
        },
      },
    });
    const rows = wrapper.findAll('[data-testid="admin-event"]');
    expect(rows.map((row) => row.attributes('data-status'))).toEqual(['failed', 'applied', 'received']);
    expect(rows[0]?.text()).toContain('CRM timeout');
    expect(rows[0]?.text()).toContain('处理 3 次');
    expect(rows[1]?.text()).toContain('重复推送 2 次');
    expect(rows[2]?.text()).toContain('update_user');
    await wrapper.find('[data-testid="admin-events"] header button').trigger('click');
    await settled();
    expect(api.count('GET /api/admin/events')).toBe(2);
  });

  it('says so when the worker refuses the admin API', async () => {
    const { wrapper } = await startApp({ url: '/#/admin/events', me: adminMe(), routes: { 'GET /api/admin/events': { status: 403, body: { error: 'forbidden', message: 'This needs the admin role' } } } });
    expect(wrapper.find('[data-testid="problem-forbidden"]').exists()).toBe(true);
  });
});

describe('admin pages for a member who is not an admin', () => {
  it('shows the forbidden screen and asks the worker nothing', async () => {
    const { wrapper, api } = await startApp({ url: '/#/admin/users', me: me() });
    expect(wrapper.find('[data-testid="problem-forbidden"]').exists()).toBe(true);
    expect(api.calls.some((call) => call.path.startsWith('/api/admin'))).toBe(false);
  });
});
