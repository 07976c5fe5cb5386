import { StateSchemaError } from './errors.js';
import type { Migration } from './migrations/migration.js';
import type { SqlDatabase } from './sql/database.js';

interface AppliedRow {
  readonly version: number;
  readonly name: string;
}

/**
 * Brings the schema of `db` up to the last of `migrations`, each migration in its own
 * transaction, recorded in `schema_migrations`. Applying is idempotent: a migration already
 * recorded is skipped, and two processes migrating at once serialize on the write lock. A file
 * whose schema is newer than this binary, or whose history names a different migration, is
 * refused with StateSchemaError. Returns the schema version.
 */
export function migrate(db: SqlDatabase, migrations: readonly Migration[], file: string, now: () => string): number {
  checkOrder(migrations);
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version     INTEGER PRIMARY KEY,
    name        TEXT NOT NULL,
    applied_at  TEXT NOT NULL
  )`);
  const known = migrations.at(-1)?.version ?? 0;
  for (const m of migrations) {
    db.transaction(() => {
      const applied = appliedMigrations(db);
      refuseUnknown(applied, migrations, known, file);
      if (applied.some((a) => a.version === m.version)) return;
      db.exec(m.sql);
      db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)').run(
        m.version,
        m.name,
        now(),
      );
    });
  }
  const applied = appliedMigrations(db);
  refuseUnknown(applied, migrations, known, file);
  return applied.at(-1)?.version ?? 0;
}

function appliedMigrations(db: SqlDatabase): readonly AppliedRow[] {
  return db.prepare('SELECT version, name FROM schema_migrations ORDER BY version').all() as AppliedRow[];
}

function refuseUnknown(
  applied: readonly AppliedRow[],
  migrations: readonly Migration[],
  known: number,
  file: string,
): void {
  const newest = applied.at(-1);
  if (newest !== undefined && newest.version > known) {
    throw new StateSchemaError(
      `State file '${file}' has schema version ${newest.version} (${newest.name}), newer than this director supports (${known}): use a newer director`,
    );
  }
  for (const a of applied) {
    const mine = migrations.find((m) => m.version === a.version);
    if (mine === undefined || mine.name !== a.name) {
      throw new StateSchemaError(
        `State file '${file}' records migration ${a.version} '${a.name}', which this director does not know (expected '${mine?.name ?? 'none'}')`,
      );
    }
  }
}

function checkOrder(migrations: readonly Migration[]): void {
  migrations.forEach((m, i) => {
    if (m.version !== i + 1)
      throw new StateSchemaError(
        `Migration list is out of order at '${m.name}': expected version ${i + 1}, got ${m.version}`,
      );
  });
}
