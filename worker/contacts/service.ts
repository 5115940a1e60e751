/**
 * @module
 * Contacts and the CRM joined: read a contact with its binding and customer, suggest matches,
 * bind, unbind, create a basic customer. Every step checks the reader's scope first; CRM writes
 * happen before D1 writes, so a CRM that fails leaves nothing half-written on our side.
 */
import type { Crm, Customer, CustomerDraft, Stage } from '../crm/port.ts';
import { AppError } from '../errors.ts';
import { actorOf, type User, type UserRepo } from '../identity/users.ts';
import { log } from '../log.ts';
import type { WeComClient } from '../wecom/client.ts';
import { WeComError } from '../wecom/errors.ts';
import { contactInScope, customerInScope, linkersOf, type Scope } from './access.ts';
import { rankSuggestions, type MatchReason } from './matching.ts';
import { fetchProfile, profileMobiles, type ContactProfile, type ProfileCache } from './profile.ts';
import { recordFollows, type Binding, type ContactStore } from './store.ts';
import { customerView, memberNames } from './view.ts';
import type { BindingResult, ContactView, NewCustomer } from '../wire.ts';

export type { ContactView };

export interface ContactsDeps {
  corpId: string;
  client: WeComClient;
  crm: Crm;
  store: ContactStore;
  cache: ProfileCache;
  users: UserRepo;
  db: D1Database;
  now?: () => number;
}

