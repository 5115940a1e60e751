/**
 * @module
 * What happens to a contact nobody has bound yet, when WeCom tells us a member added them:
 * bind to the one customer with the same unionid (WeCom vouches that it is the same WeChat user);
 * failing that, to the one customer with the same mobile, but only when that member owns it:
 * a remark mobile is typed by a salesperson, so it must not make them a collaborator on a
 * colleague's customer (that match stays a suggestion for a person). With several candidates leave
 * it for a person; with none, create a basic customer owned by that member when
 * AUTO_CREATE_CUSTOMERS is on. Every step is idempotent, so replays change nothing.
 */
import type { Crm, Customer } from '../crm/port.ts';
import { profileMobiles, type ContactProfile } from './profile.ts';
import { draftFromProfile } from './service.ts';
import type { ContactStore } from './store.ts';

export type AutoBindOutcome = 'already_bound' | 'bound_by_unionid' | 'bound_by_mobile' | 'created' | 'ambiguous' | 'mobile_of_another_owner' | 'left_unbound';

export interface AutoBindDeps {
  corpId: string;
  crm: Crm;
  store: ContactStore;
  autoCreate: boolean;
  now: number;
}

function distinct(customers: readonly Customer[]): Customer[] {
  return [...new Map(customers.map((customer) => [customer.id, customer])).values()];
}

export async function autoBind(profile: ContactProfile, ownerUserid: string, deps: AutoBindDeps): Promise<{ outcome: AutoBindOutcome; customerId?: string }> {
  const { corpId, crm, store } = deps;
  const externalUserId = profile.contact.externalUserId;
  const existing = await store.binding(corpId, externalUserId);
  if (existing) return { outcome: 'already_bound', customerId: existing.customerId };

  const bindTo = async (customerId: string, outcome: AutoBindOutcome) => {
    const bound = await store.bindIfUnbound(corpId, { externalUserId, customerId, boundBy: 'system:auto', boundAt: deps.now, unionid: profile.contact.unionid });
    if (!bound) {
      const winner = await store.binding(corpId, externalUserId);
      return { outcome: 'already_bound' as const, ...(winner ? { customerId: winner.customerId } : {}) };
    }
    await store.addTouchpoint(corpId, {
      externalUserId,
      customerId,
      kind: 'bound',
      at: deps.now,
      actorUserid: null,
      detail: { name: profile.contact.name, reason: outcome },
      sourceKey: `auto-bind:${externalUserId}:${customerId}`,
    });
    return { outcome, customerId };
  };

  if (profile.contact.unionid) {
    const byUnionid = distinct(await crm.find(corpId, { unionid: profile.contact.unionid, limit: 2 }));
    if (byUnionid.length === 1 && byUnionid[0]) return bindTo(byUnionid[0].id, 'bound_by_unionid');
    if (byUnionid.length > 1) return { outcome: 'ambiguous' };
  }
  const mobiles = profileMobiles(profile);
  if (mobiles.length > 0) {
    const byMobile = distinct((await Promise.all(mobiles.slice(0, 5).map((mobile) => crm.find(corpId, { mobile, limit: 2 })))).flat());
    const [only] = byMobile;
    if (byMobile.length === 1 && only) return only.ownerUserid === ownerUserid ? bindTo(only.id, 'bound_by_mobile') : { outcome: 'mobile_of_another_owner' };
    if (byMobile.length > 1) return { outcome: 'ambiguous' };
  }
  if (!deps.autoCreate) return { outcome: 'left_unbound' };
  // One key per contact: a replayed event or a second reconciliation finds the same customer.
  const customer = await crm.create(draftFromProfile(profile, ownerUserid), {
    corpId,
    actor: 'system:auto-create',
    idempotencyKey: `auto-create:${corpId}:${externalUserId}`,
  });
  return bindTo(customer.id, 'created');
}
