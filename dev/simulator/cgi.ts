/**
 * @module
 * The `/cgi-bin` APIs (qyapi.weixin.qq.com), mounted at `/cgi-bin`: gettoken, then every other
 * API behind the access_token check: jsapi tickets, identity (auth/*), the directory (user/*,
 * department/list), customer contact (externalcontact/*) and application messages. Handlers read
 * input, apply the rules (rules.ts) and shape the reply (views.ts).
 */
import { Hono } from 'hono';
import { followsByMember, INDEXED_FROM } from './big-corp.ts';
import { fail } from './errors.ts';
import { messageSend } from './messages.ts';
import { seesDepartment, seesMember, TICKET_TTL, type Rules } from './rules.ts';
import { registerTagApis } from './tags.ts';
import type { AccessTokenRecord, JsonObject, SimCore } from './state.ts';
import { contactView, followInfoView, followView, memberView } from './views.ts';
import { decodeCursor, encodeCursor, ok, optInteger, optString, optStringList, readJson, type Ctx, type SimEnv } from './wire.ts';

/** WeCom counts characters, not bytes, for remark lengths (UNCONFIRMED; code points here). */
function charLength(value: string): number {
  return [...value].length;
}

export function cgiRoutes(core: SimCore, rules: Rules): Hono<SimEnv> {
  const { state, now, corp, subtree, findApp, findMember, findContact } = core;
  const { visibilityOf, requireApp, requireVisibleMember, requireVisibleDepartment, visibleFollowers } = rules;

  // Every API but gettoken needs a live access_token; a path the simulator does not know falls
  // through to the 404 instead.
  const knownApis = new Set<string>();
  const cgi = new Hono<SimEnv>();

  cgi.use('*', async (c, next) => {
    const path = c.req.path;
    if (path === '/cgi-bin/gettoken' || !knownApis.has(`${c.req.method} ${path}`)) return next();
    const token = rules.checkToken(c.req.query('access_token'));
    if (path.startsWith('/cgi-bin/externalcontact/')) rules.requireContactPermission(token);
    c.set('token', token);
    return next();
  });

  type Handler = (c: Ctx, token: AccessTokenRecord) => Response | Promise<Response>;
  const get = (path: string, handler: Handler) => {
    knownApis.add(`GET /cgi-bin${path}`);
    cgi.get(path, (c) => handler(c, c.get('token')));
  };
  const post = (path: string, handler: Handler) => {
    knownApis.add(`POST /cgi-bin${path}`);
    cgi.post(path, (c) => handler(c, c.get('token')));
  };

  cgi.get('/gettoken', (c) => {
    const token = rules.grantToken(c.req.query('corpid'), c.req.query('corpsecret'));
    return ok(c, { access_token: token.token, expires_in: token.expiresAt - now() });
  });

  // Tickets: the corp ticket is limited per app and per corp, the app ticket per app (docs/wecom.md §2).
  get('/get_jsapi_ticket', (c, token) => {
    const owner = requireApp(token);
    const ticket = rules.issueCorpTicket(token, owner);
    return ok(c, { ticket: ticket.ticket, expires_in: TICKET_TTL });
  });

  get('/ticket/get', (c, token) => {
    if (c.req.query('type') !== 'agent_config') fail(91040);
    const owner = requireApp(token);
    const ticket = rules.issueAgentTicket(owner);
    return ok(c, { ticket: ticket.ticket, expires_in: TICKET_TTL });
  });

  // ---- Identity (docs/wecom.md §4.2, §4.3)

  get('/auth/getuserinfo', (c, token) => {
    const code = rules.consumeCode(token, c.req.query('code'));

    if (code.userid !== undefined) {
      const body: JsonObject = { userid: code.userid };
      const ticket = rules.issueUserTicket(token, code, code.userid);
      if (ticket !== undefined) body.user_ticket = ticket;
      return ok(c, body);
    }

    const body: JsonObject = { openid: code.openid ?? '' };
    const visitor = corp().visitors.find((v) => v.openid === code.openid);
    const contact = visitor?.external_userid ? findContact(visitor.external_userid) : undefined;
    // external_userid only when a follow-up member is inside the app's visible range (docs/wecom.md §4.2).
    if (contact && visibleFollowers(contact, visibilityOf(token.agentid)).length > 0) body.external_userid = contact.external_contact.external_userid;
    return ok(c, body);
  });

  post('/auth/getuserdetail', async (c, token) => {
    requireApp(token);
    const body = await readJson(c);
    const userid = rules.checkUserTicket(token, optString(body, 'user_ticket'));
    const member = requireVisibleMember(token, userid);
    return ok(c, {
      userid: member.userid,
      gender: member.gender,
      avatar: member.avatar,
      qr_code: member.qr_code,
      mobile: member.mobile,
      email: member.email,
      biz_mail: member.biz_mail,
      address: member.address,
    });
  });

  // ---- Directory (docs/wecom.md §8)

  get('/user/get', (c, token) => {
    const member = requireVisibleMember(token, c.req.query('userid'));
    return ok(c, memberView(member, findApp(token.agentid)));
  });

  get('/user/list', (c, token) => {
    const id = requireVisibleDepartment(token, c.req.query('department_id'), 60127);
    const v = visibilityOf(token.agentid);
    // Not recursive: fetch_child was withdrawn; callers walk sub-departments themselves.
    const members = corp().members.filter((m) => m.department.includes(id) && seesMember(v, m));
    return ok(c, { userlist: members.map((m) => memberView(m, findApp(token.agentid))) });
  });

  post('/user/list_id', async (c, token) => {
    // Only the 通讯录同步 helper's secret may list ids (docs/wecom.md §8).
    if (token.agentid !== null) fail(48002, 'user/list_id needs the contact-sync secret');
    const body = await readJson(c);
    const limit = optInteger(body, 'limit') ?? 10000;
    if (limit < 1 || limit > 10000) fail(40058, 'limit must be 1..10000');
    const rows = corp().members.flatMap((m) => m.department.map((department) => ({ userid: m.userid, department })));
    const offset = decodeCursor(optString(body, 'cursor'), 'list_id');
    const page = rows.slice(offset, offset + limit);
    const next = offset + page.length < rows.length ? encodeCursor(offset + page.length, 'list_id') : '';
    return ok(c, { next_cursor: next, dept_user: page });
  });

  get('/department/list', (c, token) => {
    const v = visibilityOf(token.agentid);
    const raw = c.req.query('id');
    let ids: Set<number>;
    if (raw === undefined || raw === '') {
      ids = new Set(corp().departments.filter((d) => seesDepartment(v, d.id)).map((d) => d.id));
    } else {
      const root = requireVisibleDepartment(token, raw, 60123);
      ids = new Set([...subtree(root)].filter((id) => seesDepartment(v, id)));
    }
    const department = corp().departments
      .filter((d) => ids.has(d.id))
      .map((d) => ({ id: d.id, name: d.name, name_en: d.name_en, department_leader: d.department_leader, parentid: d.parentid, order: d.order }));
    return ok(c, { department });
  });

  // ---- Customer contact (docs/wecom.md §7). The middleware above already enforced 48002.

  get('/externalcontact/get_follow_user_list', (c, token) => {
    const v = visibilityOf(token.agentid);
    const followUser = corp().members.filter((m) => m.customerContact && seesMember(v, m)).map((m) => m.userid);
    return ok(c, { follow_user: followUser });
  });

  get('/externalcontact/list', (c, token) => {
    const member = requireVisibleMember(token, c.req.query('userid'));
    const ids = corp()
      .externalContacts.filter((e) => e.follow_user.some((f) => f.userid === member.userid))
      .map((e) => e.external_contact.external_userid);
    // A member with no customers is an error, not an empty list (docs/wecom.md §7).
    if (ids.length === 0) fail(84061);
    return ok(c, { external_userid: ids });
  });

  get('/externalcontact/get', (c, token) => {
    const id = c.req.query('external_userid');
    if (!id) fail(41035);
    const contact = findContact(id);
    if (!contact) fail(40096);
    const followers = visibleFollowers(contact, visibilityOf(token.agentid));
    // No follow-up member the app can see: the app has no relation with this customer (UNCONFIRMED code).
    if (followers.length === 0) fail(84061);
    // Follow users are paged only beyond 500; a cursor the simulator never issued is refused.
    decodeCursor(c.req.query('cursor'), `get:${id}`);
    return ok(c, { external_contact: contactView(contact, corp().wechatDeveloperIdBound), follow_user: followers.map(followView), next_cursor: '' });
  });

  post('/externalcontact/batch/get_by_user', async (c, token) => {
    const body = await readJson(c);
    const userids = optStringList(body, 'userid_list');
    if (!userids || userids.length === 0) fail(41009, 'userid_list is empty');
    if (userids.length > 100) fail(40058, 'userid_list holds at most 100 userids');
    const limit = optInteger(body, 'limit') ?? 50;
    if (limit < 1 || limit > 100) fail(40058, 'limit must be 1..100');
    for (const userid of userids) requireVisibleMember(token, userid);
    const rows: JsonObject[] = [];
    const contacts = corp().externalContacts;
    const index = contacts.length >= INDEXED_FROM ? followsByMember(contacts) : undefined;
    for (const userid of userids) {
      const mine =
        index?.get(userid) ??
        contacts
          .flatMap((contact) => contact.follow_user.filter((f) => f.userid === userid).map((follow) => ({ contact, follow })))
          .sort((a, b) => a.follow.createtime - b.follow.createtime);
      for (const { contact, follow } of mine) rows.push({ external_contact: contactView(contact, corp().wechatDeveloperIdBound), follow_info: followInfoView(follow) });
    }
    const boundTo = `batch:${userids.join(',')}`;
    const offset = decodeCursor(optString(body, 'cursor'), boundTo);
    const page = rows.slice(offset, offset + limit);
    const next = offset + page.length < rows.length ? encodeCursor(offset + page.length, boundTo) : '';
    return ok(c, { external_contact_list: page, next_cursor: next });
  });

  post('/externalcontact/remark', async (c, token) => {
    const body = await readJson(c);
    const userid = optString(body, 'userid');
    const externalUserid = optString(body, 'external_userid');
    const remark = optString(body, 'remark');
    const description = optString(body, 'description');
    const remarkCompany = optString(body, 'remark_company');
    const remarkMobiles = optStringList(body, 'remark_mobiles');
    const remarkPic = optString(body, 'remark_pic_mediaid');
    if (!userid) fail(41009);
    if (!externalUserid) fail(41035);
    // An empty string counts as "not given": all five empty is refused (docs/wecom.md §7; UNCONFIRMED for "").
    if (!remark && !description && !remarkCompany && (!remarkMobiles || remarkMobiles.length === 0) && !remarkPic) {
      fail(40058, 'remark, description, remark_company, remark_mobiles and remark_pic_mediaid are all empty');
    }
    if (remark && charLength(remark) > 20) fail(40058, 'remark is longer than 20 characters');
    if (description && charLength(description) > 150) fail(40058, 'description is longer than 150 characters');
    if (remarkCompany && charLength(remarkCompany) > 20) fail(40058, 'remark_company is longer than 20 characters');
    const member = requireVisibleMember(token, userid);
    const contact = findContact(externalUserid);
    if (!contact) fail(40096);
    const follow = contact.follow_user.find((f) => f.userid === member.userid);
    if (!follow) fail(84061, `${member.userid} does not follow ${externalUserid}`);
    // The simulator has no media upload, so no media id can be valid.
    if (remarkPic) fail(40007, 'remark_pic_mediaid');

    if (remark) follow.remark = remark;
    if (description) follow.description = description;
    // remark_company only takes effect for WeChat customers (type 1).
    if (remarkCompany && contact.external_contact.type === 1) follow.remark_corp_name = remarkCompany;
    // remark_mobiles replaces the whole list; [""] clears it.
    if (remarkMobiles && remarkMobiles.length > 0) follow.remark_mobiles = remarkMobiles.filter((m) => m !== '');
    return ok(c);
  });

  post('/externalcontact/get_corp_tag_list', async (c) => {
    const body = await readJson(c);
    const groupIds = optStringList(body, 'group_id') ?? [];
    const tagIds = optStringList(body, 'tag_id') ?? [];
    const groups = corp().corpTags.flatMap((group): JsonObject[] => {
      const view = (tags: typeof group.tag): JsonObject => ({
        group_id: group.group_id,
        group_name: group.group_name,
        create_time: group.create_time,
        order: group.order,
        tag: tags.map((t) => ({ id: t.id, name: t.name, create_time: t.create_time, order: t.order })),
      });
      // With both filters WeCom ignores tag_id and filters by group_id only.
      if (groupIds.length > 0) return groupIds.includes(group.group_id) ? [view(group.tag)] : [];
      if (tagIds.length > 0) {
        const tags = group.tag.filter((t) => tagIds.includes(t.id));
        return tags.length > 0 ? [view(tags)] : [];
      }
      return [view(group.tag)];
    });
    return ok(c, { tag_group: groups });
  });

  // mark_tag and the tag library's writes (tags.ts).
  registerTagApis(core, rules, post);

  post('/externalcontact/groupchat/get', async (c, token) => {
    const body = await readJson(c);
    const chatId = optString(body, 'chat_id');
    if (!chatId) fail(40058, 'chat_id is required');
    const needName = optInteger(body, 'need_name') === 1;
    const chat = corp().groupChats.find((g) => g.chat_id === chatId);
    if (!chat) fail(40050);
    // Only chats whose owner the app can see (UNCONFIRMED code).
    const owner = findMember(chat.owner);
    if (!owner || !seesMember(visibilityOf(token.agentid), owner)) fail(60011, 'the chat owner is outside the visible range');
    const memberList = chat.member_list.map((m) => {
      const view: JsonObject = { userid: m.userid, type: m.type, join_time: m.join_time, join_scene: m.join_scene, group_nickname: m.group_nickname };
      if (m.invitor) view.invitor = { userid: m.invitor.userid };
      if (needName) view.name = m.name;
      if (m.type === 2 && m.unionid && corp().wechatDeveloperIdBound) view.unionid = m.unionid;
      return view;
    });
    return ok(c, {
      group_chat: {
        chat_id: chat.chat_id,
        name: chat.name,
        owner: chat.owner,
        create_time: chat.create_time,
        notice: chat.notice,
        member_list: memberList,
        admin_list: chat.admin_list.map((a) => ({ userid: a.userid })),
      },
    });
  });

  // ---- Application messages (messages.ts)

  post('/message/send', messageSend(core, rules));

  return cgi;
}
