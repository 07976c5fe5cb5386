import { StateConflictError, StateError } from '../errors.js';
import { fromJsonColumn, jsonSchemas, toJsonColumn } from '../json.js';
import type { DiskRecord, DiskState, OrphanedDiskRecord } from '../records.js';
import type { DiskStateStore } from '../state-store.js';
import { bool, isUniqueViolation, type StoreContext } from './database.js';
import { instanceId } from './instances.js';

interface DiskRow {
  readonly id: number;
  readonly cid: string | null;
  readonly instance: string | null;
  readonly deployment: string | null;
  readonly size_mb: number;
  readonly cloud_properties_json: string;
  readonly state: DiskState;
  readonly active: number;
  readonly created_at: string;
  readonly updated_at: string;
}

interface OrphanRow {
  readonly cid: string;
  readonly deployment: string;
  readonly instance: string;
  readonly az: string | null;
  readonly size_mb: number;
  readonly cloud_properties_json: string;
  readonly orphaned_at: string;
}

const SELECT = `SELECT k.*, i.uuid AS instance, d.name AS deployment FROM disks k
  LEFT JOIN instances i ON i.id = k.instance_id LEFT JOIN deployments d ON d.id = i.deployment_id`;

const disk = (r: DiskRow): DiskRecord => ({
  id: r.id,
  cid: r.cid,
  instance: r.instance,
  deployment: r.deployment,
  sizeMb: r.size_mb,
  cloudProperties: fromJsonColumn(
    jsonSchemas.object,
    r.cloud_properties_json,
    `the cloud properties of disk ${r.cid ?? `#${r.id}`}`,
  ),
  state: r.state,
  active: bool(r.active),
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

const orphan = (r: OrphanRow): OrphanedDiskRecord => ({
  cid: r.cid,
  deployment: r.deployment,
  instance: r.instance,
  az: r.az,
  sizeMb: r.size_mb,
  cloudProperties: fromJsonColumn(
    jsonSchemas.object,
    r.cloud_properties_json,
    `the cloud properties of orphaned disk '${r.cid}'`,
  ),
  orphanedAt: r.orphaned_at,
});

export function diskState(ctx: StoreContext): DiskStateStore {
  const { db } = ctx;
  const byId = (id: number): DiskRecord | undefined => {
    const row = db.prepare(`${SELECT} WHERE k.id = ?`).get(id) as DiskRow | undefined;
    return row && disk(row);
  };
  const byCid = (cid: string): DiskRecord | undefined => {
    const row = db.prepare(`${SELECT} WHERE k.cid = ?`).get(cid) as DiskRow | undefined;
    return row && disk(row);
  };
  const live = (cid: string, doing: string): DiskRecord => {
    const cur = byCid(cid);
    if (cur === undefined) throw new StateError(`${doing} disk '${cid}': it is not recorded`);
    if (cur.state === 'orphaned') throw new StateError(`${doing} disk '${cid}': it is orphaned`);
    return cur;
  };
  const setState = (cid: string, state: DiskState, doing: string): DiskRecord =>
    db.transaction(() => {
      live(cid, doing);
      db.prepare('UPDATE disks SET state = ?, updated_at = ? WHERE cid = ?').run(state, ctx.now(), cid);
      return byCid(cid) as DiskRecord;
    });

  return {
    recordIntent(intent) {
      const props = toJsonColumn(jsonSchemas.object, intent.cloudProperties, 'the cloud properties of a disk');
      if (!Number.isInteger(intent.sizeMb) || intent.sizeMb <= 0) {
        throw new StateError(
          `Recording a disk for instance '${intent.instance}': size must be a positive number of MB, got ${intent.sizeMb}`,
        );
      }
      return db.transaction(() => {
        const instId = instanceId(ctx, intent.instance);
        const at = ctx.now();
        const r = db
          .prepare(
            `INSERT INTO disks (cid, instance_id, size_mb, cloud_properties_json, state, active, created_at, updated_at)
             VALUES (NULL, ?, ?, ?, 'intent', 0, ?, ?)`,
          )
          .run(instId, intent.sizeMb, props, at, at);
        return byId(Number(r.lastInsertRowid)) as DiskRecord;
      });
    },
    complete(id, cid) {
      return db.transaction(() => {
        const cur = byId(id);
        if (cur === undefined || cur.state !== 'intent') {
          throw new StateError(
            `Completing disk '${cid}': no disk intent #${id} is recorded${cur ? ` (it is ${cur.state})` : ''}`,
          );
        }
        try {
          db.prepare("UPDATE disks SET cid = ?, state = 'detached', updated_at = ? WHERE id = ?").run(
            cid,
            ctx.now(),
            id,
          );
        } catch (err) {
          if (isUniqueViolation(err))
            throw new StateConflictError(`Completing disk '${cid}': a disk with that cid is already recorded`, {
              cause: err,
            });
          throw err;
        }
        return byId(id) as DiskRecord;
      });
    },
    fail(id) {
      const r = db.prepare("DELETE FROM disks WHERE id = ? AND state = 'intent'").run(id);
      if (r.changes === 0) throw new StateError(`No disk intent #${id} is recorded`);
    },
    markAttached: (cid) => setState(cid, 'attached', 'Attaching'),
    markDetached: (cid) => setState(cid, 'detached', 'Detaching'),
    activate(cid) {
      return db.transaction(() => {
        const cur = live(cid, 'Activating');
        if (cur.state === 'intent') throw new StateError(`Activating disk '${cid}': it is only an intent`);
        db.prepare(
          'UPDATE disks SET active = 0, updated_at = ? WHERE instance_id = (SELECT instance_id FROM disks WHERE cid = ?) AND cid <> ? AND active = 1',
        ).run(ctx.now(), cid, cid);
        db.prepare('UPDATE disks SET active = 1, updated_at = ? WHERE cid = ?').run(ctx.now(), cid);
        return byCid(cid) as DiskRecord;
      });
    },
    orphan(cid) {
      return db.transaction(() => {
        const cur = live(cid, 'Orphaning');
        if (cur.state !== 'detached' || cur.instance === null || cur.deployment === null) {
          throw new StateError(
            `Orphaning disk '${cid}': it must be detached from an instance first (it is ${cur.state})`,
          );
        }
        const inst = db.prepare('SELECT group_name, uuid, az FROM instances WHERE uuid = ?').get(cur.instance) as {
          group_name: string;
          uuid: string;
          az: string | null;
        };
        const at = ctx.now();
        db.prepare(
          "UPDATE disks SET state = 'orphaned', active = 0, instance_id = NULL, updated_at = ? WHERE cid = ?",
        ).run(at, cid);
        db.prepare(
          `INSERT INTO orphaned_disks (cid, deployment, instance, az, size_mb, cloud_properties_json, orphaned_at)
           VALUES (?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          cid,
          cur.deployment,
          `${inst.group_name}/${inst.uuid}`,
          inst.az,
          cur.sizeMb,
          toJsonColumn(jsonSchemas.object, cur.cloudProperties, 'cloud properties'),
          at,
        );
        return orphan(db.prepare('SELECT * FROM orphaned_disks WHERE cid = ?').get(cid) as OrphanRow);
      });
    },
    listOrphaned() {
      return (db.prepare('SELECT * FROM orphaned_disks ORDER BY id').all() as OrphanRow[]).map(orphan);
    },
    remove(cid) {
      return db.transaction(() => {
        const orphans = db.prepare('DELETE FROM orphaned_disks WHERE cid = ?').run(cid).changes;
        const disks = db.prepare('DELETE FROM disks WHERE cid = ?').run(cid).changes;
        return orphans + disks > 0;
      });
    },
    get: byCid,
    getById: byId,
    listByInstance(uuid) {
      return (db.prepare(`${SELECT} WHERE i.uuid = ? ORDER BY k.id`).all(uuid) as DiskRow[]).map(disk);
    },
    listIncomplete() {
      return (db.prepare(`${SELECT} WHERE k.state = 'intent' ORDER BY k.id`).all() as DiskRow[]).map(disk);
    },
  };
}
