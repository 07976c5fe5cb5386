import { rm } from 'node:fs/promises';
import type { EnvironmentCpi } from '../environment.js';
import type { LocalCpiConfig } from './config.js';
import { LocalCpi } from './local-cpi.js';

/**
 * The local branch of the environment's CPI: VMs, disks and stemcells are found by listing the
 * CPI's root, and delete-env removes everything under it.
 */
export function localEnvironmentCpi(config: LocalCpiConfig, directorUuid: string): EnvironmentCpi {
  const cpi = new LocalCpi(config, { directorUuid });
  return {
    cpi,
    sshPort: config.ssh_port,
    findVmByAgentId: async (agentId) => (await cpi.listVms()).find((v) => v.agent_id === agentId)?.cid,
    findStemcell: async (name, version) =>
      (await cpi.listStemcells()).find((s) => s.name === name && s.version === version)?.cid,
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
