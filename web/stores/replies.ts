/**
 * @module
 * Quick replies in the sidebar: the ones the member may use (searched on the worker), and what
 * happened to the last one used. A reply goes into the chat with `sendChatMessage` where WeCom
 * allows it (a chat toolbar), else it is copied for the member to paste; a refused send says why
 * and offers the copy. Each send or copy is counted on the worker, which never holds up the screen.
 */
import { defineStore } from 'pinia';
import { ref } from 'vue';
import { listReplies, recordReplyUse } from '../api/replies.ts';
import type { QuickReply, ReplyBody, ReplyUse } from '../api/types.ts';
import { copyText } from '../clipboard.ts';
import { WeComCallError, type WeComCallFailureKind } from '../wecom/client.ts';
import { replyAsText } from '../../worker/replies/template.ts';
import { useContextStore } from './context.ts';
import { useLoad } from './load.ts';
import { useSessionStore } from './session.ts';

export type ReplyNotice =
  | { replyId: number; kind: 'sent' | 'copied' | 'copied_here' }
  | { replyId: number; kind: 'refused'; reason: WeComCallFailureKind; errMsg: string }
  | { replyId: number; kind: 'copy_failed'; text: string };

export const useRepliesStore = defineStore('replies', () => {
  const replies = ref<QuickReply[]>([]);
  const groups = ref<string[]>([]);
  const query = ref('');
  const { status, error, run, reset: resetLoad } = useLoad();
  const notice = ref<ReplyNotice | null>(null);
  const busy = ref<number | null>(null);

  function load(q = query.value): Promise<void> {
    query.value = q;
    return run(
      () => listReplies(q.trim()),
      (answer) => {
        replies.value = answer.replies;
        groups.value = answer.groups;
      },
      { keepReady: true },
    );
  }

  function count(reply: QuickReply, use: ReplyUse): void {
    // The count is for pruning the library; the member's message went out either way.
    recordReplyUse(reply.id, use).catch(() => undefined);
  }

  /** Into the open chat; `body` is the reply with its variables filled, exactly what the preview shows. */
  async function send(reply: QuickReply, body: ReplyBody): Promise<void> {
    const client = useContextStore().client;
    busy.value = reply.id;
    try {
      if (!client) throw new WeComCallError('sendChatMessage', 'unavailable', { errMsg: 'sendChatMessage:fail no WeCom client', errCode: undefined });
      await client.sendChatMessage(body);
      notice.value = { replyId: reply.id, kind: 'sent' };
      count(reply, 'sent');
    } catch (caught) {
      const failure = caught instanceof WeComCallError ? caught : new WeComCallError('sendChatMessage', 'failed', { errMsg: String(caught), errCode: undefined });
      notice.value = { replyId: reply.id, kind: 'refused', reason: failure.kind, errMsg: failure.errMsg };
    } finally {
      busy.value = null;
    }
  }

  /** `here`: copying because this place cannot send (not a chat toolbar), which the notice says. */
  async function copy(reply: QuickReply, body: ReplyBody, here = false): Promise<void> {
    const text = replyAsText(body);
    busy.value = reply.id;
    try {
      if (await copyText(text)) {
        notice.value = { replyId: reply.id, kind: here ? 'copied_here' : 'copied' };
        count(reply, 'copied');
      } else {
        notice.value = { replyId: reply.id, kind: 'copy_failed', text };
      }
    } finally {
      busy.value = null;
    }
  }

  function reset(): void {
    replies.value = [];
    groups.value = [];
    query.value = '';
    notice.value = null;
    resetLoad();
  }

  useSessionStore().onReset(reset);

  return { replies, groups, query, status, error, notice, busy, load, send, copy };
});
