/**
 * Counts the billable operations this isolate performs, for the cost benchmark: Worker invocations,
 * D1 rows read and written, Durable Object requests (RPC calls, alarms), SQLite rows and alarms
 * set, and Queue operations; and the D1 database's size. Only the benchmark's Worker
 * (bench-entry.ts) uses it: it wraps the bindings and the Durable Objects' storage so every call
 * is counted where it is made. Under `wrangler dev` the Worker and its Durable Objects share one
 * isolate, so one set of counters sees all of them.
 */
export type MeterCounts = {
  workerInvocations: number;
  d1Queries: number;
  d1RowsRead: number;
  d1RowsWritten: number;
  doRequests: number;
  doAlarms: number;
  doRowsRead: number;
  doRowsWritten: number;
  /** `setAlarm` calls: each is a write to the object's storage. */
  doAlarmsSet: number;
  queueWrites: number;
  queueReads: number;
  queueDeletes: number;
  /** The D1 database's size in bytes after the last query (D1 reports it with every result); 0 before any. */
  d1SizeBytes: number;
  /** The SQLite size in bytes of every Durable Object metered so far, as each last saw it. */
  doSizeBytes: number;
};

const zero = (): MeterCounts => ({
  workerInvocations: 0,
  d1Queries: 0,
  d1RowsRead: 0,
  d1RowsWritten: 0,
  doRequests: 0,
  doAlarms: 0,
  doRowsRead: 0,
  doRowsWritten: 0,
  doAlarmsSet: 0,
  queueWrites: 0,
  queueReads: 0,
  queueDeletes: 0,
  d1SizeBytes: 0,
  doSizeBytes: 0,
});

let counts = zero();
/** Each Durable Object's database size after its last statement, by object id. */
const doSizes = new Map<string, number>();
const wrappedEnvs = new WeakMap<object, Env>();

export function meterSnapshot(): MeterCounts {
  return { ...counts, doSizeBytes: [...doSizes.values()].reduce((a, b) => a + b, 0) };
}

/** Zeroes the counters; database sizes are levels, not counts, so they are kept. */
export function resetMeter(): void {
  counts = { ...zero(), d1SizeBytes: counts.d1SizeBytes };
}

function add(key: keyof MeterCounts, n: number) {
  counts[key] += n;
}

/** One Worker invocation (HTTP request, queue batch, cron). */
export function countInvocation(): void {
  add("workerInvocations", 1);
}

/** A Durable Object alarm: billed as one request. */
export function countAlarm(): void {
  add("doAlarms", 1);
}

/** A consumed queue batch: one read per message, one delete per message not sent back for retry. */
export function meterConsumedBatch<T>(batch: MessageBatch<T>): MessageBatch<T> {
  add("queueReads", batch.messages.length);
  add("queueDeletes", batch.messages.length);
  const messages = batch.messages.map(
    (m): Message<T> => ({
      id: m.id,
      timestamp: m.timestamp,
      body: m.body,
      attempts: m.attempts,
      ack: () => m.ack(),
      retry: (options?: QueueRetryOptions) => {
        add("queueDeletes", -1);
        m.retry(options);
      },
    }),
  );
  return {
    queue: batch.queue,
    metadata: batch.metadata,
    messages,
    ackAll: () => batch.ackAll(),
    retryAll: (options?: QueueRetryOptions) => {
      add("queueDeletes", -messages.length);
      batch.retryAll(options);
    },
  };
}

/** The env with D1, Durable Object and Queue bindings counted. */
export function meteredEnv(env: Env): Env {
  const known = wrappedEnvs.get(env);
  if (known) return known;
  const wrapped = { ...env } as Record<string, unknown>;
  for (const [name, binding] of Object.entries(env)) {
    if (isD1(binding)) wrapped[name] = meterD1(binding);
    else if (isDoNamespace(binding)) wrapped[name] = meterNamespace(binding);
    else if (isQueue(binding)) wrapped[name] = meterQueue(binding);
  }
  const result = wrapped as unknown as Env;
  wrappedEnvs.set(env, result);
  wrappedEnvs.set(result, result);
  return result;
}

/**
 * Makes a Durable Object's storage count its SQL rows and `setAlarm` calls, in place: the object's
 * base class accepts only the real state, so the state cannot be wrapped. Call it before the
 * object's constructor reads `ctx.storage.sql`.
 */
export function meterStorage(ctx: DurableObjectState): void {
  const storage = ctx.storage;
  const sql = meteredSql(storage.sql, ctx.id.toString());
  const setAlarm = storage.setAlarm.bind(storage);
  Object.defineProperty(storage, "sql", { value: sql, configurable: true });
  Object.defineProperty(storage, "setAlarm", {
    value: (...args: Parameters<DurableObjectStorage["setAlarm"]>) => {
      add("doAlarmsSet", 1);
      return setAlarm(...args);
    },
    configurable: true,
  });
}

