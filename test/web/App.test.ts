import { mount } from '@vue/test-utils';
import { afterEach, describe, expect, it, vi } from 'vitest';
import App from '../../web/App.vue';
import { detectLocale, locale } from '../../web/i18n/index.ts';

describe('App', () => {
  afterEach(() => vi.unstubAllGlobals());

  it('shows the not-in-WeCom screen in a plain browser', () => {
    vi.stubGlobal('navigator', { ...navigator, userAgent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0' });
    locale.value = 'zh-CN';
    const wrapper = mount(App);
    expect(wrapper.find('[data-testid="not-in-wecom"]').exists()).toBe(true);
    expect(wrapper.text()).toContain('请在企业微信中打开');
  });

  it('does not show it inside the WeCom client', () => {
    vi.stubGlobal('navigator', { ...navigator, userAgent: 'Mozilla/5.0 (iPhone) Mobile/15E148 wxwork/3.1.9 MicroMessenger/7.0.1 Language/zh' });
    const wrapper = mount(App);
    expect(wrapper.find('[data-testid="not-in-wecom"]').exists()).toBe(false);
  });
});

describe('detectLocale', () => {
  it.each([
    ['wxwork/3.1.9 Language/en', ['zh-CN'], 'en'],
    ['wxwork/3.1.9 Language/zh', ['en-US'], 'zh-CN'],
    ['Chrome/156', ['en-GB'], 'en'],
    ['Chrome/156', ['zh-TW'], 'zh-CN'],
    ['Chrome/156', [], 'zh-CN'],
  ] as const)('reads %s with browser languages %j as %s', (userAgent, languages, expected) => {
    expect(detectLocale(userAgent, languages)).toBe(expected);
  });
});
