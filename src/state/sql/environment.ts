import { StateConflictError, StateError } from '../errors.js';
import { fromJsonColumn, jsonSchemas, toJsonColumn } from '../json.js';
import type { JsonObject } from '../json.js';
import type { EnvironmentRecord, KeyPair } from '../records.js';
import type { EnvironmentState } from '../state-store.js';
import type { StoreContext } from './database.js';

interface EnvironmentRow {
  readonly name: string;
  readonly director_uuid: string;
  readonly cpi_type: string;
  readonly cpi_properties_json: string;
  readonly ssh_private_key: string;
  readonly ssh_public_key: string;
  readonly host_ca_private_key: string | null;
  readonly host_ca_public_key: string | null;
  readonly gateway_json: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

/** The private keys a gateway record holds (the operator's login key, the jumpbox's host key). */
function gatewaySecrets(gateway: JsonObject | null): string[] {
  if (gateway === null) return [];
  return ['private_key', 'host_private_key']
    .map((k) => gateway[k])
    .filter((v): v is string => typeof v === 'string' && v !== '');
}

export function environmentState(ctx: StoreContext): EnvironmentState {
  const { db } = ctx;
  const read = (): EnvironmentRecord | undefined => {
    const row = db.prepare('SELECT * FROM environment WHERE id = 1').get() as EnvironmentRow | undefined;
    if (row === undefined) return undefined;
    const hostKeyCa: KeyPair | null =
      row.host_ca_private_key !== null && row.host_ca_public_key !== null
        ? { privateKey: row.host_ca_private_key, publicKey: row.host_ca_public_key }
        : null;
    const gateway =
      row.gateway_json === null ? null : fromJsonColumn(jsonSchemas.object, row.gateway_json, 'the gateway');
    ctx.redactor.add([row.ssh_private_key, ...(hostKeyCa ? [hostKeyCa.privateKey] : []), ...gatewaySecrets(gateway)]);
    return {
      name: row.name,
      directorUuid: row.director_uuid,
      cpiType: row.cpi_type,
      cpiProperties: fromJsonColumn(jsonSchemas.object, row.cpi_properties_json, 'the CPI properties'),
      sshKey: { privateKey: row.ssh_private_key, publicKey: row.ssh_public_key },
      hostKeyCa,
      gateway,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
    };
  };
  const mustRead = (): EnvironmentRecord => {
    const env = read();
    if (env === undefined) throw new StateError('No environment is recorded in this state file');
    return env;
  };

  return {
    get: read,
    create(env) {
      return db.transaction(() => {
        const existing = read();
        if (existing !== undefined) {
          throw new StateConflictError(`Environment '${existing.name}' is already recorded in this state file`);
        }
        ctx.redactor.add([env.sshKey.privateKey, ...(env.hostKeyCa ? [env.hostKeyCa.privateKey] : [])]);
        const at = ctx.now();
        db.prepare(
          `INSERT INTO environment (id, name, director_uuid, cpi_type, cpi_properties_json, ssh_private_key,
             ssh_public_key, host_ca_private_key, host_ca_public_key, gateway_json, created_at, updated_at)
           VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
        ).run(
          env.name,
          env.directorUuid,
          env.cpiType,
          toJsonColumn(jsonSchemas.object, env.cpiProperties, 'the CPI properties'),
          env.sshKey.privateKey,
          env.sshKey.publicKey,
          env.hostKeyCa?.privateKey ?? null,
          env.hostKeyCa?.publicKey ?? null,
          env.gateway ? toJsonColumn(jsonSchemas.object, env.gateway, 'the gateway') : null,
          at,
          at,
        );
        return mustRead();
      });
    },
    update(patch) {
      return db.transaction(() => {
        const cur = mustRead();
        const hostKeyCa = patch.hostKeyCa === undefined ? cur.hostKeyCa : patch.hostKeyCa;
        if (hostKeyCa) ctx.redactor.add([hostKeyCa.privateKey]);
        const gateway = patch.gateway === undefined ? cur.gateway : patch.gateway;
        ctx.redactor.add(gatewaySecrets(gateway));
        db.prepare(
          `UPDATE environment SET cpi_type = ?, cpi_properties_json = ?, host_ca_private_key = ?,
             host_ca_public_key = ?, gateway_json = ?, updated_at = ? WHERE id = 1`,
        ).run(
          patch.cpiType ?? cur.cpiType,
          toJsonColumn(jsonSchemas.object, patch.cpiProperties ?? cur.cpiProperties, 'the CPI properties'),
          hostKeyCa?.privateKey ?? null,
          hostKeyCa?.publicKey ?? null,
          gateway ? toJsonColumn(jsonSchemas.object, gateway, 'the gateway') : null,
          ctx.now(),
        );
        return mustRead();
      });
    },
    delete() {
      return db.prepare('DELETE FROM environment WHERE id = 1').run().changes > 0;
    },
  };
}