/** A Durable Object's SQL storage with its rows counted. Cursors are read eagerly (all our statements read every row). */
export function meteredSql(sql: SqlStorage, objectId: string): SqlStorage {
  return new Proxy(sql, {
    get(target, prop) {
      if (prop !== "exec") {
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (query: string, ...bindings: unknown[]) => {
        const cursor = target.exec(query, ...bindings);
        const rows = cursor.toArray();
        add("doRowsRead", cursor.rowsRead);
        add("doRowsWritten", cursor.rowsWritten);
        doSizes.set(objectId, target.databaseSize);
        return drainedCursor(rows, cursor.columnNames, cursor.rowsRead, cursor.rowsWritten);
      };
    },
  });
}

function drainedCursor(rows: Record<string, SqlStorageValue>[], columnNames: string[], rowsRead: number, rowsWritten: number) {
  let next = 0;
  return {
    columnNames,
    rowsRead,
    rowsWritten,
    toArray: () => rows.slice(next),
    one: () => {
      if (rows.length !== 1) throw new Error(`Expected exactly one result from SQL query, but got ${rows.length}.`);
      return rows[0];
    },
    raw: function* () {
      for (const r of rows) yield columnNames.map((c) => r[c]);
    },
    next: () => (next < rows.length ? { done: false, value: rows[next++] } : { done: true, value: undefined }),
    [Symbol.iterator]() {
      return rows.slice(next)[Symbol.iterator]();
    },
  } as unknown as SqlStorageCursor<Record<string, SqlStorageValue>>;
}

const isD1 = (b: unknown): b is D1Database => typeof b === "object" && b !== null && "prepare" in b && "batch" in b;
const isDoNamespace = (b: unknown): b is DurableObjectNamespace => typeof b === "object" && b !== null && "idFromName" in b && "get" in b;
const isQueue = (b: unknown): b is Queue => typeof b === "object" && b !== null && "sendBatch" in b && "send" in b;

function countD1(meta: { rows_read?: number; rows_written?: number; size_after?: number } | undefined) {
  add("d1Queries", 1);
  add("d1RowsRead", meta?.rows_read ?? 0);
  add("d1RowsWritten", meta?.rows_written ?? 0);
  if (meta?.size_after) counts.d1SizeBytes = meta.size_after;
}

const realStatements = new WeakMap<object, D1PreparedStatement>();

function meterStatement(stmt: D1PreparedStatement): D1PreparedStatement {
  const wrapped = {
    bind: (...values: unknown[]) => meterStatement(stmt.bind(...values)),
    async run() {
      const r = await stmt.run();
      countD1(r.meta);
      return r;
    },
    async all() {
      const r = await stmt.all();
      countD1(r.meta);
      return r;
    },
    async first(column?: string) {
      const r = await stmt.all<Record<string, unknown>>();
      countD1(r.meta);
      const row = r.results[0] ?? null;
      return column === undefined ? row : row ? (row[column] ?? null) : null;
    },
    // raw() returns no meta: read through all(), whose rows keep the statement's column order.
    async raw(options?: { columnNames?: boolean }) {
      const r = await stmt.all<Record<string, unknown>>();
      countD1(r.meta);
      const rows = r.results.map((row) => Object.values(row));
      if (!options?.columnNames) return rows;
      return [Object.keys(r.results[0] ?? {}), ...rows];
    },
  } as unknown as D1PreparedStatement;
  realStatements.set(wrapped, stmt);
  return wrapped;
}

function meterD1(db: D1Database): D1Database {
  return {
    prepare: (query: string) => meterStatement(db.prepare(query)),
    async batch(statements: D1PreparedStatement[]) {
      const results = await db.batch(statements.map((s) => realStatements.get(s) ?? s));
      for (const r of results) countD1(r.meta);
      return results;
    },
    exec: (query: string) => db.exec(query),
    dump: () => db.dump(),
    withSession: (constraint?: string) => db.withSession(constraint),
  } as unknown as D1Database;
}

function meterNamespace(ns: DurableObjectNamespace): DurableObjectNamespace {
  const stubOf = (stub: DurableObjectStub) =>
    new Proxy(stub, {
      get(target, prop) {
        const value = Reflect.get(target, prop);
        if (typeof value !== "function" || prop === "then" || typeof prop === "symbol") return value;
        return (...args: unknown[]) => {
          add("doRequests", 1);
          // Called as a method of the real stub: RPC stubs do not accept another `this`.
          return (target as unknown as Record<string, (...a: unknown[]) => unknown>)[prop](...args);
        };
      },
    });
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (prop === "get" || prop === "getByName") return (...args: unknown[]) => stubOf((value as (...a: unknown[]) => DurableObjectStub).apply(target, args));
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

function meterQueue(queue: Queue): Queue {
  return {
    async send(body: unknown, options?: QueueSendOptions) {
      add("queueWrites", 1);
      return queue.send(body, options);
    },
    async sendBatch(messages: Iterable<MessageSendRequest>, options?: QueueSendBatchOptions) {
      const list = [...messages];
      add("queueWrites", list.length);
      return queue.sendBatch(list, options);
    },
  } as Queue;
}
