import { randomUUID } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DirectorError } from '../errors.js';
import { migrate } from './migrate.js';
import { migrations as knownMigrations } from './migrations/index.js';
import { MIGRATE_KEY, postgresDatabase } from './postgres/pg-database.js';
import type { PgSetup } from './postgres/pg-protocol.js';
import { systemProcessProbe } from './process-probe.js';
import { POSTGRES_PRELUDE } from './sql/dialect.js';
import { sqlStateStore } from './sql/store.js';
import type { OpenStateStoreOptions } from './sqlite-state-store.js';
import type { StateStore } from './state-store.js';
import { SyncWorker } from './sync-worker.js';

/** How to open a PostgreSQL state; the SQLite options apply too (busyTimeoutMs aside). */
export interface OpenPostgresStateOptions extends OpenStateStoreOptions {
  /**
   * The password when the URL has none (from $PGPASSWORD or a password file, read by the
   * caller). Without either, ~/.pgpass ($PGPASSFILE) is consulted as libpq does.
   */
  readonly password?: string;
  /** How long to wait for the server's answer to one call; default 120 s. */
  readonly timeoutMs?: number;
  /** The store's `localDir`: where this machine keeps the environment's files. */
  readonly localDir?: string;
}

/** Whether `location` names a PostgreSQL database rather than a state file. */
export function isPostgresUrl(location: string): boolean {
  return /^postgres(ql)?:\/\//i.test(location);
}

/** A folder name for the database `url` names: host, port and database. */
export function localName(url: URL): string {
  return `${url.hostname}-${url.port || '5432'}-${url.pathname.slice(1)}`.replace(/[^A-Za-z0-9._-]/g, '_');
}

/** The URL without its password, as it may be printed. */
export function displayUrl(url: string): string {
  try {
    const u = new URL(url);
    u.password = '';
    return u.toString();
  } catch {
    return url.replace(/\/\/[^@/]*@/, '//…@');
  }
}

/**
 * Opens the state kept in the PostgreSQL database `url` names (`postgres://user@host:5432/db`)
 * and migrates it with the same migrations as a state file. One connection serves the store (in
 * a worker thread, see sync-worker.ts): its transactions and the session advisory locks behind
 * the lock table live on it, and end with it. Fails with a DirectorError naming the URL without
 * its password when the database cannot be reached, and with StateSchemaError as a state file.
 */
export function openPostgresStateStore(url: string, options: OpenPostgresStateOptions = {}): StateStore {
  const shown = displayUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new DirectorError(`State URL '${shown}' is not a valid URL (expected postgres://user@host:5432/database)`);
  }
  if (parsed.pathname.length <= 1)
    throw new DirectorError(`State URL '${shown}' names no database (expected postgres://user@host:5432/database)`);
  const password = parsed.password !== '' ? decodeURIComponent(parsed.password) : options.password;
  const setup: PgSetup = {
    config: {
      connectionString: url,
      ...(password !== undefined ? { password } : {}),
      application_name: 'director',
      connectionTimeoutMillis: 15_000,
    },
  };
  const worker = new SyncWorker(
    new URL('./postgres/pg-worker.js', import.meta.url),
    setup,
    `PostgreSQL state '${shown}'`,
    options.timeoutMs,
  );
  try {
    worker.call({ op: 'connect' });
    const db = postgresDatabase(worker);
    const now = options.now ?? (() => new Date());
    // Two directors opening one database at once migrate one after the other.
    worker.call({ op: 'exec', text: `SELECT pg_advisory_lock(${MIGRATE_KEY})` });
    let version: number;
    try {
      worker.call({ op: 'exec', text: POSTGRES_PRELUDE });
      version = migrate(db, options.migrations ?? knownMigrations, shown, () => now().toISOString());
    } finally {
      worker.call({ op: 'exec', text: `SELECT pg_advisory_unlock(${MIGRATE_KEY})` });
    }
    const ctx = {
      db,
      lockBacking: db.lockBacking,
      now: () => now().toISOString(),
      newId: options.newId ?? randomUUID,
      probe: options.processProbe ?? systemProcessProbe(),
    };
    const localDir = options.localDir ?? join(tmpdir(), 'director-state', localName(parsed));
    return sqlStateStore(shown, localDir, 'postgres', ctx, version, () => {
      try {
        worker.call({ op: 'close' });
      } catch {
        // the connection is gone already; the worker goes with it
      }
      worker.close();
    });
  } catch (err) {
    worker.close();
    if (err instanceof DirectorError) throw err;
    throw new DirectorError(`Opening state database '${shown}'`, { cause: err });
  }
}
