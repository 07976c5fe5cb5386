import { StateError } from '../errors.js';
import { fromJsonColumn, jsonSchemas, toJsonColumn } from '../json.js';
import type { DeploymentRecord, VariableRecord } from '../records.js';
import { stringsIn } from '../redactor.js';
import type { DeploymentState, VariableState } from '../state-store.js';
import type { StoreContext } from './database.js';

interface DeploymentRow {
  readonly id: number;
  readonly name: string;
  readonly manifest: string | null;
  readonly cloud_config_version: number | null;
  readonly created_at: string;
  readonly updated_at: string;
}

const deployment = (r: DeploymentRow): DeploymentRecord => ({
  name: r.name,
  manifest: r.manifest,
  cloudConfigVersion: r.cloud_config_version,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

/** The row id of a deployment; StateError naming it when there is none. */
export function deploymentId(ctx: StoreContext, name: string): number {
  const row = ctx.db.prepare('SELECT id FROM deployments WHERE name = ?').get(name) as { id: number } | undefined;
  if (row === undefined) throw new StateError(`Deployment '${name}' is not recorded`);
  return row.id;
}

export function deploymentState(ctx: StoreContext): DeploymentState {
  const { db } = ctx;
  const get = (name: string): DeploymentRecord | undefined => {
    const row = db.prepare('SELECT * FROM deployments WHERE name = ?').get(name) as DeploymentRow | undefined;
    return row && deployment(row);
  };
  return {
    ensure(name) {
      return db.transaction(() => {
        const at = ctx.now();
        db.prepare(
          'INSERT INTO deployments (name, created_at, updated_at) VALUES (?, ?, ?) ON CONFLICT (name) DO NOTHING',
        ).run(name, at, at);
        return get(name) as DeploymentRecord;
      });
    },
    get,
    list() {
      return (db.prepare('SELECT * FROM deployments ORDER BY name').all() as DeploymentRow[]).map(deployment);
    },
    recordDeployed(name, manifest, cloudConfigVersion) {
      return db.transaction(() => {
        const id = deploymentId(ctx, name);
        if (
          cloudConfigVersion !== null &&
          db.prepare('SELECT 1 FROM cloud_configs WHERE version = ?').get(cloudConfigVersion) === undefined
        ) {
          throw new StateError(
            `Recording deployment '${name}': cloud-config version ${cloudConfigVersion} is not recorded`,
          );
        }
        db.prepare('UPDATE deployments SET manifest = ?, cloud_config_version = ?, updated_at = ? WHERE id = ?').run(
          manifest,
          cloudConfigVersion,
          ctx.now(),
          id,
        );
        return get(name) as DeploymentRecord;
      });
    },
    delete(name) {
      return db.transaction(() => {
        const row = db.prepare('SELECT id FROM deployments WHERE name = ?').get(name) as { id: number } | undefined;
        if (row === undefined) return false;
        const { n } = db.prepare('SELECT count(*) AS n FROM instances WHERE deployment_id = ?').get(row.id) as {
          n: number;
        };
        if (n > 0) {
          throw new StateError(
            `Deleting deployment '${name}': ${n} instance${n === 1 ? ' is' : 's are'} still recorded for it`,
          );
        }
        db.prepare('DELETE FROM deployments WHERE id = ?').run(row.id);
        return true;
      });
    },
  };
}

interface VariableRow {
  readonly deployment: string;
  readonly name: string;
  readonly variable_id: string;
  readonly value_json: string;
  readonly created_at: string;
  readonly updated_at: string;
}

export function variableState(ctx: StoreContext): VariableState {
  const { db } = ctx;
  const variable = (r: VariableRow): VariableRecord => {
    const value = fromJsonColumn(
      jsonSchemas.value,
      r.value_json,
      `variable '${r.name}' of deployment '${r.deployment}'`,
    );
    ctx.redactor.add(stringsIn(value));
    return {
      deployment: r.deployment,
      name: r.name,
      id: r.variable_id,
      value,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
    };
  };
  const select = `SELECT d.name AS deployment, v.name, v.variable_id, v.value_json, v.created_at, v.updated_at
    FROM variables v JOIN deployments d ON d.id = v.deployment_id`;
  const get = (dep: string, name: string): VariableRecord | undefined => {
    const row = db.prepare(`${select} WHERE d.name = ? AND v.name = ?`).get(dep, name) as VariableRow | undefined;
    return row && variable(row);
  };
  return {
    put(dep, name, value, id) {
      ctx.redactor.add(stringsIn(value));
      const json = toJsonColumn(jsonSchemas.value, value, `variable '${name}' of deployment '${dep}'`);
      return db.transaction(() => {
        const depId = deploymentId(ctx, dep);
        const cur = db
          .prepare('SELECT variable_id, value_json FROM variables WHERE deployment_id = ? AND name = ?')
          .get(depId, name) as { variable_id: string; value_json: string } | undefined;
        const at = ctx.now();
        if (cur === undefined) {
          db.prepare(
            'INSERT INTO variables (deployment_id, name, variable_id, value_json, created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?)',
          ).run(depId, name, id ?? ctx.newId(), json, at, at);
        } else if (cur.value_json !== json || (id !== undefined && id !== cur.variable_id)) {
          db.prepare(
            'UPDATE variables SET variable_id = ?, value_json = ?, updated_at = ? WHERE deployment_id = ? AND name = ?',
          ).run(id ?? ctx.newId(), json, at, depId, name);
        }
        return get(dep, name) as VariableRecord;
      });
    },
    get,
    list(dep) {
      return (db.prepare(`${select} WHERE d.name = ? ORDER BY v.name`).all(dep) as VariableRow[]).map(variable);
    },
    delete(dep, name) {
      return (
        db
          .prepare(
            'DELETE FROM variables WHERE deployment_id = (SELECT id FROM deployments WHERE name = ?) AND name = ?',
          )
          .run(dep, name).changes > 0
      );
    },
  };
}
