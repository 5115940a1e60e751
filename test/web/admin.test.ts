import { flushPromises } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { locale } from '../../web/i18n/index.ts';
import { ORG_SYNC_POLL_MS } from '../../web/stores/admin.ts';
import { adminEvent, adminMe, adminUser, me, reconcileRun, syncRun } from './fixtures.ts';
import { settled, startApp } from './harness.ts';

const ROLES = ['admin', 'manager', 'sales', 'viewer'];

function usersRoutes(latestSync = syncRun({ id: 6, status: 'succeeded', done: 6, total: 6, finishedAt: 1707000100000 }), latestReconcile: ReturnType<typeof reconcileRun> | null = null) {
  return {
    'GET /api/admin/reconcile/latest': { body: { run: latestReconcile } },
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

/** The run as the worker ends it on a cancel. */
function cancelledBy(userid: string) {
  return { status: 'failed' as const, phase: 'cancelled', error: `cancelled by ${userid}`, finishedAt: 1707000150000 };
}

describe('cancelling a long job', () => {
  it('cancels a running org sync only after the confirmation, and shows it as cancelled by whom', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: {
        ...usersRoutes(syncRun({ id: 7, done: 2, total: 6 })),
        'GET /api/admin/org-sync/7': { body: { run: syncRun({ id: 7, done: 3 }) } },
        'POST /api/admin/org-sync/7/cancel': { body: { run: syncRun({ id: 7, done: 3, ...cancelledBy('zhangsan') }) } },
      },
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sync = () => wrapper.find('[data-testid="org-sync"]');
    const cancel = sync().find('[data-testid="job-cancel"]');
    expect(cancel.exists()).toBe(true);
    await cancel.find('button').trigger('click');
    // Asked first: nothing is sent until the question is answered yes.
    expect(sync().find('[data-testid="confirm-question"]').text()).toContain('确定取消这次运行吗');
    expect(api.count('POST /api/admin/org-sync/7/cancel')).toBe(0);
    await sync().find('[data-testid="confirm-no"]').trigger('click');
    expect(sync().find('[data-testid="confirm-question"]').exists()).toBe(false);
    expect(api.count('POST /api/admin/org-sync/7/cancel')).toBe(0);

    await sync().find('[data-testid="job-cancel"] button').trigger('click');
    await sync().find('[data-testid="confirm-yes"]').trigger('click');
    await flushPromises();
    expect(api.count('POST /api/admin/org-sync/7/cancel')).toBe(1);
    const status = sync().find('[data-testid="sync-status"]');
    expect(status.attributes('data-phase')).toBe('cancelled');
    expect(status.text()).toContain('已取消');
    expect(status.text()).not.toContain('同步失败');
    expect(sync().find('[data-testid="cancelled-by"]').text()).toContain('由 zhangsan 取消');
    // Not a failure: no error alert, and nothing left to cancel.
    expect(sync().find('.run-error').exists()).toBe(false);
    expect(sync().find('[data-testid="job-cancel"]').exists()).toBe(false);
    expect(sync().find('[data-testid="start-sync"]').attributes('disabled')).toBeUndefined();
    // The run is no longer polled.
    const polls = api.count('GET /api/admin/org-sync/7');
    await vi.advanceTimersByTimeAsync(ORG_SYNC_POLL_MS * 3);
    expect(api.count('GET /api/admin/org-sync/7')).toBe(polls);
  });

  it('says "already finished" on a 409 and shows the run as it ended', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: {
        ...usersRoutes(syncRun({ id: 7 })),
        'POST /api/admin/org-sync/7/cancel': { status: 409, body: { error: 'conflict', message: 'org sync 7 is not running (succeeded)' } },
        'GET /api/admin/org-sync/7': { body: { run: syncRun({ id: 7, status: 'succeeded', done: 6, total: 6, finishedAt: 1707000100000 }) } },
      },
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sync = () => wrapper.find('[data-testid="org-sync"]');
    await sync().find('[data-testid="job-cancel"] button').trigger('click');
    await sync().find('[data-testid="confirm-yes"]').trigger('click');
    await flushPromises();
    expect(api.count('POST /api/admin/org-sync/7/cancel')).toBe(1);
    expect(sync().find('[data-testid="job-notice"]').text()).toContain('这次运行已经结束');
    // Shown as a notice, not as a failed action.
    expect(sync().find('[data-testid="action-error"]').exists()).toBe(false);
    // Refreshed at once: the run as it really ended.
    expect(api.count('GET /api/admin/org-sync/7')).toBe(1);
    expect(sync().find('[data-testid="sync-status"]').text()).toContain('同步完成');
    expect(sync().find('[data-testid="job-cancel"]').exists()).toBe(false);
  });

  it('shows another failure of the cancel as an error and keeps following the run', async () => {
    const { wrapper } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: {
        ...usersRoutes(syncRun({ id: 7 })),
        'POST /api/admin/org-sync/7/cancel': { status: 500, body: { error: 'internal', message: 'D1 unavailable' } },
        'GET /api/admin/org-sync/7': { body: { run: syncRun({ id: 7, done: 4 }) } },
      },
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const sync = () => wrapper.find('[data-testid="org-sync"]');
    await sync().find('[data-testid="job-cancel"] button').trigger('click');
    await sync().find('[data-testid="confirm-yes"]').trigger('click');
    await flushPromises();
    expect(sync().find('[data-testid="action-error"]').text()).toContain('D1 unavailable');
    expect(sync().find('[data-testid="job-notice"]').exists()).toBe(false);
    await vi.advanceTimersByTimeAsync(ORG_SYNC_POLL_MS);
    await flushPromises();
    expect(sync().find('progress').attributes('value')).toBe('4');
  });

  it('says "Cancelled" and who cancelled in English', async () => {
    const { wrapper } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: usersRoutes(syncRun({ id: 7, ...cancelledBy('zhangsan') }), reconcileRun({ ...cancelledBy('lisi') })),
    });
    locale.value = 'en';
    await settled();
    try {
      expect(wrapper.find('[data-testid="sync-status"]').text()).toBe('Cancelled · by zhangsan');
      expect(wrapper.find('[data-testid="reconcile-status"]').text()).toBe('Cancelled · by lisi');
    } finally {
      locale.value = 'zh-CN';
    }
  });

  it('shows the step meter in the run details', async () => {
    const { wrapper } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: usersRoutes(syncRun({ id: 6, status: 'succeeded', done: 6, total: 6, steps: 3, wecomCalls: 11, maxStepWecomCalls: 10, finishedAt: 1707000100000 })),
    });
    const meter = wrapper.find('[data-testid="org-sync"] [data-testid="job-meter"]');
    expect(meter.text()).toContain('步骤 3');
    expect(meter.text()).toContain('企业微信调用 11 次');
    expect(meter.text()).toContain('单步最多 10 次');
    // One instance ran it: nothing said of instances.
    expect(meter.text()).not.toContain('接续');
  });
});

