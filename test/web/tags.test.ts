/**
 * @module
 * The WeCom tags and remark pieces of the contact view: what they show, what they send, and how a
 * refusal or a CRM write kept for later reads.
 */
import { mount } from '@vue/test-utils';
import { createPinia, setActivePinia } from 'pinia';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import RemarkEditor from '../../web/components/RemarkEditor.vue';
import WeComTags from '../../web/components/WeComTags.vue';
import { ApiError } from '../../web/api/http.ts';
import { locale } from '../../web/i18n/index.ts';
import { useTagsStore } from '../../web/stores/tags.ts';
import type { ContactTags } from '../../worker/wire.ts';
import { fakeApi, settle } from './fake-api.ts';

const LIU_YANG = 'wmDemoLiuYang0000000000000000002';

const library: ContactTags = {
  groups: [
    { groupId: 'g1', name: '客户等级', field: '等级', tags: [{ id: 'a', name: 'A类客户' }, { id: 'b', name: 'B类客户' }] },
    { groupId: 'g2', name: '客户来源', field: null, tags: [{ id: 'web', name: '官网' }] },
  ],
  selected: ['b', 'web'],
  personal: [{ group: '我的标签', name: '重点跟进', type: 2 }],
  canEdit: true,
};

beforeEach(() => {
  setActivePinia(createPinia());
  locale.value = 'zh-CN';
});
afterEach(() => vi.unstubAllGlobals());

describe('WeComTags', () => {
  it('shows the library by group with my tags pressed, the mapped field, and personal tags apart', () => {
    const wrapper = mount(WeComTags, { props: { tags: library, busy: false, error: null, crm: null } });
    expect(wrapper.findAll('[data-group]').map((g) => g.attributes('data-group'))).toEqual(['客户等级', '客户来源']);
    expect(wrapper.find('[data-tag="B类客户"]').attributes('aria-pressed')).toBe('true');
    expect(wrapper.find('[data-tag="A类客户"]').attributes('aria-pressed')).toBe('false');
    expect(wrapper.text()).toContain('同步到客户字段「等级」');
    expect(wrapper.find('.personal').text()).toBe('重点跟进');
    expect(wrapper.find('.personal').element.tagName).toBe('SPAN');
  });

  it('asks to add an unpressed tag and remove a pressed one, and offers nothing to a member who may not edit', async () => {
    const wrapper = mount(WeComTags, { props: { tags: library, busy: false, error: null, crm: null } });
    await wrapper.find('[data-tag="A类客户"]').trigger('click');
    await wrapper.find('[data-tag="官网"]').trigger('click');
    expect(wrapper.emitted('toggle')).toEqual([['a', true], ['web', false]]);
    const readOnly = mount(WeComTags, { props: { tags: { ...library, canEdit: false }, busy: false, error: null, crm: null } });
    expect(readOnly.findAll('button.chip').every((b) => b.attributes('disabled') !== undefined)).toBe(true);
  });

  it('says why WeCom refused, with the admin hint', () => {
    const error = new ApiError(409, 'relationship_ended', 'ended', { errcode: 84061, hint: 'not a contact any more' });
    const wrapper = mount(WeComTags, { props: { tags: library, busy: false, error, crm: null } });
    expect(wrapper.find('[data-testid="tags-error"]').text()).toContain('已不再是好友关系');
    expect(wrapper.find('[data-testid="tags-error"]').text()).toContain('not a contact any more');
  });
});

describe('RemarkEditor', () => {
  const follow = { remark: '刘洋', description: '官网咨询', remarkMobiles: ['13712340002'] };

  it('sends only what changed, and an empty list to clear the mobiles', async () => {
    const wrapper = mount(RemarkEditor, { props: { followUser: follow, canEdit: true, busy: false, error: null, saved: false } });
    await wrapper.find('input[name="remark"]').setValue('刘洋-官网');
    await wrapper.find('textarea[name="remarkMobiles"]').setValue('');
    await wrapper.find('form').trigger('submit');
    expect(wrapper.emitted('save')).toEqual([[{ remark: '刘洋-官网', remarkMobiles: [] }]]);
  });

  it('counts characters against WeCom’s limit and will not send a remark over 20', async () => {
    const wrapper = mount(RemarkEditor, { props: { followUser: follow, canEdit: true, busy: false, error: null, saved: false } });
    await wrapper.find('input[name="remark"]').setValue('长'.repeat(21));
    expect(wrapper.text()).toContain('21/20');
    expect(wrapper.find('button[type="submit"]').attributes('disabled')).toBeDefined();
  });

  it('words a too-long refusal with the limit', () => {
    const error = new ApiError(400, 'too_long', 'x', { body: { error: 'too_long', field: 'description', max: 150 } });
    const wrapper = mount(RemarkEditor, { props: { followUser: follow, canEdit: true, busy: false, error, saved: false } });
    expect(wrapper.find('[data-testid="remark-error"]').text()).toContain('最多允许 150 个字');
  });
});

describe('the tags store', () => {
  it('marks a tag through the worker and keeps what became of the mapped CRM field', async () => {
    const api = fakeApi({
      [`GET /api/contacts/${LIU_YANG}/tags`]: { body: library },
      [`POST /api/contacts/${LIU_YANG}/tags`]: { body: { ...library, selected: ['a', 'web'], crm: { status: 'pending', fields: ['等级'], reason: 'CRM down' } } },
    });
    const store = useTagsStore();
    await store.load(LIU_YANG);
    await store.toggle('a', true);
    const [call] = api.find(`POST /api/contacts/${LIU_YANG}/tags`);
    expect(call?.body).toEqual({ add: ['a'], remove: [] });
    expect(call?.headers['idempotency-key']).toMatch(/^[0-9a-f-]{36}$/);
    expect(store.tags?.selected).toEqual(['a', 'web']);
    const wrapper = mount(WeComTags, { props: { tags: store.tags!, busy: store.busy, error: store.actionError, crm: store.crm } });
    await settle();
    expect(wrapper.find('[data-testid="crm-pending"]').text()).toContain('CRM down');
  });
});
