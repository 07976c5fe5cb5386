import { StateConflictError, StateError } from '../errors.js';
import { fromJsonColumn, jsonSchemas, toJsonColumn } from '../json.js';
import type { VmRecord, VmState } from '../records.js';
import type { VmStateStore } from '../state-store.js';
import { isUniqueViolation, type StoreContext } from './database.js';
import { instanceId } from './instances.js';

interface VmRow {
  readonly agent_id: string;
  readonly cid: string | null;
  readonly instance: string | null;
  readonly deployment: string | null;
  readonly stemcell_cid: string | null;
  readonly ips_json: string;
  readonly cloud_properties_json: string;
  readonly state: VmState;
  readonly host_public_key: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

const SELECT = `SELECT v.*, i.uuid AS instance, d.name AS deployment FROM vms v
  LEFT JOIN instances i ON i.id = v.instance_id LEFT JOIN deployments d ON d.id = i.deployment_id`;

const vm = (r: VmRow): VmRecord => ({
  agentId: r.agent_id,
  cid: r.cid,
  instance: r.instance,
  deployment: r.deployment,
  stemcellCid: r.stemcell_cid,
  ips: fromJsonColumn(jsonSchemas.strings, r.ips_json, `the IPs of VM '${r.agent_id}'`),
  cloudProperties: fromJsonColumn(
    jsonSchemas.object,
    r.cloud_properties_json,
    `the cloud properties of VM '${r.agent_id}'`,
  ),
  state: r.state,
  hostPublicKey: r.host_public_key,
  createdAt: r.created_at,
  updatedAt: r.updated_at,
});

export function vmState(ctx: StoreContext): VmStateStore {
  const { db } = ctx;
  const byAgent = (agentId: string): VmRecord | undefined => {
    const row = db.prepare(`${SELECT} WHERE v.agent_id = ?`).get(agentId) as VmRow | undefined;
    return row && vm(row);
  };
  const byCid = (cid: string): VmRecord | undefined => {
    const row = db.prepare(`${SELECT} WHERE v.cid = ?`).get(cid) as VmRow | undefined;
    return row && vm(row);
  };
  const many = (where: string, ...params: unknown[]): VmRecord[] =>
    (db.prepare(`${SELECT} ${where} ORDER BY v.id`).all(...params) as VmRow[]).map(vm);

  return {
    recordIntent(intent) {
      const what = `VM with agent id '${intent.agentId}'`;
      const ips = toJsonColumn(jsonSchemas.strings, intent.ips, `the IPs of ${what}`);
      const props = toJsonColumn(jsonSchemas.object, intent.cloudProperties, `the cloud properties of ${what}`);
      return db.transaction(() => {
        const instId = intent.instance === null ? null : instanceId(ctx, intent.instance);
        const at = ctx.now();
        try {
          db.prepare(
            `INSERT INTO vms (agent_id, cid, instance_id, stemcell_cid, ips_json, cloud_properties_json, state, host_public_key, created_at, updated_at)
             VALUES (?, NULL, ?, ?, ?, ?, 'intent', ?, ?, ?)`,
          ).run(intent.agentId, instId, intent.stemcellCid, ips, props, intent.hostPublicKey, at, at);
        } catch (err) {
          if (isUniqueViolation(err)) throw new StateConflictError(`A ${what} is already recorded`, { cause: err });
          throw err;
        }
        return byAgent(intent.agentId) as VmRecord;
      });
    },
    complete(agentId, cid) {
      return db.transaction(() => {
        const cur = byAgent(agentId);
        if (cur === undefined || cur.state !== 'intent') {
          throw new StateError(
            `Completing VM '${cid}': no VM intent with agent id '${agentId}' is recorded${cur ? ` (it is ${cur.state})` : ''}`,
          );
        }
        try {
          db.prepare("UPDATE vms SET cid = ?, state = 'created', updated_at = ? WHERE agent_id = ?").run(
            cid,
            ctx.now(),
            agentId,
          );
        } catch (err) {
          if (isUniqueViolation(err))
            throw new StateConflictError(`Completing VM '${cid}': a VM with that cid is already recorded`, {
              cause: err,
            });
          throw err;
        }
        return byAgent(agentId) as VmRecord;
      });
    },
    fail(agentId) {
      const r = db.prepare("DELETE FROM vms WHERE agent_id = ? AND state = 'intent'").run(agentId);
      if (r.changes === 0) throw new StateError(`No VM intent with agent id '${agentId}' is recorded`);
    },
    markDeleting(cid) {
      return db.transaction(() => {
        const cur = byCid(cid);
        if (cur === undefined) throw new StateError(`VM '${cid}' is not recorded`);
        if (cur.state === 'deleting') return cur;
        db.prepare("UPDATE vms SET state = 'deleting', updated_at = ? WHERE cid = ?").run(ctx.now(), cid);
        return byCid(cid) as VmRecord;
      });
    },
    remove(cid) {
      return db.prepare('DELETE FROM vms WHERE cid = ?').run(cid).changes > 0;
    },
    removeByAgentId(agentId) {
      return (
        db.prepare("DELETE FROM vms WHERE agent_id = ? AND state IN ('intent', 'deleting')").run(agentId).changes > 0
      );
    },
    get: byCid,
    findByAgentId: byAgent,
    listByInstance(uuid) {
      return many('WHERE i.uuid = ?', uuid);
    },
    listByDeployment(dep) {
      return many('WHERE d.name = ?', dep);
    },
    list() {
      return many('');
    },
    listIncomplete() {
      return many("WHERE v.state IN ('intent', 'deleting')");
    },
  };
}
