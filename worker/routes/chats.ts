/**
 * @module
 * `GET /api/chats/:chatId`: a customer group's members with the binding status of each external one.
 * A member of the chat (or someone whose scope covers one) may see it; anyone else gets the same
 * 404 as for a chat WeCom does not know, so chat ids cannot be probed.
 */
import { Hono } from 'hono';
import type { AppEnv } from '../types.ts';
import { memberNames } from '../contacts/view.ts';
import { AppError } from '../errors.ts';
import { checkId } from '../ids.ts';
import { log } from '../log.ts';
import { WeComError } from '../wecom/errors.ts';
import type { ChatView } from '../wire.ts';

export const chats = new Hono<AppEnv>().get('/:chatId', async (c) => {
  const chatId = checkId('chat', c.req.param('chatId'));
  const services = c.var.services;
  const corpId = services.app.corpId;
  const notFound = (reason: string) => {
    log('info', 'chats.not_found', { corpId, reason });
    return new AppError(404, 'chat_not_found', 'No such customer group among those you and your departments are in');
  };
  let reply;
  try {
    reply = await services.wecom.getGroupChat(chatId, true);
  } catch (error) {
    if (error instanceof WeComError && (error.errcode === 40050 || error.errcode === 701008 || error.kind === 'not_found')) throw notFound(`errcode_${error.errcode}`);
    throw error;
  }
  const chat = reply.group_chat;
  const scope = await services.scope();
  const internal = chat.member_list.filter((m) => m.type === 1).map((m) => m.userid);
  if (!scope.all && !internal.some((userid) => scope.userids.has(userid))) throw notFound('out_of_scope');
  const externals = chat.member_list.filter((m) => m.type === 2).map((m) => m.userid);
  const bindings = await services.store.bindings(corpId, externals);
  const byContact = new Map(bindings.map((b) => [b.externalUserId, b]));
  const customers = await services.crm.getMany(corpId, [...new Set(bindings.map((b) => b.customerId))]);
  const customerNames = new Map(customers.map((customer) => [customer.id, customer.name]));
  const names = await memberNames(c.env.DB, corpId, [...internal, chat.owner]);
  const body: ChatView = {
    chat: { chatId: chat.chat_id, name: chat.name ?? '', owner: { userid: chat.owner, name: names.get(chat.owner) ?? chat.owner } },
    members: chat.member_list.map((member) => {
      const binding = member.type === 2 ? byContact.get(member.userid) : undefined;
      return {
        type: member.type === 1 ? 'internal' : 'external',
        id: member.userid,
        name: member.type === 1 ? (names.get(member.userid) ?? member.name ?? member.userid) : (member.name ?? member.group_nickname ?? member.userid),
        joinedAt: member.join_time,
        binding: binding ? { customerId: binding.customerId } : null,
        customerName: binding ? (customerNames.get(binding.customerId) ?? null) : null,
      };
    }),
  };
  return c.json(body);
});
