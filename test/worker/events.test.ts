/**
 * @module
 * Typed events from decrypted callback XML, built from the fields docs/wecom.md §6 lists (illustrations,
 * not captured WeCom traffic), and the official sample message of docs/wecom.md §5.4.
 */
import { describe, expect, it } from 'vitest';
import { dedupeKey, eventLabel, toEvent, type EventResult, type WeComEvent } from '../../worker/wecom/events.ts';
import { parseXml } from '../../worker/wecom/xml.ts';

function typed(xml: string): EventResult {
  const parsed = parseXml(xml);
  if (!parsed.ok) throw new Error(`fixture does not parse: ${parsed.reason}`);
  return toEvent(parsed.root);
}

function event(xml: string): WeComEvent {
  const result = typed(xml);
  if (!result.ok) throw new Error(`expected an event, got: ${result.reason}`);
  return result.event;
}

function refusal(xml: string): string {
  const result = typed(xml);
  if (result.ok) throw new Error(`expected a refusal, got ${JSON.stringify(result.event)}`);
  return result.reason;
}

/** The common self-built-app event envelope (docs/wecom.md §6) around the given fields. */
function envelope(fields: string, createTime = 1718000300, event = 'change_contact'): string {
  return `<xml>
  <ToUserName><![CDATA[wwcorp000000000001]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>${createTime}</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[${event}]]></Event>
  ${fields}
</xml>`;
}

// change_external_contact: a customer added, a transfer failed (docs/wecom.md §6.1)
const addExternalContact = `<xml>
  <ToUserName><![CDATA[wwcorp000000000001]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1718000000</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_contact]]></Event>
  <ChangeType><![CDATA[add_external_contact]]></ChangeType>
  <UserID><![CDATA[alice]]></UserID>
  <ExternalUserID><![CDATA[wmEXAMPLEexternal00000000000001]]></ExternalUserID>
  <State><![CDATA[expo2025_booth3]]></State>
  <WelcomeCode><![CDATA[WELCOME_CODE_SAMPLE]]></WelcomeCode>
</xml>`;

const transferFail = envelope(
  `<ChangeType><![CDATA[transfer_fail]]></ChangeType>
  <FailReason><![CDATA[customer_refused]]></FailReason>
  <UserID><![CDATA[bob_takeover]]></UserID>
  <ExternalUserID><![CDATA[wmEXAMPLEexternal00000000000001]]></ExternalUserID>`,
  1718000000,
  'change_external_contact',
);

// change_external_chat: members joined a customer group (docs/wecom.md §6.2)
const chatUpdate = `<xml>
  <ToUserName><![CDATA[wwcorp000000000001]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1718000100</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_chat]]></Event>
  <ChatId><![CDATA[wrEXAMPLEchat0000000000000001]]></ChatId>
  <ChangeType><![CDATA[update]]></ChangeType>
  <UpdateDetail><![CDATA[add_member]]></UpdateDetail>
  <JoinScene>3</JoinScene>
  <QuitScene>0</QuitScene>
  <MemChangeCnt>2</MemChangeCnt>
  <MemChangeList><Item><![CDATA[carol]]></Item><Item><![CDATA[wmEXAMPLEexternal00000000000002]]></Item></MemChangeList>
  <LastMemVer><![CDATA[0f1e2d3c4b5a69788796a5b4c3d2e1f0]]></LastMemVer>
  <CurMemVer><![CDATA[1a2b3c4d5e6f708192a3b4c5d6e7f809]]></CurMemVer>
</xml>`;

// change_external_tag: a corp tag edited (docs/wecom.md §6.3)
const tagUpdate = `<xml>
  <ToUserName><![CDATA[wwcorp000000000001]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1718000200</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_external_tag]]></Event>
  <Id><![CDATA[etEXAMPLEtag000000000000000001]]></Id>
  <TagType><![CDATA[tag]]></TagType>
  <ChangeType><![CDATA[update]]></ChangeType>
  <StrategyId>7</StrategyId>
</xml>`;

