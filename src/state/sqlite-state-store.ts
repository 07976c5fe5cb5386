import { randomUUID } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  constants,
  existsSync,
  fchmodSync,
  fstatSync,
  mkdirSync,
  openSync,
  statSync,
} from 'node:fs';
import { dirname, resolve } from 'node:path';
import Database from 'better-sqlite3';
import type { Database as BetterSqliteDatabase, Statement } from 'better-sqlite3';
import { DirectorError } from '../errors.js';
import { migrate } from './migrate.js';
import { migrations as knownMigrations } from './migrations/index.js';
import type { Migration } from './migrations/migration.js';
import { systemProcessProbe, type ProcessProbe } from './process-probe.js';
import type { SqlDatabase, SqlStatement } from './sql/database.js';
import { sqlStateStore } from './sql/store.js';
import type { StateStore } from './state-store.js';

/** How to open a state file; the defaults are for production, tests inject their own. */
export interface OpenStateStoreOptions {
  /** The clock; defaults to the system clock. */
  readonly now?: () => Date;
  /** New ids (variable ids); defaults to random uuids. */
  readonly newId?: () => string;
  /** Liveness of lock holders; defaults to `kill(pid, 0)` + /proc. */
  readonly processProbe?: ProcessProbe;
  /** How long to wait for another process's write lock on the file; default 10 s. */
  readonly busyTimeoutMs?: number;
  /** The schema to migrate to; defaults to every migration this director knows. */
  readonly migrations?: readonly Migration[];
}

const FILE_MODE = 0o600;
const DIR_MODE = 0o700;

/**
 * Opens (creating if needed) the state file at `path` and migrates it. A missing folder is
 * created 0700 and the file 0600 before SQLite opens it, so no other user can ever read it;
 * SQLite gives its -wal and -shm files the file's mode. Fails with StateSchemaError when the
 * file's schema is newer than this director, and with a DirectorError naming the path when the
 * file cannot be created or is not a SQLite database.
 */
export function openStateStore(path: string, options: OpenStateStoreOptions = {}): StateStore {
  const file = resolve(path);
  prepareFile(file);
  let raw: BetterSqliteDatabase;
  try {
    raw = new Database(file, { timeout: options.busyTimeoutMs ?? 10_000 });
  } catch (err) {
    throw new DirectorError(`Opening state file '${file}'`, { cause: err });
  }
  try {
    raw.pragma('journal_mode = WAL');
    raw.pragma('synchronous = FULL'); // an intent must be on disk before the CPI call it announces
    raw.pragma('foreign_keys = ON');
    tightenSidecars(file);
    const now = options.now ?? (() => new Date());
    const db = wrapDatabase(raw);
    const version = migrate(db, options.migrations ?? knownMigrations, file, () => now().toISOString());
    const ctx = {
      db,
      now: () => now().toISOString(),
      newId: options.newId ?? randomUUID,
      probe: options.processProbe ?? systemProcessProbe(),
    };
    return sqlStateStore(file, dirname(file), 'sqlite', ctx, version, () => {
      if (raw.open) raw.close();
    });
  } catch (err) {
    raw.close();
    if (err instanceof DirectorError) throw err;
    throw new DirectorError(`Opening state file '${file}'`, { cause: err });
  }
}

function wrapDatabase(raw: BetterSqliteDatabase): SqlDatabase {
  const cache = new Map<string, Statement>();
  return {
    prepare(sql) {
      let st = cache.get(sql);
      if (st === undefined) {
        st = raw.prepare(sql);
        cache.set(sql, st);
      }
      return st as unknown as SqlStatement;
    },
    exec: (sql) => {
      raw.exec(sql);
    },
    transaction: (fn) => raw.transaction(fn).immediate(),
  };
}

/** Creates the folder (0700) and the file (0600) before SQLite touches them. */
function prepareFile(file: string): void {
  const dir = dirname(file);
  try {
    if (!existsSync(dir)) {
      mkdirSync(dir, { recursive: true, mode: DIR_MODE });
      chmodSync(dir, DIR_MODE); // the mode above is subject to the umask
    }
    const fd = openSync(file, constants.O_RDWR | constants.O_CREAT, FILE_MODE);
    try {
      if ((fstatSync(fd).mode & 0o777) !== FILE_MODE) fchmodSync(fd, FILE_MODE);
    } finally {
      closeSync(fd);
    }
  } catch (err) {
    throw new DirectorError(`Creating state file '${file}'`, { cause: err });
  }
}

/** SQLite copies the database's mode to its -wal/-shm files; make sure of it. */
function tightenSidecars(file: string): void {
  for (const suffix of ['-wal', '-shm', '-journal']) {
    const p = file + suffix;
    if (existsSync(p) && (statSync(p).mode & 0o777) !== FILE_MODE) chmodSync(p, FILE_MODE);
  }
}
