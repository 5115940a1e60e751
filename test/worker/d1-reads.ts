/**
 * @module
 * What a test reads from D1: the rows D1 itself says each statement read, for tests that a lookup
 * reaches its rows through an index rather than by walking a table.
 */

/** `db` whose statements add up the rows D1 says they read (`meta.rows_read`). */
export function countingReads(db: D1Database): { db: D1Database; read(): number } {
  let read = 0;
  const statement = (target: D1PreparedStatement): D1PreparedStatement =>
    new Proxy(target, {
      get(t, property) {
        if (property === 'bind') return (...values: unknown[]) => statement(t.bind(...values));
        if (property === 'all') {
          return async () => {
            const result = await t.all();
            read += result.meta.rows_read;
            return result;
          };
        }
        const value: unknown = Reflect.get(t, property, t);
        return typeof value === 'function' ? value.bind(t) : value;
      },
    });
  const wrapped = new Proxy(db, {
    get(t, property) {
      if (property === 'prepare') return (sql: string) => statement(t.prepare(sql));
      const value: unknown = Reflect.get(t, property, t);
      return typeof value === 'function' ? value.bind(t) : value;
    },
  });
  return { db: wrapped, read: () => read };
}
