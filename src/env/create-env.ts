import { randomUUID } from 'node:crypto';
import { generateSshKeyPair } from '../crypto/ssh-keys.js';
import { DirectorError } from '../errors.js';
import type { Task } from '../deploy/task.js';
import type { EnvironmentRecord, JsonObject, StateStore, StemcellRecord } from '../state/index.js';
import type { EnvironmentCpi } from '../../cpi/environment.js';
import type { EnvironmentManifest } from './environment-manifest.js';
import { gatewayJson, gatewayRecord, type GatewayRecord } from './gateway.js';
import {
  FOUNDATION_ADDRESSES_KEY,
  FOUNDATION_INTENT_KEY,
  manifestProperties,
  RECORDED_KEYS,
  recordedPart,
  withIntentsSettled,
  withRecordedFoundation,
} from '../../cpi/foundation-record.js';

export interface CreateEnvDeps {
  readonly store: StateStore;
  /** Builds the CPI for an environment record (validating its properties). */
  readonly cpiFor: (env: EnvironmentRecord) => EnvironmentCpi | Promise<EnvironmentCpi>;
  /** The cloud-config text as it is recorded and printed (YAML). */
  readonly cloudConfigText: string;
}

export interface CreateEnvResult {
  readonly environment: EnvironmentRecord;
  readonly stemcell: StemcellRecord;
  /** What changed; empty when the run found everything in place. */
  readonly changes: readonly string[];
}

/**
 * Establishes an environment, idempotently: the director's identity (uuid and the SSH key every
 * agent trusts) is made once and kept; the CPI's configuration is validated and recorded; the
 * stemcell is registered with the CPI once; the cloud-config is recorded as a new version only
 * when it changed. Run twice, the second run changes nothing; interrupted, the next run finishes.
 */
