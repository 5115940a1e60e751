import { describe, expect, it } from 'vitest';
import { memberFacts } from '../../worker/identity/users.ts';

describe('memberFacts', () => {
  it('reads a full WeCom member record', () => {
    expect(
      memberFacts({ userid: 'zhangsan', name: '张三', mobile: '13800000001', department: [1, 2, 3], is_leader_in_dept: [0, 1, 0], status: 1, position: 'Sales' }),
    ).toEqual({ userid: 'zhangsan', name: '张三', mobile: '13800000001', departments: [1, 2, 3], leaderIn: [2], wecomStatus: 1 });
  });

  it('leaves out what WeCom did not report, so the user keeps what we knew', () => {
    expect(memberFacts({ userid: 'lisi' })).toEqual({ userid: 'lisi' });
    expect(memberFacts({ userid: 'lisi', name: '', mobile: '' })).toEqual({ userid: 'lisi' });
    expect(memberFacts({ userid: 'lisi', is_leader_in_dept: [1] })).toEqual({ userid: 'lisi' });
  });

  it('reports membership without leadership when WeCom gives departments alone', () => {
    expect(memberFacts({ userid: 'wangwu', department: [4], status: 5 })).toEqual({ userid: 'wangwu', departments: [4], wecomStatus: 5 });
  });
});
