import { isIP } from 'node:net';
import { StateConflictError, StateError } from '../errors.js';
import type { IpReservationRecord, IpReservationType } from '../records.js';
import type { IpReservationState } from '../state-store.js';
import { isUniqueViolation, type StoreContext } from './database.js';
import { deploymentId } from './deployments.js';
import { instanceId } from './instances.js';

interface IpRow {
  readonly deployment: string;
  readonly network: string;
  readonly ip: string;
  readonly instance: string | null;
  readonly group_name: string | null;
  readonly type: IpReservationType;
  readonly created_at: string;
}

const SELECT = `SELECT d.name AS deployment, r.network, r.ip, i.uuid AS instance, i.group_name, r.type, r.created_at
  FROM ip_reservations r JOIN deployments d ON d.id = r.deployment_id LEFT JOIN instances i ON i.id = r.instance_id`;

const reservation = (r: IpRow): IpReservationRecord => ({
  deployment: r.deployment,
  network: r.network,
  ip: r.ip,
  instance: r.instance,
  type: r.type,
  createdAt: r.created_at,
});

export function ipReservationState(ctx: StoreContext): IpReservationState {
  const { db } = ctx;
  const find = (network: string, ip: string): IpRow | undefined =>
    db.prepare(`${SELECT} WHERE r.network = ? AND r.ip = ?`).get(network, ip) as IpRow | undefined;
  const conflict = (network: string, ip: string, cause?: unknown): StateConflictError => {
    const holder = find(network, ip);
    const by =
      holder === undefined
        ? 'another reservation'
        : holder.instance !== null
          ? `instance '${holder.group_name}/${holder.instance}' of deployment '${holder.deployment}' (${holder.type})`
          : `deployment '${holder.deployment}' (${holder.type})`;
    return new StateConflictError(`IP ${ip} on network '${network}' is already reserved by ${by}`, { cause });
  };

  return {
    reserve(r) {
      if (isIP(r.ip) === 0)
        throw new StateError(`Reserving IP on network '${r.network}': '${r.ip}' is not an IP address`);
      return db.transaction(() => {
        const depId = deploymentId(ctx, r.deployment);
        const instId = r.instance === null ? null : instanceId(ctx, r.instance);
        if (find(r.network, r.ip) !== undefined) throw conflict(r.network, r.ip);
        try {
          db.prepare(
            'INSERT INTO ip_reservations (deployment_id, network, ip, instance_id, type, created_at) VALUES (?, ?, ?, ?, ?, ?)',
          ).run(depId, r.network, r.ip, instId, r.type, ctx.now());
        } catch (err) {
          if (isUniqueViolation(err)) throw conflict(r.network, r.ip, err);
          throw err;
        }
        return reservation(find(r.network, r.ip) as IpRow);
      });
    },
    release(network, ip) {
      return db.prepare('DELETE FROM ip_reservations WHERE network = ? AND ip = ?').run(network, ip).changes > 0;
    },
    releaseForInstance(uuid) {
      return db
        .prepare('DELETE FROM ip_reservations WHERE instance_id = (SELECT id FROM instances WHERE uuid = ?)')
        .run(uuid).changes;
    },
    list(filter = {}) {
      const where: string[] = [];
      const params: unknown[] = [];
      if (filter.deployment !== undefined) {
        where.push('d.name = ?');
        params.push(filter.deployment);
      }
      if (filter.network !== undefined) {
        where.push('r.network = ?');
        params.push(filter.network);
      }
      if (filter.instance !== undefined) {
        where.push('i.uuid = ?');
        params.push(filter.instance);
      }
      const sql = `${SELECT}${where.length > 0 ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY r.network, r.id`;
      return (db.prepare(sql).all(...params) as IpRow[]).map(reservation);
    },
  };
}
