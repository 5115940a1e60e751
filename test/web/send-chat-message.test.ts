/**
 * @module
 * `sendChatMessage` through the real `@wecom/jssdk` inside the simulated WeCom client
 * (dev/simulator/client.ts): sent only from a chat toolbar, refused elsewhere in WeCom's own words,
 * and what was sent recorded for the simulator's chat view and the tests.
 */
import { describe, expect, it } from 'vitest';
import { SENT_EVENT, type SentMessage } from '../../dev/simulator/client.ts';
import { createWeComClient } from '../../web/wecom/client.ts';
import { ids, signatures } from './fixtures.ts';
import { simulatedWeCom, type SimulatedOptions } from './wecom.ts';

async function registered(options: SimulatedOptions) {
  const wecom = await simulatedWeCom(options);
  const client = createWeComClient(wecom.ww);
  expect(await client.register(async () => signatures())).toEqual({ ok: true });
  return { wecom, client, sent: () => wecom.client?.sent ?? [] };
}

const card = { link: 'https://example.com/case', title: '星河贸易交付案例', desc: '30 天交付', imgUrl: 'https://example.com/case.png' };

describe('sendChatMessage in the simulated WeCom client', () => {
  it('sends a text into the 1:1 chat it is open in, and announces it', async () => {
    const { wecom, client, sent } = await registered({ entry: 'single_chat_tools' });
    const announced: SentMessage[] = [];
    document.addEventListener(SENT_EVENT, (event) => announced.push((event as CustomEvent<SentMessage>).detail), { once: true });
    await client.sendChatMessage({ msgtype: 'text', text: { content: '陈总您好，我是王五' } });
    expect(sent()).toMatchObject([{ entry: 'single_chat_tools', to: ids.chenJing, msgtype: 'text', body: { content: '陈总您好，我是王五' } }]);
    expect(announced).toEqual(sent());
    // The SDK hands the message to the native bridge as given.
    expect(wecom.client?.invokes.at(-1)).toMatchObject({ name: 'sendChatMessage', params: { msgtype: 'text', text: { content: '陈总您好，我是王五' } } });
  });

  it('sends a link card into the customer group it is open in', async () => {
    const { client, sent } = await registered({ entry: 'group_chat_tools' });
    await client.sendChatMessage({ msgtype: 'news', news: card });
    expect(sent()).toMatchObject([{ entry: 'group_chat_tools', to: ids.chat, msgtype: 'news', body: card }]);
  });

  it('refuses outside a chat toolbar, as WeCom does, and sends nothing', async () => {
    for (const entry of ['contact_profile', 'normal']) {
      const { client, sent } = await registered({ entry });
      await expect(client.sendChatMessage({ msgtype: 'text', text: { content: '你好' } })).rejects.toMatchObject({
        api: 'sendChatMessage',
        kind: 'no_context',
        errMsg: 'sendChatMessage:withoutcontextofexternalcontact',
      });
      expect(sent()).toEqual([]);
    }
  });

  it('refuses without the customer-contact permission', async () => {
    const { client, sent } = await registered({ entry: 'single_chat_tools', permission: 'none' });
    await expect(client.sendChatMessage({ msgtype: 'text', text: { content: '你好' } })).rejects.toMatchObject({ kind: 'no_permission', errMsg: 'sendChatMessage:nopermission' });
    expect(sent()).toEqual([]);
  });

  it('refuses a card whose cover is not a web address, and an empty text', async () => {
    const { client, sent } = await registered({ entry: 'single_chat_tools' });
    await expect(client.sendChatMessage({ msgtype: 'news', news: { ...card, imgUrl: 'cover.png' } })).rejects.toMatchObject({ kind: 'failed', errMsg: 'sendChatMessage:invalidimgurl' });
    await expect(client.sendChatMessage({ msgtype: 'text', text: { content: ' ' } })).rejects.toMatchObject({ kind: 'failed' });
    expect(sent()).toEqual([]);
  });

  it('says a client without the API is too old', async () => {
    const { client } = await registered({ entry: 'single_chat_tools', missing: ['sendChatMessage'] });
    await expect(client.sendChatMessage({ msgtype: 'text', text: { content: '你好' } })).rejects.toMatchObject({ kind: 'unsupported' });
  });
});
