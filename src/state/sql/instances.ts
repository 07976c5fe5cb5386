import { canonicalJson, jsonSha256 } from '../canonical-json.js';
import { StateConflictError, StateError } from '../errors.js';
import { fromJsonColumn, jsonSchemas, toJsonColumn } from '../json.js';
import type { InstanceRecord, InstanceState } from '../records.js';
import type { InstanceStateStore } from '../state-store.js';
import { bool, isUniqueViolation, type StoreContext } from './database.js';
import { deploymentId } from './deployments.js';

interface InstanceRow {
  readonly deployment: string;
  readonly group_name: string;
  readonly idx: number;
  readonly uuid: string;
  readonly az: string | null;
  readonly bootstrap: number;
  readonly state: InstanceState;
  readonly desired_spec_json: string | null;
  readonly applied_spec_json: string | null;
  readonly applied_spec_sha: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

const SELECT = `SELECT d.name AS deployment, i.* FROM instances i JOIN deployments d ON d.id = i.deployment_id`;

const instance = (r: InstanceRow): InstanceRecord => {
  const what = `the spec of instance '${r.group_name}/${r.uuid}'`;
  return {
    deployment: r.deployment,
    group: r.group_name,
    index: r.idx,
    uuid: r.uuid,
    az: r.az,
    bootstrap: bool(r.bootstrap),
    state: r.state,
    desiredSpec:
      r.desired_spec_json === null ? null : fromJsonColumn(jsonSchemas.object, r.desired_spec_json, `desired ${what}`),
    appliedSpec:
      r.applied_spec_json === null ? null : fromJsonColumn(jsonSchemas.object, r.applied_spec_json, `applied ${what}`),
    appliedSpecSha: r.applied_spec_sha,
    createdAt: r.created_at,
    updatedAt: r.updated_at,
  };
};

/** The row id of an instance; StateError naming it when there is none. */
export function instanceId(ctx: StoreContext, uuid: string): number {
  const row = ctx.db.prepare('SELECT id FROM instances WHERE uuid = ?').get(uuid) as { id: number } | undefined;
  if (row === undefined) throw new StateError(`Instance '${uuid}' is not recorded`);
  return row.id;
}

export function instanceState(ctx: StoreContext): InstanceStateStore {
  const { db } = ctx;
  const get = (uuid: string): InstanceRecord | undefined => {
    const row = db.prepare(`${SELECT} WHERE i.uuid = ?`).get(uuid) as InstanceRow | undefined;
    return row && instance(row);
  };
  const mustGet = (uuid: string): InstanceRecord => {
    const found = get(uuid);
    if (found === undefined) throw new StateError(`Instance '${uuid}' is not recorded`);
    return found;
  };
  const uniqueGuard = <T>(what: string, fn: () => T): T => {
    try {
      return fn();
    } catch (err) {
      if (isUniqueViolation(err)) throw new StateConflictError(what, { cause: err });
      throw err;
    }
  };

  return {
    create(i) {
      return db.transaction(() => {
        const depId = deploymentId(ctx, i.deployment);
        const at = ctx.now();
        uniqueGuard(
          `Instance '${i.group}/${i.index}' (uuid '${i.uuid}') of deployment '${i.deployment}' is already recorded`,
          () =>
            db
              .prepare(
                `INSERT INTO instances (deployment_id, group_name, idx, uuid, az, bootstrap, state, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
              )
              .run(depId, i.group, i.index, i.uuid, i.az, i.bootstrap ? 1 : 0, i.state, at, at),
        );
        return mustGet(i.uuid);
      });
    },
    get,
    list(dep) {
      return (db.prepare(`${SELECT} WHERE d.name = ? ORDER BY i.group_name, i.idx`).all(dep) as InstanceRow[]).map(
        instance,
      );
    },
    update(uuid, patch) {
      return db.transaction(() => {
        const cur = mustGet(uuid);
        const index = patch.index ?? cur.index;
        uniqueGuard(`Instance index ${cur.group}/${index} of deployment '${cur.deployment}' is already taken`, () =>
          db
            .prepare('UPDATE instances SET az = ?, bootstrap = ?, idx = ?, state = ?, updated_at = ? WHERE uuid = ?')
            .run(
              patch.az === undefined ? cur.az : patch.az,
              (patch.bootstrap ?? cur.bootstrap) ? 1 : 0,
              index,
              patch.state ?? cur.state,
              ctx.now(),
              uuid,
            ),
        );
        return mustGet(uuid);
      });
    },
    setDesiredSpec(uuid, spec) {
      return db.transaction(() => {
        mustGet(uuid);
        const json =
          spec === null ? null : toJsonColumn(jsonSchemas.object, spec, `the desired spec of instance '${uuid}'`);
        db.prepare('UPDATE instances SET desired_spec_json = ?, updated_at = ? WHERE uuid = ?').run(
          json,
          ctx.now(),
          uuid,
        );
        return mustGet(uuid);
      });
    },
    setAppliedSpec(uuid, spec) {
      return db.transaction(() => {
        mustGet(uuid);
        let json: string | null = null;
        let sha: string | null = null;
        if (spec !== null) {
          toJsonColumn(jsonSchemas.object, spec, `the applied spec of instance '${uuid}'`);
          json = canonicalJson(spec);
          sha = jsonSha256(spec);
        }
        db.prepare(
          'UPDATE instances SET applied_spec_json = ?, applied_spec_sha = ?, updated_at = ? WHERE uuid = ?',
        ).run(json, sha, ctx.now(), uuid);
        return mustGet(uuid);
      });
    },
    delete(uuid) {
      return db.transaction(() => {
        const cur = get(uuid);
        if (cur === undefined) return false;
        const id = instanceId(ctx, uuid);
        const vms = (db.prepare('SELECT count(*) AS n FROM vms WHERE instance_id = ?').get(id) as { n: number }).n;
        const disks = (
          db.prepare("SELECT count(*) AS n FROM disks WHERE instance_id = ? AND state <> 'orphaned'").get(id) as {
            n: number;
          }
        ).n;
        if (vms > 0 || disks > 0) {
          throw new StateError(
            `Deleting instance '${cur.group}/${uuid}': ${vms} VM(s) and ${disks} disk(s) are still recorded for it`,
          );
        }
        db.prepare('DELETE FROM instances WHERE id = ?').run(id);
        return true;
      });
    },
  };
}
