/**
 * @module
 * Quick replies in the sidebar, over the real SDK in the simulated WeCom client: browsed and
 * searched, previewed with the chat's values, sent into the chat from a chat toolbar, copied
 * elsewhere or when WeCom refuses, each use counted; and the library page for managers.
 */
import type { VueWrapper } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { ManagedReply, QuickReply, ReplyList } from '../../web/api/types.ts';
import { boundDetail, chatDetail, contactDetail, customer, ids, me, notes, timeline } from './fixtures.ts';
import { settled, startApp, type StartOptions } from './harness.ts';

const CONTACT = `GET /api/contacts/${ids.chenJing}`;

function reply(id: number, title: string, content: string, group = '开场', departmentId: number | null = null): QuickReply {
  return { id, group, title, departmentId, departmentName: departmentId === null ? null : '华东销售部', body: { msgtype: 'text', text: { content } }, updatedAt: 1736154000000 };
}

const greeting = reply(1, '问候', '{contact_remark}您好，我是{my_name}，{customer_company}的资料已备好。');
const card: QuickReply = {
  ...reply(2, '案例', '', '资料', 3),
  body: { msgtype: 'news', news: { link: 'https://example.com/case', title: '给{contact_name}的交付案例', desc: '30 天交付', imgUrl: '' } },
};
const library = (): ReplyList => ({ replies: [greeting, card], groups: ['开场', '资料'] });

function routes(extra: StartOptions['routes'] = {}): StartOptions['routes'] {
  return {
    [CONTACT]: { body: boundDetail(customer({ company: '星河贸易集团' })) },
    'GET /api/customers/cus_xinghe/notes': { body: { notes: notes() } },
    'GET /api/customers/cus_xinghe/timeline': { body: { items: timeline() } },
    'GET /api/replies': (call) => {
      const q = new URL(call.path, 'http://x').searchParams.get('q') ?? '';
      const all = library();
      return { body: { ...all, replies: all.replies.filter((r) => r.title.includes(q)) } };
    },
    'POST /api/replies/1/usage': { body: { ok: true } },
    'POST /api/replies/2/usage': { body: { ok: true } },
    ...extra,
  };
}

async function openReplies(wrapper: VueWrapper): Promise<void> {
  const details = wrapper.find('[data-testid="quick-replies"]');
  expect(details.exists()).toBe(true);
  (details.element as HTMLDetailsElement).open = true;
  await details.trigger('toggle');
  await settled();
}

function item(wrapper: VueWrapper, id: number) {
  return wrapper.find(`[data-testid="quick-reply"][data-reply-id="${id}"]`);
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  Reflect.deleteProperty(document, 'execCommand');
});