// change_contact: a member created, with every field (docs/wecom.md §6.4)
const createUser = `<xml>
  <ToUserName><![CDATA[wwcorp000000000001]]></ToUserName>
  <FromUserName><![CDATA[sys]]></FromUserName>
  <CreateTime>1718000300</CreateTime>
  <MsgType><![CDATA[event]]></MsgType>
  <Event><![CDATA[change_contact]]></Event>
  <ChangeType><![CDATA[create_user]]></ChangeType>
  <UserID><![CDATA[dave]]></UserID>
  <Name><![CDATA[Dave Li]]></Name>
  <Department><![CDATA[1,12]]></Department>
  <MainDepartment>12</MainDepartment>
  <IsLeaderInDept><![CDATA[0,1]]></IsLeaderInDept>
  <DirectLeader><![CDATA[erin]]></DirectLeader>
  <Position><![CDATA[Account Manager]]></Position>
  <Mobile><![CDATA[13900000000]]></Mobile>
  <Gender>1</Gender>
  <Email><![CDATA[dave@example.com]]></Email>
  <BizMail><![CDATA[dave@example.wecom.work]]></BizMail>
  <Status>1</Status>
  <Avatar><![CDATA[https://wework.qpic.cn/example/0]]></Avatar>
  <Alias><![CDATA[dli]]></Alias>
  <Telephone><![CDATA[010-88888888]]></Telephone>
  <Address><![CDATA[Example Road 1]]></Address>
  <ExtAttr><Item><Name><![CDATA[Region]]></Name><Type>0</Type><Text><Value><![CDATA[North]]></Value></Text></Item></ExtAttr>
</xml>`;

// What the official POST vector decrypts to (docs/wecom.md §5.4): an ordinary text message.
const officialTextMessage =
  '<xml><ToUserName><![CDATA[wx5823bf96d3bd56c7]]></ToUserName>\n<FromUserName><![CDATA[mycreate]]></FromUserName>\n<CreateTime>1409659813</CreateTime>\n<MsgType><![CDATA[text]]></MsgType>\n<Content><![CDATA[hello]]></Content>\n<MsgId>4561255354251345929</MsgId>\n<AgentID>218</AgentID>\n</xml>';

const base = { corpId: 'wwcorp000000000001' };

