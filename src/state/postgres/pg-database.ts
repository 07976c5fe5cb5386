import { createHash } from 'node:crypto';
import type { SyncWorker } from '../sync-worker.js';
import type { LockBacking, SqlDatabase, SqlStatement } from '../sql/database.js';
import { toPostgresDdl, toPostgresQuery } from '../sql/dialect.js';
import type { PgResult } from './pg-protocol.js';

/**
 * Advisory lock keys of the store (any 64-bit numbers; these spell "dir-wrt" and "dir-mig").
 * Every write transaction takes WRITE_KEY first, so PostgreSQL's writers take turns exactly as
 * SQLite's BEGIN IMMEDIATE makes them: a read-then-write (is the lock free? then take it) in one
 * transaction is never interleaved with another director's.
 */
const WRITE_KEY = '28263436781056628';
export const MIGRATE_KEY = '28263436780398951';

/** The SqlDatabase of the store on one PostgreSQL connection (held by `worker`). */
export function postgresDatabase(worker: SyncWorker): SqlDatabase & { readonly lockBacking: LockBacking } {
  const texts = new Map<string, { text: string; returnsKey: boolean; name: string }>();
  let depth = 0;
  let afterCommit: (() => void)[] = [];
  let afterRollback: (() => void)[] = [];

  const exec = (text: string): void => {
    worker.call({ op: 'exec', text });
  };
  const query = (sql: string, params: readonly unknown[]): PgResult & { returnsKey: boolean } => {
    let q = texts.get(sql);
    if (q === undefined) {
      q = { ...toPostgresQuery(sql), name: `director_${texts.size + 1}` };
      texts.set(sql, q);
    }
    const values = params.map((v) => (v === undefined ? null : typeof v === 'bigint' ? Number(v) : v));
    const r = worker.call<PgResult>({ op: 'query', text: q.text, values, name: q.name, savepoint: depth > 0 });
    return { ...r, returnsKey: q.returnsKey };
  };
  const statement = (sql: string): SqlStatement => ({
    run: (...params) => {
      const r = query(sql, params);
      const first = r.rows[0];
      const key = r.returnsKey && first !== undefined ? Object.values(first)[0] : 0;
      return { changes: r.rowCount, lastInsertRowid: typeof key === 'number' ? key : Number(key) };
    },
    get: (...params) => query(sql, params).rows[0],
    all: (...params) => query(sql, params).rows,
  });

  const transaction = <T>(fn: () => T): T => {
    if (depth === 0) exec(`BEGIN; SELECT pg_advisory_xact_lock(${WRITE_KEY})`);
    else exec(`SAVEPOINT director_tx_${depth}`);
    depth++;
    let value: T;
    try {
      value = fn();
      if (value instanceof Promise) throw new TypeError('Transaction function cannot return a promise');
    } catch (err) {
      depth--;
      if (depth === 0) {
        const hooks = afterRollback;
        afterCommit = [];
        afterRollback = [];
        exec('ROLLBACK');
        for (const h of hooks) h();
      } else {
        exec(`ROLLBACK TO SAVEPOINT director_tx_${depth}; RELEASE SAVEPOINT director_tx_${depth}`);
      }
      throw err;
    }
    depth--;
    if (depth > 0) {
      exec(`RELEASE SAVEPOINT director_tx_${depth}`);
      return value;
    }
    exec('COMMIT');
    const hooks = afterCommit;
    afterCommit = [];
    afterRollback = [];
    for (const h of hooks) h();
    return value;
  };

  // Session advisory locks back the lock table's rows: a director holds the one of each lock it
  // holds for as long as its connection lives, so when it dies (kill -9, a lost network) the
  // server ends its session and the lock is visibly free.
  const held = new Set<string>();
  const lockKey = (name: string): string =>
    BigInt.asIntN(
      64,
      BigInt(`0x${createHash('sha256').update(`director-lock:${name}`).digest('hex').slice(0, 16)}`),
    ).toString();
  const unlock = (name: string): void => {
    if (held.delete(name)) statement('SELECT pg_advisory_unlock(?::bigint) AS done').get(lockKey(name));
  };
  const lockBacking: LockBacking = {
    heldHere: (name) => held.has(name),
    take(name) {
      if (held.has(name)) return true;
      const row = statement('SELECT pg_try_advisory_lock(?::bigint) AS got').get(lockKey(name)) as { got: boolean };
      if (!row.got) return false;
      held.add(name);
      // Session locks outlive a rolled-back transaction; one taken for a row that was never
      // written is given back.
      if (depth > 0) afterRollback.push(() => unlock(name));
      return true;
    },
    release(name) {
      if (depth > 0) afterCommit.push(() => unlock(name));
      else unlock(name);
    },
  };

  return {
    prepare: statement,
    exec: (sql) => exec(toPostgresDdl(sql)),
    transaction,
    lockBacking,
  };
}
