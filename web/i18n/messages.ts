/**
 * @module
 * Every visible string, in zh-CN (the default) and en.
 */
export const messages = {
  'zh-CN': {
    'app.title': '客户侧边栏',
    'notInWeCom.title': '请在企业微信中打开',
    'notInWeCom.hint': '在与客户的单聊或群聊中，点击聊天工具栏里的本应用即可查看客户资料。',
  },
  en: {
    'app.title': 'Customer sidebar',
    'notInWeCom.title': 'Open this page in WeCom',
    'notInWeCom.hint': 'In a chat with a customer, open this app from the chat toolbar to see their record.',
  },
} as const;

export type Locale = keyof typeof messages;
export type MessageKey = keyof (typeof messages)['zh-CN'];
