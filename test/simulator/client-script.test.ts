/**
 * @module
 * `GET /__sim/client.js`: the simulated WeCom client as a page script, with its options from the query.
 */
import { describe, expect, it } from 'vitest';
import { demoIds } from '../../dev/fixtures/demo-corp.ts';
import { createSimulator } from '../../dev/simulator/app.ts';
import { clientConfig, OLD_WECOM_VERSION } from '../../dev/simulator/client-config.ts';

const defaults = { contact: 'wmContact', chat: 'wrChat', verifyUrl: 'http://sim.test/__sim/jssdk/verify' };

describe('the simulated client script', () => {
  it('serves a script that installs the bridge with the demo corp’s first contact and the simulator’s own check', async () => {
    const { app } = createSimulator();
    const response = await app.fetch(new Request('http://127.0.0.1:8788/__sim/client.js'));
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/javascript');
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const script = await response.text();
    expect(script).toContain('WeixinJSBridgeReady');
    expect(script).toContain(`"contact":"${demoIds.externalUserIds.followedByTwo}"`);
    expect(script).toContain('"verifyUrl":"http://127.0.0.1:8788/__sim/jssdk/verify"');
    // It is plain JavaScript a browser can run: no TypeScript left in the served text.
    expect(() => new Function(script)).not.toThrow();
  });

  it('reads its options from the query', () => {
    const config = clientConfig(new URLSearchParams('version=4.0.8&platform=mobile&bridge=late&lateMs=300&entry=group_chat_tools&chat=wr1&perm=none&missing=getCurExternalChat&ua=0'), defaults);
    expect(config).toEqual({
      version: '4.0.8',
      platform: 'mobile',
      bridge: 'late',
      lateMs: 300,
      entry: 'group_chat_tools',
      contact: 'wmContact',
      chat: 'wr1',
      permission: 'none',
      missing: ['getCurExternalChat'],
      verifyUrl: defaults.verifyUrl,
      setUserAgent: false,
    });
  });

  it('plays a client before 3.0.24 without getContext unless told otherwise', () => {
    expect(clientConfig(new URLSearchParams(`version=${OLD_WECOM_VERSION}`), defaults).missing).toEqual(['getContext']);
    expect(clientConfig(new URLSearchParams(`version=${OLD_WECOM_VERSION}&missing=`), defaults).missing).toEqual([]);
    expect(clientConfig(new URLSearchParams(''), defaults)).toMatchObject({ version: '4.1.20', missing: [], bridge: 'ready', entry: 'single_chat_tools', permission: 'granted', setUserAgent: true });
  });

  it('in page mode reads the scene from the page and offers a panel to open a chat', async () => {
    const { app } = createSimulator();
    const script = await (await app.fetch(new Request('http://127.0.0.1:8788/__sim/client.js?page=1'))).text();
    expect(script).toContain('wecom-simulated-client');
    // The panel shows the chat's sent messages (sendChatMessage), which the client announces.
    expect(script).toContain('wecom-sent-messages');
    expect(script).toContain('sendChatMessage:fail_without_context_of_external_contact');
    expect(script).toContain(demoIds.chatId);
    expect(() => new Function(script)).not.toThrow();
  });
});