describe('quick replies in a 1:1 chat', () => {
  it('asks the worker for nothing until opened, then previews each reply with the chat’s values', async () => {
    const { wrapper, api } = await startApp({ routes: routes() });
    expect(api.count('GET /api/replies')).toBe(0);
    await openReplies(wrapper);
    expect(api.count('GET /api/replies')).toBe(1);
    expect(item(wrapper, 1).find('[data-testid="reply-preview"]').text()).toBe('陈静-星河贸易您好，我是王五，星河贸易集团的资料已备好。');
    expect(item(wrapper, 2).find('[data-testid="reply-preview"]').text()).toContain('给陈静的交付案例');
    expect(item(wrapper, 2).text()).toContain('华东销售部');
    expect(item(wrapper, 1).text()).toContain('全公司');
  });

  it('sends exactly the preview into the chat in one tap, says so, and counts it', async () => {
    const { wrapper, api, ww } = await startApp({ routes: routes() });
    await openReplies(wrapper);
    const preview = item(wrapper, 1).find('[data-testid="reply-preview"]').text();
    await item(wrapper, 1).find('[data-testid="reply-send"]').trigger('click');
    await settled();
    expect(ww.client?.sent).toMatchObject([{ entry: 'single_chat_tools', to: ids.chenJing, msgtype: 'text', body: { content: preview } }]);
    expect(item(wrapper, 1).find('[data-testid="reply-notice"]').text()).toContain('已发送到当前聊天');
    expect(api.find('POST /api/replies/1/usage').map((call) => call.body)).toEqual([{ action: 'sent' }]);

    await item(wrapper, 2).find('[data-testid="reply-send"]').trigger('click');
    await settled();
    expect(ww.client?.sent[1]).toMatchObject({ msgtype: 'news', body: { link: 'https://example.com/case', title: '给陈静的交付案例', desc: '30 天交付' } });
  });

  it('searches on the worker and browses by group', async () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'], shouldAdvanceTime: true });
    try {
      const { wrapper, api } = await startApp({ routes: routes() });
      await openReplies(wrapper);
      await wrapper.find('[data-testid="reply-search"]').setValue('案例');
      await vi.advanceTimersByTimeAsync(300);
      await settled();
      expect(api.find('GET /api/replies').at(-1)?.path).toBe(`/api/replies?q=${encodeURIComponent('案例')}`);
      expect(wrapper.findAll('[data-testid="quick-reply"]').map((li) => li.attributes('data-reply-id'))).toEqual(['2']);
      await wrapper.find('[data-testid="reply-search"]').setValue('');
      await vi.advanceTimersByTimeAsync(300);
      await settled();
      const groups = wrapper.find('[data-testid="reply-groups"]');
      await groups.findAll('button').find((button) => button.text() === '开场')!.trigger('click');
      expect(wrapper.findAll('[data-testid="quick-reply"]').map((li) => li.attributes('data-reply-id'))).toEqual(['1']);
    } finally {
      vi.useRealTimers();
    }
  });

  it('offers the copy, saying why, when WeCom refuses to send', async () => {
    const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockResolvedValue(undefined);
    const { wrapper, api, ww } = await startApp({ routes: routes(), ww: { missing: ['sendChatMessage'] } });
    await openReplies(wrapper);
    await item(wrapper, 1).find('[data-testid="reply-send"]').trigger('click');
    await settled();
    const notice = item(wrapper, 1).find('[data-testid="reply-notice"]');
    expect(notice.attributes('data-kind')).toBe('refused');
    expect(notice.text()).toContain('企业微信版本过低');
    expect(api.count('POST /api/replies/1/usage')).toBe(0);
    expect(ww.client?.sent).toEqual([]);

    await item(wrapper, 1).find('[data-testid="reply-copy"]').trigger('click');
    await settled();
    expect(writeText).toHaveBeenCalledWith('陈静-星河贸易您好，我是王五，星河贸易集团的资料已备好。');
    expect(item(wrapper, 1).find('[data-testid="reply-notice"]').attributes('data-kind')).toBe('copied');
    expect(api.find('POST /api/replies/1/usage').map((call) => call.body)).toEqual([{ action: 'copied' }]);
  });

  it('shows the text to copy by hand when the clipboard refuses', async () => {
    vi.spyOn(navigator.clipboard, 'writeText').mockRejectedValue(new Error('denied'));
    // The older way is refused too (happy-dom has no execCommand of its own).
    document.execCommand = () => false;
    const { wrapper, api } = await startApp({ routes: routes() });
    await openReplies(wrapper);
    await item(wrapper, 2).find('[data-testid="reply-copy"]').trigger('click');
    await settled();
    const notice = item(wrapper, 2).find('[data-testid="reply-notice"]');
    expect(notice.attributes('data-kind')).toBe('copy_failed');
    expect((notice.find('textarea').element as HTMLTextAreaElement).value).toBe('给陈静的交付案例\n30 天交付\nhttps://example.com/case');
    expect(api.count('POST /api/replies/2/usage')).toBe(0);
  });
});

