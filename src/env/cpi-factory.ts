import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { Cpi } from '../../cpi/contract.js';
import { parseLocalCpiConfig } from '../../cpi/local/config.js';
import { LocalCpi } from '../../cpi/local/local-cpi.js';
import { DirectorError } from '../errors.js';
import type { EnvironmentRecord } from '../state/index.js';
import { azureEnvironmentCpi } from './azure-environment.js';

/** What one `ensureFoundation` run did, by cloud id. */
export interface FoundationOutcome {
  /** Resources this run created: create-env records them so delete-env removes exactly those. */
  readonly created: readonly string[];
  /** Resources that existed but differed and were written again. */
  readonly updated: readonly string[];
}

/**
 * A CPI as the environment uses it: the contract, plus what the director needs beyond BOSH's
 * CPI v2 to keep its promise that a crash leaks nothing (find by the names it chose) and that
 * delete-env removes everything.
 */
export interface EnvironmentCpi {
  readonly cpi: Cpi;
  /** The port agents' SSH servers listen on. */
  readonly sshPort: number;
  /** A VM created for `agentId` that the state never recorded (a crash between call and answer). */
  findVmByAgentId(agentId: string): Promise<string | undefined>;
  /** A stemcell already registered under this name and version (an interrupted create-env). */
  findStemcell(name: string, version: string): Promise<string | undefined>;
  /**
   * Makes the IaaS foundation the environment needs exist (Azure: resource group, network,
   * security groups, load balancers, storage), reading before writing, so a run over an unchanged
   * foundation writes nothing. Absent when the CPI needs none. A failure carries `created`
   * (the ids made before it failed), to be recorded all the same.
   */
  readonly ensureFoundation?: (onIntent?: (id: string) => void) => Promise<FoundationOutcome>;
  /** Removes everything the CPI made for the environment (delete-env), foundation last. */
  teardown(): Promise<void>;
}

/** The local CPI's root: `properties.root`, else `local/` beside the state file. */
export function localRoot(env: EnvironmentRecord, stateDir: string): string {
  const root = env.cpiProperties['root'];
  return typeof root === 'string' ? root : join(stateDir, 'local');
}

/** Builds the CPI an environment record names, validating its properties. */
export function environmentCpi(env: EnvironmentRecord, stateDir: string): EnvironmentCpi {
  switch (env.cpiType) {
    case 'local': {
      const config = parseLocalCpiConfig({ ...env.cpiProperties, root: localRoot(env, stateDir) });
      const cpi = new LocalCpi(config, { directorUuid: env.directorUuid });
      return {
        cpi,
        sshPort: config.ssh_port,
        findVmByAgentId: async (agentId) => (await cpi.listVms()).find((v) => v.agent_id === agentId)?.cid,
        findStemcell: async (name, version) => (await cpi.listStemcells()).find((s) => s.name === name && s.version === version)?.cid,
        teardown: async () => {
          for (const vm of await cpi.listVms()) await cpi.deleteVm(vm.cid);
          for (const d of await cpi.listDisks()) await cpi.deleteDisk(d.cid);
          for (const s of await cpi.listSnapshots()) await cpi.deleteSnapshot(s.cid);
          for (const s of await cpi.listStemcells()) await cpi.deleteStemcell(s.cid);
          await cpi.deleteLoadBalancers();
          await rm(config.root, { recursive: true, force: true });
        },
      };
    }
    case 'azure':
      return azureEnvironmentCpi(env);
    default:
      throw new DirectorError(`Environment '${env.name}' uses the '${env.cpiType}' CPI, which this build cannot drive yet`);
  }
}
