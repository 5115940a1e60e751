import { describe, expect, it } from 'vitest';
import { contactProfile, profileMobiles } from '../../worker/contacts/profile.ts';
import type { ExternalContact, FollowInfo, FollowUser } from '../../worker/wecom/replies.ts';

const wechatContact: ExternalContact = { external_userid: 'wmWeChat', name: 'Wang Fang', type: 1 };
const followUser: FollowUser = {
  userid: 'zhangsan',
  remark: 'Fang (Acme)',
  description: 'met at the fair',
  createtime: 1_700_000_000,
  tags: [{ group_name: 'Level', tag_name: 'VIP', type: 1 }, { tag_name: 'mine', type: 2 }],
  remark_corp_name: 'Acme',
  remark_mobiles: ['+86 138 0013 8000', '', '010-65529988'],
  add_way: 1,
  state: 'fair-2024',
};

describe('contactProfile', () => {
  it('reads a WeCom contact and its follow users with every default filled', () => {
    expect(contactProfile(wechatContact, [followUser, { userid: 'lisi', createtime: 1 }], 42)).toEqual({
      contact: { externalUserId: 'wmWeChat', name: 'Wang Fang', avatar: '', type: 1, gender: 0, corpName: '', position: '', unionid: null },
      followUsers: [
        {
          userid: 'zhangsan',
          remark: 'Fang (Acme)',
          description: 'met at the fair',
          createdAt: 1_700_000_000,
          tags: [
            { group: 'Level', name: 'VIP', type: 1 },
            { group: '', name: 'mine', type: 2 },
          ],
          remarkMobiles: ['+86 138 0013 8000', '010-65529988'],
          remarkCorpName: 'Acme',
          addWay: 1,
          state: 'fair-2024',
        },
        { userid: 'lisi', remark: '', description: '', createdAt: 1, tags: [], remarkMobiles: [], remarkCorpName: '', addWay: null, state: '' },
      ],
      fetchedAt: 42,
    });
  });

  it.each([
    [{ corp_full_name: 'Acme Trading Co., Ltd.', corp_name: 'Acme', external_profile: { external_corp_name: 'ACME' } }, 'Acme Trading Co., Ltd.'],
    [{ corp_name: 'Acme', external_profile: { external_corp_name: 'ACME' } }, 'Acme'],
    [{ corp_full_name: '', external_profile: { external_corp_name: 'ACME' } }, 'ACME'],
    [{}, ''],
  ] satisfies Array<[Partial<ExternalContact>, string]>)('names the company of a WeCom user from its fullest name (%o is %s)', (names, corpName) => {
    expect(contactProfile({ ...wechatContact, type: 2, ...names }, [], 0).contact.corpName).toBe(corpName);
  });

  it('reads a batch follow info, which has tag ids and no names, as a follow user without tags', () => {
    const info: FollowInfo = { userid: 'zhangsan', createtime: 5, tag_id: ['et1'] };
    expect(contactProfile(wechatContact, [info], 0).followUsers[0]?.tags).toEqual([]);
  });

  it('collects the remark mobiles of every follow user, normalised, once each', () => {
    const other: FollowUser = { userid: 'lisi', createtime: 1, remark_mobiles: ['13800138000', '+86 10 6552 9988', '1234'] };
    expect(profileMobiles(contactProfile(wechatContact, [followUser, other], 0))).toEqual(['13800138000', '01065529988']);
  });
});
