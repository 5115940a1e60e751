/**
 * @module
 * A big corp on request (`POST /__sim/big-corp`), for load tests and the bench: the demo corp plus
 * generated departments under the sales centre (so the demo app sees them), members in them with
 * customer contact, and external contacts followed by those members. Deterministic from `seed`:
 * the same request always gives the same corp. Generated only when asked, so the small demo corp
 * stays the default and costs nothing.
 */
import type { DemoCorp, DemoDepartment, DemoExternalContact, DemoMember } from '../fixtures/demo-corp.ts';
import { seededRandom } from '../seeded.ts';

export interface BigCorpOptions {
  members: number;
  departments: number;
  contacts: number;
  seed: number;
}

export const BIG_CORP_LIMITS = { members: 50_000, departments: 5_000, contacts: 1_000_000 } as const;

const SURNAMES = '王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗';
const GIVEN = '伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂';
/** The sales centre: inside the demo app's visible range. */
const PARENT = 2;
const FIRST_DEPARTMENT = 1000;

/** `base` with the generated part added; `base` itself is not changed. */
export function generateBigCorp(base: DemoCorp, options: BigCorpOptions): DemoCorp {
  const next = seededRandom(options.seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(next() * items.length)] as T;
  const name = () => `${pick([...SURNAMES])}${pick([...GIVEN])}${next() < 0.5 ? pick([...GIVEN]) : ''}`;
  const pad = (n: number, width: number) => String(n).padStart(width, '0');

  const departments: DemoDepartment[] = [];
  for (let i = 0; i < options.departments; i++) {
    const id = FIRST_DEPARTMENT + i;
    // A tree: a third hang under an earlier generated department, the rest under the sales centre.
    const parentid = i > 0 && next() < 0.33 ? FIRST_DEPARTMENT + Math.floor(next() * i) : PARENT;
    departments.push({ id, name: `销售${pad(i + 1, 4)}组`, name_en: `Sales team ${i + 1}`, parentid, order: 100000000 - i, department_leader: [] });
  }

  const members: DemoMember[] = [];
  for (let i = 0; i < options.members; i++) {
    const userid = `big${options.seed}m${pad(i + 1, 6)}`;
    const main = options.departments > 0 ? FIRST_DEPARTMENT + (i % options.departments) : PARENT;
    // One in ten is also in a second department: user/list lists them there too.
    const second = options.departments > 1 && next() < 0.1 ? FIRST_DEPARTMENT + Math.floor(next() * options.departments) : undefined;
    const department = second !== undefined && second !== main ? [main, second] : [main];
    members.push({
      userid,
      name: name(),
      alias: '',
      department,
      order: department.map(() => 0),
      is_leader_in_dept: department.map(() => 0 as const),
      main_department: main,
      direct_leader: [],
      position: '客户经理',
      telephone: '',
      status: 1,
      mobile: `139${pad(i + 1, 8)}`,
      gender: next() < 0.5 ? '1' : '2',
      email: '',
      biz_mail: '',
      avatar: '',
      qr_code: '',
      address: '',
      customerContact: true,
      role: 'sales',
    });
  }

  const contacts: DemoExternalContact[] = [];
  const start = 1704067200; // 2024-01-01
  for (let i = 0; i < options.contacts && members.length > 0; i++) {
    const followers = new Set([pick(members).userid]);
    // One in ten customers is followed by a second member.
    if (next() < 0.1) followers.add(pick(members).userid);
    // Most are WeChat users WeCom vouches for with a unionid (a corp that bound an Open Platform
    // account), a third carry a remark mobile: each costs the CRM lookups real contacts cost.
    // Both follow from the index, so the random draws (and everything else) stay as they were.
    const unionid = i % 10 < 7 ? { unionid: `oBig${pad(options.seed % 1000, 3)}${pad(i + 1, 21)}` } : {};
    const remarkMobiles = i % 3 === 0 ? [`138${pad((i + 1) % 100_000_000, 8)}`] : [];
    contacts.push({
      external_contact: {
        external_userid: `wmBig${pad(options.seed % 1000, 3)}${pad(i + 1, 24)}`,
        name: name(),
        avatar: '',
        type: 1,
        gender: next() < 0.5 ? 1 : 2,
        ...unionid,
      },
      follow_user: [...followers].map((userid) => ({
        userid,
        remark: '',
        description: '',
        createtime: start + Math.floor(next() * 60 * 60 * 24 * 365),
        tags: [],
        remark_mobiles: remarkMobiles,
        oper_userid: userid,
        add_way: 1,
      })),
    });
  }

  return {
    ...base,
    departments: [...base.departments, ...departments],
    members: [...base.members, ...members],
    externalContacts: [...base.externalContacts, ...contacts],
  };
}

/**
 * batch/get_by_user's rows per member, built once per generated corp (a scan of 100,000 contacts
 * per call would make the simulator, not the worker, the slow part). Rebuilt when contacts are
 * added; the small demo corp, whose follows tests edit in place, is scanned on every call instead.
 */
export const INDEXED_FROM = 1000;

const indexes = new WeakMap<DemoExternalContact[], { size: number; byMember: Map<string, Array<{ contact: DemoExternalContact; follow: DemoExternalContact['follow_user'][number] }>> }>();

export function followsByMember(contacts: DemoExternalContact[]) {
  const cached = indexes.get(contacts);
  if (cached && cached.size === contacts.length) return cached.byMember;
  const byMember = new Map<string, Array<{ contact: DemoExternalContact; follow: DemoExternalContact['follow_user'][number] }>>();
  for (const contact of contacts) {
    for (const follow of contact.follow_user) {
      let rows = byMember.get(follow.userid);
      if (!rows) byMember.set(follow.userid, (rows = []));
      rows.push({ contact, follow });
    }
  }
  for (const rows of byMember.values()) rows.sort((a, b) => a.follow.createtime - b.follow.createtime);
  indexes.set(contacts, { size: contacts.length, byMember });
  return byMember;
}
