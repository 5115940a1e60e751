/**
 * @module
 * Ranking CRM customers as candidates for an unbound contact, with the reasons a person can check:
 * the same unionid (the same WeChat user), the same mobile, a similar name. Pure.
 */
import type { Customer } from '../crm/port.ts';
import { normaliseMobile } from '../mobile.ts';
import type { MatchReason } from '../wire.ts';

export type { MatchReason };

export interface Suggestion {
  customer: Customer;
  reasons: MatchReason[];
  score: number;
}

export interface MatchSubject {
  unionid: string | null;
  mobiles: string[];
  /** The contact's own name and the remarks members gave them. */
  names: string[];
}

function normaliseName(name: string): string {
  return name.normalize('NFKC').toLowerCase().replace(/[\s·•.\-_()（）]/g, '');
}

/** 1 for the same name, 0.6 when one contains the other, 0 otherwise. */
export function nameSimilarity(a: string, b: string): number {
  const x = normaliseName(a);
  const y = normaliseName(b);
  if (x.length < 2 || y.length < 2) return x !== '' && x === y ? 1 : 0;
  if (x === y) return 1;
  if (x.includes(y) || y.includes(x)) return 0.6;
  return 0;
}

export function rankSuggestions(subject: MatchSubject, candidates: readonly Customer[], limit = 5): Suggestion[] {
  const mobiles = new Set(subject.mobiles.map(normaliseMobile));
  const seen = new Map<string, Suggestion>();
  for (const customer of candidates) {
    if (seen.has(customer.id)) continue;
    const reasons: MatchReason[] = [];
    let score = 0;
    if (subject.unionid && customer.unionid === subject.unionid) {
      reasons.push('unionid');
      score += 100;
    }
    if (customer.mobiles.some((mobile) => mobiles.has(normaliseMobile(mobile)))) {
      reasons.push('mobile');
      score += 50;
    }
    const similarity = Math.max(0, ...subject.names.map((name) => nameSimilarity(name, customer.name)));
    if (similarity > 0) {
      reasons.push('name');
      score += Math.round(20 * similarity);
    }
    if (reasons.length > 0) seen.set(customer.id, { customer, reasons, score });
  }
  return [...seen.values()].sort((a, b) => b.score - a.score || b.customer.updatedAt - a.customer.updatedAt).slice(0, limit);
}