describe('the reconciliation panel', () => {
  it('shows the latest reconciliation beside the sync, with its counts and step meter', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: usersRoutes(undefined, reconcileRun({ status: 'succeeded', done: 10, total: 10, phase: 'done', steps: 12, wecomCalls: 12, instances: 3, finishedAt: 1707000100000 })),
    });
    expect(api.count('GET /api/admin/reconcile/latest')).toBe(1);
    const panel = wrapper.find('[data-testid="reconcile"]');
    expect(panel.find('[data-testid="reconcile-status"]').text()).toContain('核对完成');
    expect(panel.text()).toContain('补记跟进 2');
    expect(panel.text()).toContain('结束跟进 1');
    expect(panel.text()).toContain('新增绑定 1');
    expect(panel.find('[data-testid="job-meter"]').text()).toContain('企业微信调用 12 次');
    expect(panel.find('[data-testid="job-meter"]').text()).toContain('分 3 段接续运行');
    expect(panel.find('[data-testid="job-cancel"]').exists()).toBe(false);
  });

  it('says when reconciliation never ran', async () => {
    const { wrapper } = await startApp({ url: '/#/admin/users', me: adminMe(), routes: usersRoutes() });
    expect(wrapper.find('[data-testid="reconcile"]').text()).toContain('还没有核对过');
  });

  it('starts a reconciliation, follows it, and cancels it after the confirmation', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: {
        ...usersRoutes(),
        'POST /api/admin/reconcile': { status: 202, body: { run: reconcileRun({ id: 13, done: 0 }) } },
        'GET /api/admin/reconcile/13': { body: { run: reconcileRun({ id: 13, done: 5 }) } },
        'POST /api/admin/reconcile/13/cancel': { body: { run: reconcileRun({ id: 13, done: 5, ...cancelledBy('lisi') }) } },
      },
    });
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    const panel = () => wrapper.find('[data-testid="reconcile"]');
    await panel().find('[data-testid="start-reconcile"]').trigger('click');
    await flushPromises();
    expect(api.count('POST /api/admin/reconcile')).toBe(1);
    expect(panel().find('[data-testid="reconcile-status"]').text()).toContain('核对中');
    await vi.advanceTimersByTimeAsync(ORG_SYNC_POLL_MS);
    await flushPromises();
    expect(panel().find('progress').attributes('value')).toBe('5');

    await panel().find('[data-testid="job-cancel"] button').trigger('click');
    expect(api.count('POST /api/admin/reconcile/13/cancel')).toBe(0);
    await panel().find('[data-testid="confirm-yes"]').trigger('click');
    await flushPromises();
    expect(api.count('POST /api/admin/reconcile/13/cancel')).toBe(1);
    expect(panel().find('[data-testid="reconcile-status"]').text()).toContain('已取消');
    expect(panel().find('[data-testid="cancelled-by"]').text()).toContain('由 lisi 取消');
    // The org sync panel is untouched.
    expect(wrapper.find('[data-testid="sync-status"]').text()).toContain('同步完成');
  });

  it('says "already finished" when the reconciliation ended before the cancel arrived', async () => {
    const { wrapper, api } = await startApp({
      url: '/#/admin/users',
      me: adminMe(),
      routes: {
        ...usersRoutes(undefined, reconcileRun({ id: 12 })),
        'POST /api/admin/reconcile/12/cancel': { status: 409, body: { error: 'conflict', message: 'reconciliation 12 is not running (failed)' } },
        'GET /api/admin/reconcile/12': { body: { run: reconcileRun({ id: 12, status: 'failed', phase: 'pages', error: 'WeCom 48002: API forbidden', finishedAt: 1707000100000 }) } },
      },
    });
    const panel = () => wrapper.find('[data-testid="reconcile"]');
    await panel().find('[data-testid="job-cancel"] button').trigger('click');
    await panel().find('[data-testid="confirm-yes"]').trigger('click');
    await settled();
    expect(panel().find('[data-testid="job-notice"]').text()).toContain('这次运行已经结束');
    expect(api.count('GET /api/admin/reconcile/12')).toBeGreaterThanOrEqual(1);
    // It ended on its own: a real failure, shown as one.
    expect(panel().find('[data-testid="reconcile-status"]').text()).toContain('核对失败');
    expect(panel().find('.run-error').text()).toContain('WeCom 48002');
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
