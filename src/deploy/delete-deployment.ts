import { DirectorError } from '../errors.js';
import { instanceLabel, planDeletion } from '../plan/instance-plan.js';
import type { Director } from './director.js';
import { inPool } from './pool.js';
import { recordedInstances } from './recorded.js';
import type { Task } from './task.js';

export interface DeleteDeploymentOptions {
  /** Carry on past agents that do not answer and CPI calls that fail (the state forgets them). */
  readonly force?: boolean;
  readonly skipDrain?: boolean;
}

/**
 * `delete-deployment`: every instance is drained, stopped and deleted (VM deleted, disks detached
 * and orphaned, addresses released), the deployment's orphaned disks are deleted, then its
 * variables and record. Without `force` the first failure stops it, and the state still names
 * everything that is left; with `force` what the cloud refused to delete is only forgotten.
 */
export async function deleteDeployment(
  director: Director,
  name: string,
  task: Task,
  opts: DeleteDeploymentOptions = {},
): Promise<void> {
  const { store, cpi } = director.services;
  if (!store.deployments.get(name)) throw new DirectorError(`Deployment '${name}' does not exist`);
  const deployer = director.deployer();
  const instances = recordedInstances(store, name);
  try {
    if (instances.length) {
      await inPool(instances, 8, (r, i) =>
        task.step(
          'Deleting instances',
          instanceLabel(r),
          () =>
            deployer.runInstance(
              'Deleting instance',
              { uuid: r.uuid, label: instanceLabel(r) },
              planDeletion(r).steps,
              {
                deployment: name,
                tolerateAgent: true,
                ...(opts.force ? { force: true } : {}),
                ...(opts.skipDrain ? { skipDrain: true } : {}),
              },
            ),
          { index: i + 1, total: instances.length },
        ),
      );
    }
  } finally {
    await director.services.agents.closeAll();
  }
  // VMs recorded for the deployment without an instance (none in normal operation).
  for (const vm of store.vms.listByDeployment(name)) {
    await task
      .step('Deleting instances', vm.cid ?? vm.agentId, () => deployer.deleteVm(vm.agentId, vm.cid))
      .catch((err: unknown) => {
        if (!opts.force) throw err;
        if (vm.cid) store.vms.remove(vm.cid);
        else store.vms.removeByAgentId(vm.agentId);
      });
  }
  const orphans = store.disks.listOrphaned().filter((d) => d.deployment === name);
  await task.step('Removing deployment artifacts', 'Deleting disks', async () => {
    for (const d of orphans) {
      try {
        await cpi.cpi.deleteDisk(d.cid);
      } catch (err) {
        if (!opts.force) throw new DirectorError(`Deleting disk '${d.cid}' of '${d.instance}'`, { cause: err });
      }
      store.disks.remove(d.cid);
    }
  });
  await task.step('Deleting properties', 'Destroying deployment', async () => {
    store.transaction(() => {
      for (const v of store.variables.list(name)) store.variables.delete(name, v.name);
      store.deployments.delete(name);
    });
  });
}