export async function createEnv(
  manifest: EnvironmentManifest,
  deps: CreateEnvDeps,
  task: Task,
): Promise<CreateEnvResult> {
  const { store } = deps;
  const changes: string[] = [];
  const environment = await task.step('Preparing environment', `Director identity for '${manifest.name}'`, async () => {
    for (const key of RECORDED_KEYS) {
      if (key in manifest.cpi.properties)
        throw new DirectorError(`cpi.properties.${key} is recorded by create-env; a manifest cannot set it`);
    }
    const existing = store.environment.get();
    if (!existing) {
      const key = generateSshKeyPair('ed25519', `director@${manifest.name}`);
      changes.push('identity');
      return store.environment.create({
        name: manifest.name,
        directorUuid: randomUUID(),
        cpiType: manifest.cpi.type,
        cpiProperties: manifest.cpi.properties as JsonObject,
        sshKey: { privateKey: key.privateKey, publicKey: key.publicKey },
      });
    }
    if (existing.name !== manifest.name) {
      throw new DirectorError(`This state file belongs to environment '${existing.name}', not '${manifest.name}'`);
    }
    if (existing.cpiType !== manifest.cpi.type) {
      throw new DirectorError(
        `Environment '${existing.name}' runs on the ${existing.cpiType} CPI; changing it to ${manifest.cpi.type} needs delete-env first`,
      );
    }
    if (JSON.stringify(manifestProperties(existing.cpiProperties)) !== JSON.stringify(manifest.cpi.properties)) {
      changes.push('cpi properties');
      // what earlier runs created stays recorded: delete-env still removes it
      return store.environment.update({
        cpiProperties: { ...(manifest.cpi.properties as JsonObject), ...recordedPart(existing.cpiProperties) },
      });
    }
    return existing;
  });

  const cpi = await task.step('Validating CPI', `${environment.cpiType} CPI`, async () => {
    const c = await deps.cpiFor(environment);
    await c.cpi.info();
    return c;
  });

  // How the director will reach the VMs: what the manifest says, else the jumpbox the foundation
  // makes (its host key generated once, recorded before the VM that carries it is requested).
  const wantsJumpbox =
    manifest.gateway === undefined && cpi.ensureFoundation !== undefined && cpi.jumpboxUser !== undefined;
  {
    const before = gatewayRecord(store.environment.get() ?? environment);
    let next: GatewayRecord | undefined;
    if (manifest.gateway === 'none') next = { mode: 'none' };
    else if (manifest.gateway !== undefined) next = { mode: 'given', ...manifest.gateway };
    else if (wantsJumpbox) {
      const user = cpi.jumpboxUser as string;
      if (before?.mode === 'jumpbox') next = { ...before, user };
      else {
        const hostKey = generateSshKeyPair('ed25519', `jumpbox@${manifest.name}`);
        next = {
          mode: 'jumpbox',
          user,
          port: 22,
          hostPrivateKey: hostKey.privateKey,
          hostPublicKey: hostKey.publicKey,
        };
      }
    }
    const json = next === undefined ? null : gatewayJson(next);
    if (JSON.stringify(json) !== JSON.stringify((store.environment.get() ?? environment).gateway)) {
      store.environment.update({ gateway: json });
      changes.push('gateway');
    }
  }

  const ensure = cpi.ensureFoundation;
  if (ensure !== undefined) {
    await task.step(
      'Creating foundation',
      `${environment.cpiType} foundation${wantsJumpbox ? ' with the jumpbox' : ''}`,
      async () => {
        // Recorded as soon as known, also when the run fails half way, so delete-env finds it.
        const record = (ids: readonly string[]) => {
          if (ids.length === 0) return;
          const current = store.environment.get() ?? environment;
          store.environment.update({ cpiProperties: withRecordedFoundation(current.cpiProperties, ids) });
          changes.push('foundation');
        };
        // Recorded before each create request: a kill during it leaves the id for delete-env.
        const intend = (id: string) => {
          const current = store.environment.get() ?? environment;
          store.environment.update({
            cpiProperties: withRecordedFoundation(current.cpiProperties, [id], FOUNDATION_INTENT_KEY),
          });
        };
        const gw = gatewayRecord(store.environment.get() ?? environment);
        const jumpbox =
          wantsJumpbox && gw?.mode === 'jumpbox'
            ? {
                authorizedKey: environment.sshKey.publicKey,
                hostPrivateKey: gw.hostPrivateKey,
                hostPublicKey: gw.hostPublicKey,
              }
            : undefined;
        try {
          const outcome = await ensure(intend, jumpbox);
          record(outcome.created);
          const current = store.environment.get() ?? environment;
          if (FOUNDATION_INTENT_KEY in current.cpiProperties)
            store.environment.update({ cpiProperties: withIntentsSettled(current.cpiProperties) });
          const now = store.environment.get() ?? environment;
          if (JSON.stringify(now.cpiProperties[FOUNDATION_ADDRESSES_KEY] ?? {}) !== JSON.stringify(outcome.addresses)) {
            store.environment.update({
              cpiProperties: { ...now.cpiProperties, [FOUNDATION_ADDRESSES_KEY]: { ...outcome.addresses } },
            });
          }
          const address = outcome.addresses['jumpbox'];
          if (gw?.mode === 'jumpbox' && jumpbox !== undefined && address !== undefined && gw.host !== address) {
            store.environment.update({ gateway: gatewayJson({ ...gw, host: address }) });
            if (!changes.includes('gateway')) changes.push('gateway');
          }
          if (outcome.updated.length > 0 && outcome.created.length === 0) changes.push('foundation');
        } catch (err) {
          record((err as { created?: readonly string[] }).created ?? []);
          throw err;
        }
      },
    );
  }

  const s = manifest.stemcell;
  const stemcell = await task.step('Uploading stemcell', `${s.name}/${s.version}`, async () => {
    const found = store.stemcells.find(s.name, s.version, environment.cpiType);
    if (found) return found;
    // An interrupted run may have registered it with the CPI without recording it: adopt it.
    const cid =
      (await cpi.findStemcell(s.name, s.version)) ??
      (await cpi.cpi.createStemcell(s.url ?? '', { ...s.cloudProperties, name: s.name, version: s.version, os: s.os }));
    changes.push('stemcell');
    return store.stemcells.add({ name: s.name, version: s.version, os: s.os, cid, cpi: environment.cpiType });
  });

  await task.step('Updating cloud-config', 'cloud-config', async () => {
    const latest = store.cloudConfigs.latest();
    if (latest?.content === deps.cloudConfigText) return;
    store.cloudConfigs.update(deps.cloudConfigText);
    changes.push('cloud-config');
  });

  return { environment: store.environment.get() ?? environment, stemcell, changes: [...new Set(changes)] };
}