describe('toEvent', () => {
  it('types add_external_contact with its state and welcome code', () => {
    expect(event(addExternalContact)).toEqual({
      kind: 'change_external_contact',
      changeType: 'add_external_contact',
      ...base,
      createTime: 1718000000,
      userId: 'alice',
      externalUserId: 'wmEXAMPLEexternal00000000000001',
      state: 'expo2025_booth3',
      welcomeCode: 'WELCOME_CODE_SAMPLE',
    });
  });

  it('types add_half_external_contact like add_external_contact apart from the change type', () => {
    const half = event(addExternalContact.replace('[add_external_contact]', '[add_half_external_contact]'));
    expect(half).toMatchObject({ kind: 'change_external_contact', changeType: 'add_half_external_contact', state: 'expo2025_booth3' });
  });

  it.each(['edit_external_contact', 'del_follow_user'])('types %s with only the member and the customer', (changeType) => {
    const xml = envelope(
      `<ChangeType><![CDATA[${changeType}]]></ChangeType><UserID><![CDATA[alice]]></UserID><ExternalUserID><![CDATA[wmX]]></ExternalUserID>`,
      1718000001,
      'change_external_contact',
    );
    expect(event(xml)).toEqual({ kind: 'change_external_contact', changeType, ...base, createTime: 1718000001, userId: 'alice', externalUserId: 'wmX' });
  });

  it('types del_external_contact with Source, and treats an empty Source as absent', () => {
    const fields = (source: string) =>
      `<ChangeType><![CDATA[del_external_contact]]></ChangeType><UserID><![CDATA[alice]]></UserID><ExternalUserID><![CDATA[wmX]]></ExternalUserID><Source><![CDATA[${source}]]></Source>`;
    expect(event(envelope(fields('DELETE_BY_TRANSFER'), 1718000002, 'change_external_contact'))).toMatchObject({ source: 'DELETE_BY_TRANSFER' });
    expect(event(envelope(fields(''), 1718000002, 'change_external_contact'))).not.toHaveProperty('source');
  });

  it('types transfer_fail with the takeover member and the fail reason', () => {
    expect(event(transferFail)).toEqual({
      kind: 'change_external_contact',
      changeType: 'transfer_fail',
      ...base,
      createTime: 1718000000,
      userId: 'bob_takeover',
      externalUserId: 'wmEXAMPLEexternal00000000000001',
      failReason: 'customer_refused',
    });
  });

  it('types a customer-group update with scenes, count and the changed members', () => {
    expect(event(chatUpdate)).toEqual({
      kind: 'change_external_chat',
      changeType: 'update',
      ...base,
      createTime: 1718000100,
      chatId: 'wrEXAMPLEchat0000000000000001',
      updateDetail: 'add_member',
      joinScene: 3,
      quitScene: 0,
      memChangeCnt: 2,
      memChangeList: ['carol', 'wmEXAMPLEexternal00000000000002'],
    });
  });

  it.each(['create', 'dismiss'])('types a customer-group %s that carries only ChatId and ChangeType', (changeType) => {
    const xml = envelope(`<ChatId><![CDATA[wrC]]></ChatId><ChangeType><![CDATA[${changeType}]]></ChangeType>`, 1718000101, 'change_external_chat');
    expect(event(xml)).toEqual({ kind: 'change_external_chat', changeType, ...base, createTime: 1718000101, chatId: 'wrC', memChangeList: [] });
  });

  it('types a corp tag update with its strategy id', () => {
    expect(event(tagUpdate)).toEqual({
      kind: 'change_external_tag',
      changeType: 'update',
      ...base,
      createTime: 1718000200,
      id: 'etEXAMPLEtag000000000000000001',
      tagType: 'tag',
      strategyId: '7',
    });
  });

  it('types a tag-group shuffle that has no TagType', () => {
    const xml = envelope('<Id><![CDATA[etGroup]]></Id><ChangeType><![CDATA[shuffle]]></ChangeType>', 1718000201, 'change_external_tag');
    expect(event(xml)).toEqual({ kind: 'change_external_tag', changeType: 'shuffle', ...base, createTime: 1718000201, id: 'etGroup' });
  });

  it('types create_user with departments as numbers', () => {
    expect(event(createUser)).toEqual({
      kind: 'change_contact',
      changeType: 'create_user',
      ...base,
      createTime: 1718000300,
      userId: 'dave',
      name: 'Dave Li',
      departments: [1, 12],
      mainDepartment: 12,
      mobile: '13900000000',
      position: 'Account Manager',
      status: 1,
    });
  });

  it('types the other directory changes of docs/wecom.md §6.4', () => {
    const cases: Array<[string, Partial<Extract<WeComEvent, { kind: 'change_contact' }>>]> = [
      [
        '<ChangeType><![CDATA[update_user]]></ChangeType><UserID><![CDATA[dave]]></UserID><NewUserID><![CDATA[dave.li]]></NewUserID><Position><![CDATA[Sales Lead]]></Position>',
        { changeType: 'update_user', userId: 'dave', newUserId: 'dave.li', position: 'Sales Lead' },
      ],
      ['<ChangeType><![CDATA[delete_user]]></ChangeType><UserID><![CDATA[dave]]></UserID>', { changeType: 'delete_user', userId: 'dave' }],
      [
        '<ChangeType><![CDATA[create_party]]></ChangeType><Id>12</Id><Name><![CDATA[Sales North]]></Name><ParentId>1</ParentId><Order>100</Order>',
        { changeType: 'create_party', partyId: 12, name: 'Sales North', parentId: 1, order: 100 },
      ],
      [
        '<ChangeType><![CDATA[update_party]]></ChangeType><Id>12</Id><Name><![CDATA[Sales N.]]></Name><ParentId>1</ParentId>',
        { changeType: 'update_party', partyId: 12, name: 'Sales N.', parentId: 1 },
      ],
      ['<ChangeType><![CDATA[delete_party]]></ChangeType><Id>12</Id>', { changeType: 'delete_party', partyId: 12 }],
      [
        '<ChangeType><![CDATA[update_tag]]></ChangeType><TagId>3</TagId><AddUserItems><![CDATA[dave,erin]]></AddUserItems><DelUserItems><![CDATA[frank]]></DelUserItems><AddPartyItems><![CDATA[12]]></AddPartyItems><DelPartyItems><![CDATA[]]></DelPartyItems>',
        { changeType: 'update_tag', tagId: 3 },
      ],
    ];
    for (const [fields, expected] of cases) {
      expect(event(envelope(fields)), fields).toEqual({ kind: 'change_contact', ...base, createTime: 1718000300, ...expected });
    }
  });

  it('keeps an ordinary text message as unknown with every top-level field', () => {
    expect(event(officialTextMessage)).toEqual({
      kind: 'unknown',
      corpId: 'wx5823bf96d3bd56c7',
      createTime: 1409659813,
      msgType: 'text',
      msgId: '4561255354251345929',
      fields: {
        ToUserName: 'wx5823bf96d3bd56c7',
        FromUserName: 'mycreate',
        CreateTime: '1409659813',
        MsgType: 'text',
        Content: 'hello',
        MsgId: '4561255354251345929',
        AgentID: '218',
      },
    });
  });

  it('keeps an event it does not know as unknown with its Event and ChangeType', () => {
    const xml = envelope('<ChangeType><![CDATA[brand_new]]></ChangeType><Foo><![CDATA[bar]]></Foo>', 1718000400, 'customer_acquisition');
    expect(event(xml)).toEqual({
      kind: 'unknown',
      ...base,
      createTime: 1718000400,
      msgType: 'event',
      event: 'customer_acquisition',
      changeType: 'brand_new',
      fields: {
        ToUserName: 'wwcorp000000000001',
        FromUserName: 'sys',
        CreateTime: '1718000400',
        MsgType: 'event',
        Event: 'customer_acquisition',
        ChangeType: 'brand_new',
        Foo: 'bar',
      },
    });
  });

  it('does not type a known Event name under a MsgType other than event', () => {
    const xml = addExternalContact.replace('<MsgType><![CDATA[event]]></MsgType>', '<MsgType><![CDATA[text]]></MsgType>');
    expect(event(xml)).toMatchObject({ kind: 'unknown', msgType: 'text', event: 'change_external_contact' });
  });

  it('refuses a root other than <xml>', () => {
    expect(refusal(addExternalContact.replace('<xml>', '<XML>').replace('</xml>', '</XML>'))).toBe('root element must be <xml>');
  });

  it('refuses a message without ToUserName, CreateTime or MsgType', () => {
    expect(refusal(addExternalContact.replace(/<ToUserName>.*<\/ToUserName>/, ''))).toBe('ToUserName is required');
    expect(refusal(addExternalContact.replace(/<CreateTime>.*<\/CreateTime>/, ''))).toBe('CreateTime is required');
    expect(refusal(addExternalContact.replace(/<MsgType>.*<\/MsgType>/, ''))).toBe('MsgType is required');
    expect(refusal(addExternalContact.replace('<ToUserName><![CDATA[wwcorp000000000001]]>', '<ToUserName><![CDATA[ ]]>'))).toBe('ToUserName is required');
  });

  it('refuses a CreateTime that is not an integer', () => {
    for (const value of ['17180000.5', 'soon', '1e9', '0x10', '-5', '12345678901234567']) {
      const reason = refusal(addExternalContact.replace('<CreateTime>1718000000</CreateTime>', `<CreateTime>${value}</CreateTime>`));
      expect(reason, value).toMatch(/^CreateTime must/);
    }
  });

  it('refuses a customer event without UserID, ExternalUserID or ChangeType', () => {
    expect(refusal(addExternalContact.replace(/<UserID>.*<\/UserID>/, ''))).toBe('UserID is required');
    expect(refusal(addExternalContact.replace(/<ExternalUserID>.*<\/ExternalUserID>/, ''))).toBe('ExternalUserID is required');
    expect(refusal(addExternalContact.replace(/<ChangeType>.*<\/ChangeType>/, ''))).toBe('ChangeType is required');
  });

  it('refuses a group event without ChatId and a tag event without Id', () => {
    expect(refusal(chatUpdate.replace(/<ChatId>.*<\/ChatId>/, ''))).toBe('ChatId is required');
    expect(refusal(tagUpdate.replace(/<Id>.*<\/Id>/, ''))).toBe('Id is required');
  });

  it('refuses a directory change without its subject', () => {
    expect(refusal(envelope('<ChangeType><![CDATA[delete_user]]></ChangeType>'))).toBe('UserID is required');
    expect(refusal(envelope('<ChangeType><![CDATA[delete_party]]></ChangeType>'))).toBe('Id is required');
    expect(refusal(envelope('<ChangeType><![CDATA[update_tag]]></ChangeType>'))).toBe('TagId is required');
  });

  it('refuses numeric fields that are not integers', () => {
    expect(refusal(chatUpdate.replace('<JoinScene>3</JoinScene>', '<JoinScene>three</JoinScene>'))).toBe('JoinScene must be an integer');
    expect(refusal(createUser.replace('[1,12]', '[1,x]'))).toBe('Department must be an integer');
  });
});

