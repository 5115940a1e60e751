/**
 * @module
 * `message/send` (application messages, docs/wecom.md §7.2) with WeCom's rules:
 * - recipients outside the app's visible range come back in `invaliduser`; none valid is 81013;
 * - `textcard` needs title, description and url; a title over 128 bytes or a description over 512
 *   is cut by WeCom, which the simulator records as `truncated` (WeCom's pages say it cuts; it may
 *   cut mid-character);
 * - per app and member, more than 30 messages a minute or 1,000 an hour are dropped without an
 *   error (WeCom: "超过部分会被丢弃不下发"): the reply is the same, the member is in `dropped`;
 * - `enable_duplicate_check: 1` drops a request identical to one sent within
 *   `duplicate_check_interval` seconds (default 1800, at most 4 hours): recorded as `duplicateOf`.
 * Tests read what members received at `GET /__sim/messages` (`delivered` per message).
 */
import { fail } from './errors.ts';
import { seesDepartment, seesMember, type Rules } from './rules.ts';
import type { AccessTokenRecord, JsonObject, SentMessage, SimCore } from './state.ts';
import { randomString, TOKEN_ALPHABET } from './util.ts';
import { ok, optInteger, optString, readJson, type Ctx } from './wire.ts';

const MSGTYPES = new Set(['text', 'image', 'voice', 'video', 'file', 'textcard', 'news', 'mpnews', 'markdown', 'miniprogram_notice', 'template_card']);
export const TEXTCARD_TITLE_MAX_BYTES = 128;
export const TEXTCARD_DESCRIPTION_MAX_BYTES = 512;
export const PER_MEMBER_MINUTE = 30;
export const PER_MEMBER_HOUR = 1_000;
const DUPLICATE_DEFAULT_SECONDS = 1_800;
const DUPLICATE_MAX_SECONDS = 4 * 3_600;

const bytes = (text: string) => new TextEncoder().encode(text).length;

function checkContent(msgtype: string, content: JsonObject): string[] {
  const truncated: string[] = [];
  if (msgtype === 'text') {
    const text = content.content;
    if (typeof text !== 'string' || text === '') fail(44004);
    if (bytes(text) > 2048) fail(45002, 'text content is longer than 2048 bytes');
  }
  if (msgtype === 'textcard') {
    for (const field of ['title', 'description', 'url'] as const) {
      const value = content[field];
      // Which errcode WeCom gives for a missing textcard field is not documented (UNCONFIRMED): 40058, invalid parameter.
      if (typeof value !== 'string' || value === '') fail(40058, `textcard.${field} is required`);
    }
    if (bytes(String(content.title)) > TEXTCARD_TITLE_MAX_BYTES) truncated.push('title');
    if (bytes(String(content.description)) > TEXTCARD_DESCRIPTION_MAX_BYTES) truncated.push('description');
    if (bytes(String(content.url)) > 2048) fail(40058, 'textcard.url is longer than 2048 bytes');
  }
  return truncated;
}

export function messageSend(core: SimCore, rules: Rules) {
  const { state, now, corp, subtree, findMember } = core;

  /** Messages this app delivered to `userid` since `since` (seconds). */
  const deliveredTo = (agentid: number, userid: string, since: number) =>
    state.messages.filter((m) => m.agentid === agentid && m.receivedAt > since && m.delivered.includes(userid)).length;

  return async (c: Ctx, token: AccessTokenRecord): Promise<Response> => {
    const owner = rules.requireApp(token);
    const body = await readJson(c);
    const agentid = optInteger(body, 'agentid');
    if (agentid === undefined) fail(41011);
    if (agentid !== owner.agentid) fail(301002, `agentid ${agentid} is not the app of this access_token`);
    const split = (key: string) => (optString(body, key) ?? '').split('|').filter((s) => s !== '');
    const touser = split('touser');
    const toparty = split('toparty');
    const totag = split('totag');
    if (touser.length === 0 && toparty.length === 0 && totag.length === 0) fail(82001);
    const msgtype = optString(body, 'msgtype');
    if (!msgtype || !MSGTYPES.has(msgtype)) fail(40008);
    const content = body[msgtype];
    if (typeof content !== 'object' || content === null || Array.isArray(content)) fail(40058, `${msgtype} body is missing`);
    const truncated = checkContent(msgtype, content);

    const v = rules.visibilityOf(owner.agentid);
    const recipients = new Set<string>();
    const invalidUser: string[] = [];
    const invalidParty: string[] = [];
    for (const userid of touser) {
      if (userid === '@all') {
        for (const m of corp().members) if (seesMember(v, m)) recipients.add(m.userid);
        continue;
      }
      const member = findMember(userid);
      if (member && seesMember(v, member)) recipients.add(userid);
      else invalidUser.push(userid);
    }
    for (const raw of toparty) {
      const id = Number(raw);
      if (!/^\d+$/.test(raw) || !seesDepartment(v, id) || !corp().departments.some((d) => d.id === id)) {
        invalidParty.push(raw);
        continue;
      }
      const below = subtree(id);
      for (const m of corp().members) if (m.department.some((d) => below.has(d)) && seesMember(v, m)) recipients.add(m.userid);
    }
    // The demo corp has no directory tags, so every tag id is invalid.
    const invalidTag = totag;
    if (recipients.size === 0) fail(81013);

    const at = now();
    const requestKey = JSON.stringify(body);
    let duplicateOf: string | undefined;
    if (body.enable_duplicate_check === 1) {
      const interval = Math.min(DUPLICATE_MAX_SECONDS, optInteger(body, 'duplicate_check_interval') ?? DUPLICATE_DEFAULT_SECONDS);
      duplicateOf = state.messages.find((m) => m.agentid === owner.agentid && m.duplicateOf === undefined && m.receivedAt > at - interval && JSON.stringify(m.request) === requestKey)?.msgid;
    }
    const delivered: string[] = [];
    const dropped: string[] = [];
    if (duplicateOf === undefined) {
      for (const userid of recipients) {
        const full = deliveredTo(owner.agentid, userid, at - 60) >= PER_MEMBER_MINUTE || deliveredTo(owner.agentid, userid, at - 3_600) >= PER_MEMBER_HOUR;
        (full ? dropped : delivered).push(userid);
      }
    }

    const msgid = randomString(40, TOKEN_ALPHABET);
    const sent: SentMessage = { msgid, receivedAt: at, agentid: owner.agentid, touser: [...recipients], invaliduser: invalidUser, msgtype, request: body, delivered, dropped, truncated };
    if (duplicateOf !== undefined) sent.duplicateOf = duplicateOf;
    state.messages.push(sent);
    return ok(c, {
      invaliduser: invalidUser.join('|'),
      invalidparty: invalidParty.join('|'),
      invalidtag: invalidTag.join('|'),
      unlicenseduser: '',
      msgid,
      response_code: '',
    });
  };
}
