import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it } from 'vitest';
import type { TimelineItem } from '../../web/api/types.ts';
import TimelineList from '../../web/components/TimelineList.vue';
import { locale } from '../../web/i18n/index.ts';

const wangwu = { userid: 'wangwu', name: '王五' };

const items: TimelineItem[] = [
  { id: 'a', kind: 'customer_edited', at: 5, actor: wangwu, externalUserId: null, detail: { changes: [{ field: 'stage', from: 'lead', to: 'won' }, { field: 'customFields.预算', to: '50万' }, { field: 'mobiles', from: [], to: ['13800138000', '02161234567'] }] } },
  { id: 'b', kind: 'tags_changed', at: 4, actor: wangwu, externalUserId: 'wm1', detail: { tagsAdded: ['客户等级/A类客户'], tagsRemoved: ['来源/展会', '来源/官网'] } },
  { id: 'c', kind: 'follow_user_deleted', at: 3, actor: wangwu, externalUserId: 'wm1', detail: { members: [wangwu, { userid: 'zhaoliu', name: '' }] } },
  { id: 'd', kind: 'bound', at: 2, actor: null, externalUserId: 'wm1', detail: { name: '陈静', reason: 'bound_by_unionid' } },
  { id: 'e', kind: 'note', at: 1, actor: wangwu, externalUserId: null, detail: { text: 'Called back, wants a quote', reason: 'a_reason_from_a_newer_worker' } },
];

function lines(): string[][] {
  const wrapper = mount(TimelineList, { props: { items, status: 'ready', error: null } });
  return wrapper.findAll('[data-testid="timeline-item"]').map((item) => [item.find('strong').text(), ...item.findAll('[data-testid="timeline-detail"]').map((line) => line.text())]);
}

afterEach(() => {
  locale.value = 'zh-CN';
});

describe('the timeline', () => {
  it('words each item’s facts in Chinese', () => {
    locale.value = 'zh-CN';
    expect(lines()).toEqual([
      ['编辑了 CRM 客户', '阶段：线索 → 赢单', '预算：50万', '电话：（空） → 13800138000、02161234567'],
      ['修改了企业微信标签', '添加标签：客户等级/A类客户', '移除标签：来源/展会、来源/官网'],
      ['被客户删除', '通知了 王五、zhaoliu'],
      ['关联了客户', '客户：陈静', '按 unionid 自动关联'],
      ['跟进记录', 'a_reason_from_a_newer_worker', 'Called back, wants a quote'],
    ]);
  });

  it('words the same facts in English', () => {
    locale.value = 'en';
    expect(lines()).toEqual([
      ['Customer edited', 'Stage: Lead → Won', '预算: 50万', 'Phones: (empty) → 13800138000, 02161234567'],
      ['WeCom tags changed', 'Tags added: 客户等级/A类客户', 'Tags removed: 来源/展会, 来源/官网'],
      ['Removed by the customer', 'Notified 王五, zhaoliu'],
      ['Linked', 'Customer: 陈静', 'Linked automatically by unionid'],
      ['Note', 'a_reason_from_a_newer_worker', 'Called back, wants a quote'],
    ]);
  });
});
