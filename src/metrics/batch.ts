/** A read statement with the parser of its rows, so several can share one D1 round trip. */
export type Query<T> = { statement: D1PreparedStatement; read(rows: unknown[]): T };

type Results<Q extends Query<unknown>[]> = { [K in keyof Q]: Q[K] extends Query<infer R> ? R : never };

/** Runs the queries in one D1 batch (one round trip, one consistent snapshot) and parses each result. */
export async function runQueries<Q extends Query<unknown>[]>(db: D1Database, ...queries: Q): Promise<Results<Q>> {
  const results = await db.batch(queries.map((q) => q.statement));
  return queries.map((q, i) => q.read(results[i].results)) as Results<Q>;
}
