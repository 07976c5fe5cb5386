import type { ProcessProbe } from '../process-probe.js';
import type { Redactor } from '../redactor.js';

/** The result of a write statement. */
export interface RunResult {
  readonly changes: number;
  readonly lastInsertRowid: number | bigint;
}

/** A prepared statement: the subset of better-sqlite3's Statement the store uses. */
export interface SqlStatement {
  run(...params: readonly unknown[]): RunResult;
  get(...params: readonly unknown[]): unknown;
  all(...params: readonly unknown[]): unknown[];
}

/**
 * The subset of a better-sqlite3 Database the store uses; the PostgreSQL store gives the same
 * shape over its connection (postgres/pg-database.ts). SQL texts are SQLite's, in the subset
 * both dialects share (see dialect.ts).
 */
export interface SqlDatabase {
  /** A prepared (and cached) statement. */
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  /** Runs `fn` in a BEGIN IMMEDIATE transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): T;
}

/**
 * What backs a lock row beyond the row itself. PostgreSQL's store holds a session advisory lock
 * per lock it holds, so a holder whose session ended is known to be gone on any machine; SQLite's
 * store has none and asks the process probe (same host only).
 */
export interface LockBacking {
  /** Whether this store (this process's session) holds `name`. */
  heldHere(name: string): boolean;
  /** Takes the session lock of `name` if no session holds it; whether this session now does. */
  take(name: string): boolean;
  /** Gives the session lock back (after the current transaction commits). */
  release(name: string): void;
}

/** What every part of the store shares. */
export interface StoreContext {
  readonly db: SqlDatabase;
  readonly lockBacking?: LockBacking;
  /** Now, as ISO-8601 UTC text. */
  readonly now: () => string;
  readonly newId: () => string;
  readonly redactor: Redactor;
  readonly probe: ProcessProbe;
}

/** SQLite's extended result code or PostgreSQL's SQLSTATE of a failed statement. */
export function sqlCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

/** SQLITE_CONSTRAINT_UNIQUE/PRIMARYKEY, or PostgreSQL's unique_violation (23505). */
export function isUniqueViolation(err: unknown): boolean {
  const code = sqlCode(err);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY' || code === '23505';
}

/** SQLITE_CONSTRAINT_FOREIGNKEY, or PostgreSQL's foreign_key_violation (23503). */
export function isForeignKeyViolation(err: unknown): boolean {
  const code = sqlCode(err);
  return code === 'SQLITE_CONSTRAINT_FOREIGNKEY' || code === '23503';
}

/** Booleans are kept as 0/1 in both dialects. */
export function bool(v: unknown): boolean {
  return v === 1 || v === 1n;
}