export function createContactsService(deps: ContactsDeps) {
  const now = deps.now ?? Date.now;
  const { corpId, store, crm } = deps;

  /** The profile from cache or WeCom; a fresh read also records who follows the contact. */
  async function profile(externalUserId: string, options: { fresh?: boolean } = {}): Promise<ContactProfile> {
    if (!options.fresh) {
      const cached = await deps.cache.get(corpId, externalUserId);
      if (cached) return cached;
    }
    const fetched = await fetchProfile(deps.client, externalUserId, now());
    await deps.cache.put(corpId, fetched);
    await recordFollows(store, corpId, fetched, now());
    return fetched;
  }

  /**
   * The contact, if the reader's scope reaches it; otherwise the same 404 as for an id WeCom never
   * issued, so ids cannot be probed. Scope is judged from the follows we stored first: a contact we
   * know is never fetched from WeCom for someone it does not belong to. Only a contact we have never
   * seen (its add event still on its way) is looked up, which also stores its follows.
   */
  async function requireContact(externalUserId: string, scope: Scope, write: boolean): Promise<ContactProfile> {
    const notFound = (reason: string) => {
      log('info', 'contacts.not_found', { corpId, reason });
      return new AppError(404, 'contact_not_found', 'No such external contact among those you and your departments follow');
    };
    if (!scope.all) {
      const known = await store.follows(corpId, externalUserId);
      if (known.length > 0 && !contactInScope(scope, known.filter((f) => f.state === 'active').map((f) => f.userid))) throw notFound('out_of_scope');
    }
    let loaded: ContactProfile;
    try {
      loaded = await profile(externalUserId);
    } catch (error) {
      if (error instanceof WeComError && (error.errcode === 40096 || error.errcode === 84061)) throw notFound(`errcode_${error.errcode}`);
      throw error;
    }
    if (!contactInScope(scope, loaded.followUsers.map((f) => f.userid))) throw notFound('out_of_scope');
    if (write && !scope.canWrite) throw new AppError(403, 'forbidden', 'Your role can read but not change contacts and customers');
    return loaded;
  }

  async function namesFor(customers: readonly Customer[], extra: Iterable<string> = []): Promise<Map<string, string>> {
    const ids = customers.map((c) => c.ownerUserid).filter((id): id is string => id !== null);
    return memberNames(deps.db, corpId, [...ids, ...extra]);
  }

  async function suggestionsFor(loaded: ContactProfile, scope: Scope): Promise<ContactView['suggestions']> {
    const names = [loaded.contact.name, ...loaded.followUsers.map((f) => f.remark)].filter((name) => name.trim() !== '');
    const mobiles = profileMobiles(loaded);
    const queries = [
      ...(loaded.contact.unionid ? [crm.find(corpId, { unionid: loaded.contact.unionid, limit: 5 })] : []),
      ...mobiles.slice(0, 5).map((mobile) => crm.find(corpId, { mobile, limit: 5 })),
      ...[...new Set(names)].slice(0, 3).map((text) => crm.find(corpId, { text, limit: 5 })),
    ];
    const candidates = (await Promise.all(queries)).flat();
    const ranked = rankSuggestions({ unionid: loaded.contact.unionid, mobiles, names }, candidates);
    const ownerNames = await namesFor(ranked.map((s) => s.customer));
    return Promise.all(
      ranked.map(async (s) => ({
        customer: customerView(s.customer, ownerNames, await customerInScope(scope, s.customer, corpId, store)),
        reasons: s.reasons,
      })),
    );
  }

  /**
   * A binding makes everyone who follows the contact a collaborator on the customer, so it needs
   * evidence as strong as that access: the customer is already in the binder's scope, or WeCom
   * itself says the contact is the same WeChat user (same unionid). A search hit, a name or a
   * mobile someone typed into a remark is not enough: refused, naming who can link it.
   */
  async function requireLinkable(loaded: ContactProfile, customer: Customer, scope: Scope): Promise<void> {
    if (await customerInScope(scope, customer, corpId, store)) return;
    if (loaded.contact.unionid !== null && customer.unionid === loaded.contact.unionid) return;
    const linkers = await linkersOf(deps.db, corpId, customer.ownerUserid);
    const owner = linkers.find((l) => l.role === 'owner');
    const others = linkers.filter((l) => l.role !== 'owner').map((l) => `${l.name} (${l.role})`);
    throw new AppError(
      403,
      'customer_not_yours',
      `${customer.name} is ${owner ? `owned by ${owner.name}` : 'not owned by anyone you work with'}; only its owner, a manager of the owner's department or an admin can link it to a contact` +
        (others.length > 0 ? ` (${others.join(', ')})` : ''),
      { owner: owner ? { userid: owner.userid, name: owner.name } : null, canLink: linkers },
    );
  }

  async function view(externalUserId: string, scope: Scope): Promise<ContactView> {
    const loaded = await requireContact(externalUserId, scope, false);
    const binding = (await store.binding(corpId, externalUserId)) ?? null;
    const customer = binding ? await crm.get(corpId, binding.customerId) : undefined;
    const follows = await store.follows(corpId, externalUserId);
    const ended = new Set(follows.filter((f) => f.state === 'ended').map((f) => f.userid));
    const names = await namesFor(customer ? [customer] : [], loaded.followUsers.map((f) => f.userid));
    const full = customer !== undefined && (await customerInScope(scope, customer, corpId, store));
    const canBind = scope.canWrite;
    return {
      contact: loaded.contact,
      followUsers: loaded.followUsers.map((f) => ({ ...f, name: names.get(f.userid) ?? f.userid, relationship: ended.has(f.userid) ? 'ended' : 'active' })),
      binding,
      customer: customer ? customerView(customer, names, full) : null,
      suggestions: binding ? [] : await suggestionsFor(loaded, scope),
      permissions: { canBind, canEdit: canBind && full },
    };
  }

  async function bind(externalUserId: string, customerId: string, user: User, scope: Scope): Promise<BindingResult> {
    const loaded = await requireContact(externalUserId, scope, true);
    const customer = await crm.get(corpId, customerId);
    if (!customer) throw new AppError(404, 'customer_not_found', `No customer ${customerId}`);
    await requireLinkable(loaded, customer, scope);
    const at = now();
    const actor = actorOf(user);
    const binding: Binding = { externalUserId, customerId, boundBy: actor, boundAt: at, unionid: loaded.contact.unionid };
    const previous = await store.bind(corpId, binding);
    if (previous !== customerId) {
      if (previous) {
        await store.addTouchpoint(corpId, { externalUserId, customerId: previous, kind: 'unbound', at, actorUserid: actor, detail: { name: loaded.contact.name }, sourceKey: `unbind:${externalUserId}:${previous}:${at}` });
      }
      await store.addTouchpoint(corpId, { externalUserId, customerId, kind: 'bound', at, actorUserid: actor, detail: { name: loaded.contact.name }, sourceKey: `bind:${externalUserId}:${customerId}:${at}` });
    }
    const names = await namesFor([customer]);
    return { binding, customer: customerView(customer, names, true) };
  }

  async function unbind(externalUserId: string, user: User, scope: Scope) {
    const loaded = await requireContact(externalUserId, scope, true);
    const removed = await store.unbind(corpId, externalUserId);
    if (!removed) throw new AppError(404, 'not_bound', 'This contact is not bound to a customer');
    const at = now();
    await store.addTouchpoint(corpId, {
      externalUserId,
      customerId: removed.customerId,
      kind: 'unbound',
      at,
      actorUserid: actorOf(user),
      detail: { name: loaded.contact.name },
      sourceKey: `unbind:${externalUserId}:${removed.customerId}:${at}`,
    });
    return removed;
  }

  async function createCustomer(
    externalUserId: string,
    input: NewCustomer,
    user: User,
    scope: Scope,
    idempotencyKey: string,
  ): Promise<BindingResult> {
    const loaded = await requireContact(externalUserId, scope, true);
    if (await store.binding(corpId, externalUserId)) throw new AppError(409, 'already_bound', 'This contact is already bound to a customer; unbind it first');
    const actor = actorOf(user);
    const draft = draftFromProfile(loaded, actor);
    if (input.name) draft.name = input.name;
    if (input.company !== undefined) draft.company = input.company;
    if (input.stage) draft.stage = input.stage;
    const customer = await crm.create(draft, { corpId, actor, idempotencyKey });
    const at = now();
    const binding: Binding = { externalUserId, customerId: customer.id, boundBy: actor, boundAt: at, unionid: loaded.contact.unionid };
    await store.bind(corpId, binding);
    await store.addTouchpoint(corpId, { externalUserId, customerId: customer.id, kind: 'bound', at, actorUserid: actor, detail: { name: loaded.contact.name }, sourceKey: `create-bind:${idempotencyKey}` });
    return { binding, customer: customerView(customer, await namesFor([customer]), true) };
  }

  return { profile, view, bind, unbind, createCustomer, requireContact };
}

export type ContactsService = ReturnType<typeof createContactsService>;

/** A basic customer from what WeCom knows: name, company, the remark mobiles, the unionid. */
export function draftFromProfile(loaded: ContactProfile, ownerUserid: string): CustomerDraft {
  const own = loaded.followUsers.find((f) => f.userid === ownerUserid);
  return {
    name: loaded.contact.name,
    company: loaded.contact.corpName || own?.remarkCorpName || '',
    stage: 'lead',
    ownerUserid,
    mobiles: profileMobiles(loaded),
    unionid: loaded.contact.unionid,
    // WeCom's tags stay WeCom's: a CRM field gets them only through an admin's mapping (docs/tags.md).
  };
}
