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

/** The subset of a better-sqlite3 Database the store uses. */
export interface SqlDatabase {
  /** A prepared (and cached) statement. */
  prepare(sql: string): SqlStatement;
  exec(sql: string): void;
  /** Runs `fn` in a BEGIN IMMEDIATE transaction (a savepoint when nested). */
  transaction<T>(fn: () => T): T;
}

/** What every part of the SQLite store shares. */
export interface StoreContext {
  readonly db: SqlDatabase;
  /** Now, as ISO-8601 UTC text. */
  readonly now: () => string;
  readonly newId: () => string;
  readonly redactor: Redactor;
  readonly probe: ProcessProbe;
}

/** SQLite's extended result code of a failed statement, if `err` is one. */
export function sqliteCode(err: unknown): string | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && code.startsWith('SQLITE_') ? code : undefined;
}

export function isUniqueViolation(err: unknown): boolean {
  const code = sqliteCode(err);
  return code === 'SQLITE_CONSTRAINT_UNIQUE' || code === 'SQLITE_CONSTRAINT_PRIMARYKEY';
}

export function isForeignKeyViolation(err: unknown): boolean {
  return sqliteCode(err) === 'SQLITE_CONSTRAINT_FOREIGNKEY';
}

/** SQLite keeps booleans as 0/1. */
export function bool(v: unknown): boolean {
  return v === 1 || v === 1n;
}