describe('dedupeKey', () => {
  it('is the same for the same event delivered twice', () => {
    for (const xml of [addExternalContact, transferFail, chatUpdate, tagUpdate, createUser, officialTextMessage]) {
      expect(dedupeKey(event(xml))).toBe(dedupeKey(event(xml)));
    }
  });

  it('follows the recommended layout Event|ChangeType|UserID|ExternalUserID|ChatId|Id|CreateTime', () => {
    expect(dedupeKey(event(addExternalContact))).toBe('change_external_contact|add_external_contact|alice|wmEXAMPLEexternal00000000000001|||1718000000');
  });

  it('uses MsgId for ordinary messages, whatever their CreateTime', () => {
    const later = officialTextMessage.replace('<CreateTime>1409659813</CreateTime>', '<CreateTime>1409659999</CreateTime>');
    expect(dedupeKey(event(officialTextMessage))).toBe(dedupeKey(event(later)));
    expect(dedupeKey(event(officialTextMessage))).toContain('4561255354251345929');
    const otherId = officialTextMessage.replace('4561255354251345929', '4561255354251345930');
    expect(dedupeKey(event(otherId))).not.toBe(dedupeKey(event(officialTextMessage)));
  });

  it('differs when any key field of a customer event differs', () => {
    const original = dedupeKey(event(addExternalContact));
    const variants = [
      addExternalContact.replace('[add_external_contact]', '[edit_external_contact]'),
      addExternalContact.replace('[alice]', '[bob]'),
      addExternalContact.replace('external00000000000001', 'external00000000000009'),
      addExternalContact.replace('1718000000', '1718000001'),
      addExternalContact.replace('[change_external_contact]', '[change_external_chat]').replace('<UserID>', '<ChatId>wrX</ChatId><UserID>'),
    ];
    for (const variant of variants) expect(dedupeKey(event(variant)), variant).not.toBe(original);
  });

  it('differs when any key field of a group or tag event differs', () => {
    const chat = dedupeKey(event(chatUpdate));
    expect(dedupeKey(event(chatUpdate.replace('chat0000000000000001', 'chat0000000000000002')))).not.toBe(chat);
    expect(dedupeKey(event(chatUpdate.replace('[update]', '[dismiss]')))).not.toBe(chat);
    expect(dedupeKey(event(chatUpdate.replace('1718000100', '1718000101')))).not.toBe(chat);
    const tag = dedupeKey(event(tagUpdate));
    expect(dedupeKey(event(tagUpdate.replace('tag000000000000000001', 'tag000000000000000002')))).not.toBe(tag);
    expect(dedupeKey(event(tagUpdate.replace('[update]', '[delete]')))).not.toBe(tag);
    expect(dedupeKey(event(tagUpdate.replace('1718000200', '1718000201')))).not.toBe(tag);
  });

  it('keeps apart two group joins in the same second that differ only in who joined', () => {
    const other = chatUpdate.replace('[carol]', '[dan]');
    expect(dedupeKey(event(other))).not.toBe(dedupeKey(event(chatUpdate)));
  });

  it('keeps apart two directory changes in the same second that differ only in what changed', () => {
    const edit = (position: string) =>
      envelope(`<ChangeType><![CDATA[update_user]]></ChangeType><UserID><![CDATA[dave]]></UserID><Position><![CDATA[${position}]]></Position>`);
    expect(dedupeKey(event(edit('Sales Lead')))).not.toBe(dedupeKey(event(edit('Director'))));
    const tag = (id: number) => envelope(`<ChangeType><![CDATA[update_tag]]></ChangeType><TagId>${id}</TagId>`);
    expect(dedupeKey(event(tag(3)))).not.toBe(dedupeKey(event(tag(4))));
    const party = (id: number) => envelope(`<ChangeType><![CDATA[delete_party]]></ChangeType><Id>${id}</Id>`);
    expect(dedupeKey(event(party(12)))).not.toBe(dedupeKey(event(party(13))));
  });

  it('cannot be forged into a collision with a | inside a value', () => {
    const a = envelope(
      '<ChangeType><![CDATA[x]]></ChangeType><UserID><![CDATA[a|b]]></UserID><ExternalUserID><![CDATA[c]]></ExternalUserID>',
      1718000000,
      'change_external_contact',
    );
    const b = envelope(
      '<ChangeType><![CDATA[x]]></ChangeType><UserID><![CDATA[a]]></UserID><ExternalUserID><![CDATA[b|c]]></ExternalUserID>',
      1718000000,
      'change_external_contact',
    );
    expect(dedupeKey(event(a))).not.toBe(dedupeKey(event(b)));
  });

  it('keeps apart unknown events without MsgId that differ in any field', () => {
    const unknown = (foo: string) => envelope(`<Foo><![CDATA[${foo}]]></Foo>`, 1718000400, 'enter_agent');
    expect(dedupeKey(event(unknown('a')))).toBe(dedupeKey(event(unknown('a'))));
    expect(dedupeKey(event(unknown('a')))).not.toBe(dedupeKey(event(unknown('b'))));
  });
});

describe('eventLabel', () => {
  it('names known kinds with their change type', () => {
    expect(eventLabel(event(addExternalContact))).toEqual({ kind: 'change_external_contact', changeType: 'add_external_contact' });
    expect(eventLabel(event(chatUpdate))).toEqual({ kind: 'change_external_chat', changeType: 'update' });
  });

  it('names unknown kinds by their raw Event or MsgType', () => {
    expect(eventLabel(event(officialTextMessage))).toEqual({ kind: 'unknown:text', changeType: null });
    expect(eventLabel(event(envelope('', 1718000400, 'enter_agent')))).toEqual({ kind: 'unknown:enter_agent', changeType: null });
  });
});