describe('quick replies outside a chat toolbar', () => {
  it('from a contact’s profile offers only the copy, and says sending is not possible here', async () => {
    const writeText = vi.spyOn(navigator.clipboard, 'writeText').mockResolvedValue(undefined);
    const { wrapper, api, ww } = await startApp({ routes: routes({ [CONTACT]: { body: contactDetail() } }), ww: { entry: 'contact_profile' } });
    await openReplies(wrapper);
    expect(wrapper.find('[data-testid="reply-send"]').exists()).toBe(false);
    await item(wrapper, 2).find('[data-testid="reply-copy"]').trigger('click');
    await settled();
    expect(writeText).toHaveBeenCalledOnce();
    expect(item(wrapper, 2).find('[data-testid="reply-notice"]').text()).toContain('此处不是聊天工具栏');
    expect(api.find('POST /api/replies/2/usage').map((call) => call.body)).toEqual([{ action: 'copied' }]);
    expect(ww.client?.invokes.map((call) => call.name)).not.toContain('sendChatMessage');
  });

  it('in a customer group keeps replies naming the contact from being sent, and names what is missing', async () => {
    const { wrapper, ww } = await startApp({ routes: routes({ [`GET /api/chats/${ids.chat}`]: { body: chatDetail() } }), ww: { entry: 'group_chat_tools' } });
    await openReplies(wrapper);
    expect(item(wrapper, 1).find('[data-testid="reply-missing"]').text()).toContain('客户备注');
    expect(item(wrapper, 1).find('[data-testid="reply-send"]').attributes('disabled')).toBeDefined();
    expect(item(wrapper, 1).find('[data-testid="reply-copy"]').attributes('disabled')).toBeDefined();
    await item(wrapper, 1).find('[data-testid="reply-send"]').trigger('click');
    await settled();
    expect(ww.client?.sent).toEqual([]);
  });
});

describe('the reply library page', () => {
  const managed = (overrides: Partial<ManagedReply> = {}): ManagedReply => ({
    ...reply(5, '华东开场', '{contact_name}您好', '开场', 3),
    sentCount: 4,
    copiedCount: 1,
    lastUsedAt: 1736154000000,
    updatedBy: { userid: 'lisi', name: '李四' },
    ...overrides,
  });

  it('lets a manager see usage and add a reply to his department, showing a refused variable', async () => {
    const manager = me('lisi', ['manager']);
    const { wrapper, api } = await startApp({
      url: '/#/admin/replies',
      me: manager,
      routes: {
        'GET /api/replies/manage': { body: { replies: [managed()], departments: [{ id: 3, name: '华东销售部' }], corpWide: false } },
        'POST /api/replies/manage': (call) => {
          const body = call.body as { body: { text: { content: string } } };
          if (body.body.text.content.includes('{price}')) return { status: 400, body: { error: 'unknown_variable', message: 'Unknown variable {price}', variables: ['price'] } };
          return { status: 201, body: { reply: managed({ id: 6, title: '报价', sentCount: 0, copiedCount: 0, lastUsedAt: null }) } };
        },
      },
    });
    expect(wrapper.find('nav').text()).toContain('话术库');
    const row = wrapper.find('[data-testid="managed-reply"]');
    expect(row.find('[data-testid="reply-usage"]').text()).toContain('发送 4 次 · 复制 1 次');
    await wrapper.find('[data-testid="reply-new"]').trigger('click');
    const form = wrapper.find('[data-testid="reply-form"]');
    // A manager may not write corp-wide replies: his department is the only choice.
    expect(form.findAll('select[name="scope"] option').map((option) => option.text())).toEqual(['华东销售部']);
    await form.find('input[name="group"]').setValue('跟进');
    await form.find('input[name="title"]').setValue('报价');
    await form.find('textarea[name="content"]').setValue('报价 {price}');
    await form.trigger('submit');
    await settled();
    expect(wrapper.find('[data-testid="reply-form"]').text()).toContain('Unknown variable {price}');
    await wrapper.find('textarea[name="content"]').setValue('{contact_name}，报价单已发您邮箱');
    await wrapper.find('[data-testid="reply-form"]').trigger('submit');
    await settled();
    expect(api.find('POST /api/replies/manage').at(-1)?.body).toEqual({ group: '跟进', title: '报价', departmentId: 3, body: { msgtype: 'text', text: { content: '{contact_name}，报价单已发您邮箱' } } });
    expect(wrapper.find('[data-testid="reply-form"]').exists()).toBe(false);
    expect(wrapper.findAll('[data-testid="managed-reply"]')).toHaveLength(2);
  });

  it('is refused to a salesperson, who has no link to it', async () => {
    const { wrapper, api } = await startApp({ url: '/#/admin/replies', routes: { [CONTACT]: { body: contactDetail() } } });
    expect(wrapper.find('nav').text()).not.toContain('话术库');
    expect(wrapper.find('[data-testid="admin-replies"]').exists()).toBe(false);
    expect(api.count('GET /api/replies/manage')).toBe(0);
  });
});
