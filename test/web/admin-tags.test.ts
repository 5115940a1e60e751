/**
 * @module
 * The admin's tag page: renaming in place, deleting behind a question, and filling existing
 * customers' mapped fields by a reconciliation started right there.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { AdminTags } from '../../worker/wire.ts';
import { adminMe, reconcileRun } from './fixtures.ts';
import { settled, startApp } from './harness.ts';

const PAGE = '/#/admin/tags';

function library(names: string[] = ['A类客户', 'B类客户'], field: string | null = null): AdminTags {
  return {
    groups: [{ groupId: 'g1', name: '客户等级', field, tags: names.map((name, i) => ({ id: `t${i}`, name })) }],
    mappings: field ? [{ groupId: 'g1', groupName: '客户等级', field }] : [],
    pending: [],
  };
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
});

describe('the tags page', () => {
  it('renames a tag in place, and keeps the form with the reason when WeCom refuses', async () => {
    const { wrapper, api } = await startApp({
      url: PAGE,
      me: adminMe(),
      routes: {
        'GET /api/admin/tags': { body: library() },
        'PATCH /api/admin/tags/t0': (call) =>
          (call.body as { name: string }).name === '重要客户'
            ? { status: 403, body: { error: 'tag_not_editable', message: 'made in the admin console' } }
            : { body: library(['A级', 'B类客户']) },
      },
    });
    const tag = () => wrapper.find('[data-tag="A类客户"]');
    await tag().find('[data-testid="rename-tag"]').trigger('click');
    await tag().find('input[name="rename"]').setValue('重要客户');
    await tag().find('form').trigger('submit');
    await settled();
    expect(wrapper.find('[data-testid="admin-tags-error"]').attributes('data-code')).toBe('tag_not_editable');
    expect(tag().find('input[name="rename"]').exists()).toBe(true);

    await tag().find('input[name="rename"]').setValue('A级');
    await tag().find('form').trigger('submit');
    await settled();
    expect(api.find('PATCH /api/admin/tags/t0').map((call) => call.body)).toEqual([{ name: '重要客户' }, { name: 'A级' }]);
    expect(wrapper.find('[data-tag="A级"]').exists()).toBe(true);
    expect(wrapper.find('input[name="rename"]').exists()).toBe(false);
  });

  it('deletes a tag only after the question, which says WeCom removes it from every customer', async () => {
    const { wrapper, api } = await startApp({
      url: PAGE,
      me: adminMe(),
      routes: { 'GET /api/admin/tags': { body: library() }, 'DELETE /api/admin/tags/t1': { body: library(['A类客户']) } },
    });
    const tag = wrapper.find('[data-tag="B类客户"]');
    await tag.find('button.danger').trigger('click');
    expect(api.count('DELETE /api/admin/tags/t1')).toBe(0);
    expect(tag.find('[data-testid="confirm-question"]').text()).toContain('从所有客户身上移除');
    await tag.find('[data-testid="confirm-yes"]').trigger('click');
    await settled();
    expect(api.count('DELETE /api/admin/tags/t1')).toBe(1);
    expect(wrapper.find('[data-tag="B类客户"]').exists()).toBe(false);
  });

  it('after saving a mapping, offers the reconciliation that fills existing customers, and starts it', async () => {
    const { wrapper, api } = await startApp({
      url: PAGE,
      me: adminMe(),
      routes: {
        'GET /api/admin/tags': { body: library() },
        'PUT /api/admin/tags/mappings': { body: library(undefined, '等级') },
        'GET /api/admin/reconcile/latest': { body: { run: null } },
        'POST /api/admin/reconcile': { status: 202, body: { run: reconcileRun({ id: 31, status: 'running', done: 0, total: 4 }) } },
        'GET /api/admin/reconcile/31': { body: { run: reconcileRun({ id: 31, status: 'running', done: 1, total: 4 }) } },
      },
    });
    expect(wrapper.find('[data-testid="mappings-saved"]').exists()).toBe(false);
    await wrapper.find('input[name="field-g1"]').setValue('等级');
    await wrapper.find('[data-testid="save-mappings"]').trigger('click');
    await settled();
    expect(api.find('PUT /api/admin/tags/mappings').map((call) => call.body)).toEqual([{ mappings: [{ groupId: 'g1', field: '等级' }] }]);
    expect(wrapper.find('[data-testid="mappings-saved"]').text()).toContain('运行一次对账');
    await wrapper.find('[data-testid="start-reconcile"]').trigger('click');
    await settled();
    expect(api.count('POST /api/admin/reconcile')).toBe(1);
  });
});
