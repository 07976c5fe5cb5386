import { StateError } from '../errors.js';
import type { StateSnapshot } from '../state-store.js';
import type { SqlDatabase } from './database.js';
import type { Dialect } from './dialect.js';

/**
 * The tables a snapshot holds, parents before children (the order rows can be inserted in), with
 * their generated key. Locks are not moved: a state is moved while nobody changes it, and a
 * lock names a process of the machine it was taken on. schema_migrations is the target's own.
 */
const TABLES: readonly (readonly [string, string | null])[] = [
  ['environment', null],
  ['cloud_configs', 'version'],
  ['stemcells', 'id'],
  ['releases', 'id'],
  ['deployments', 'id'],
  ['variables', 'id'],
  ['instances', 'id'],
  ['vms', 'id'],
  ['disks', 'id'],
  ['orphaned_disks', 'id'],
  ['ip_reservations', 'id'],
  ['tasks', 'id'],
  ['task_events', 'id'],
  ['task_debug_log', 'id'],
];

/** Every row of every table, as stored (ids and times included). */
export function takeSnapshot(db: SqlDatabase, schemaVersion: number, from: string): StateSnapshot {
  return db.transaction(() => {
    const tables: Record<string, Record<string, unknown>[]> = {};
    for (const [t, key] of TABLES)
      tables[t] = db.prepare(`SELECT * FROM ${t}${key ? ` ORDER BY ${key}` : ''}`).all() as Record<string, unknown>[];
    return { format: 'director-state', schemaVersion, from, tables };
  });
}

/**
 * Writes a snapshot into an empty store of the same schema version, in one transaction, keeping
 * every id; PostgreSQL's identity counters are then moved past the ids written.
 */
export function loadSnapshot(
  db: SqlDatabase,
  dialect: Dialect,
  schemaVersion: number,
  into: string,
  snapshot: StateSnapshot,
): void {
  if (snapshot.format !== 'director-state')
    throw new StateError(`Importing into '${into}': not a director state export`);
  if (snapshot.schemaVersion !== schemaVersion) {
    throw new StateError(
      `Importing into '${into}': the export has schema version ${snapshot.schemaVersion}, this state ${schemaVersion}; use directors of the same version`,
    );
  }
  db.transaction(() => {
    for (const [t] of TABLES) {
      const { n } = db.prepare(`SELECT count(*) AS n FROM ${t}`).get() as { n: number };
      if (n > 0)
        throw new StateError(
          `Importing into '${into}': it is not empty (table ${t} has ${n} row${n === 1 ? '' : 's'})`,
        );
    }
    for (const [t, key] of TABLES) {
      for (const row of snapshot.tables[t] ?? []) {
        const cols = Object.keys(row);
        db.prepare(
          `INSERT INTO ${t} (${cols.map((c) => `"${c.replace(/"/g, '""')}"`).join(', ')}) VALUES (${cols.map(() => '?').join(', ')})`,
        ).run(...cols.map((c) => row[c]));
      }
      if (dialect === 'postgres' && key !== null) {
        db.prepare(
          `SELECT setval(pg_get_serial_sequence('${t}', '${key}'), coalesce((SELECT max(${key}) FROM ${t}), 0) + 1, false) AS v`,
        ).get();
      }
    }
  });
}
