/**
 * @module
 * A D1 binding that counts the statements it runs, for the job step meter (jobs/steps.ts): each
 * Workers invocation may run a limited number of D1 queries (1,000 on Workers Paid), and a step's
 * D1 work grows with the page it handles. A batch counts each of its statements, an upper bound
 * of what D1 charges to the limit.
 */

export interface QueryMeter {
  d1Queries: number;
}

const EXECUTORS = new Set(['run', 'all', 'first', 'raw']);

export function countedD1(db: D1Database, meter: QueryMeter): D1Database {
  // batch() needs D1's own statement objects back, so every wrapper remembers the one it wraps.
  const originals = new WeakMap<object, D1PreparedStatement>();
  const wrap = (statement: D1PreparedStatement): D1PreparedStatement => {
    const wrapper = new Proxy(statement, {
      get(target, property) {
        const value: unknown = Reflect.get(target, property, target);
        if (typeof value !== 'function') return value;
        if (property === 'bind') return (...values: unknown[]) => wrap(target.bind(...values));
        if (typeof property === 'string' && EXECUTORS.has(property)) {
          return (...args: unknown[]) => {
            meter.d1Queries++;
            return (value as (...a: unknown[]) => unknown).apply(target, args);
          };
        }
        return (value as (...a: unknown[]) => unknown).bind(target);
      },
    });
    originals.set(wrapper, statement);
    return wrapper;
  };
  return new Proxy(db, {
    get(target, property) {
      const value: unknown = Reflect.get(target, property, target);
      if (property === 'prepare') return (query: string) => wrap(target.prepare(query));
      if (property === 'batch') {
        return (statements: D1PreparedStatement[]) => {
          meter.d1Queries += statements.length;
          return target.batch(statements.map((statement) => originals.get(statement) ?? statement));
        };
      }
      if (property === 'exec') {
        return (query: string) => {
          meter.d1Queries++;
          return target.exec(query);
        };
      }
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
}
