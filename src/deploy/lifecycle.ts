import { DirectorError } from '../errors.js';
import type { DeploymentPlan } from '../plan/plan.js';
import type { InstanceRecord } from '../state/index.js';
import type { DeployOptions } from './deployer.js';
import type { Director } from './director.js';
import { selectInstances, type InstanceSelector } from './instance-selector.js';
import type { Task } from './task.js';

/** What `start`, `stop`, `restart` and `recreate` may be asked to do. */
export interface LifecycleOptions extends DeployOptions {
  /** stop --hard: delete the VM, keep the persistent disk (state `detached`). */
  readonly hard?: boolean;
}

const RESTART_WATCH = { min: 1000, max: 300_000 };

function label(i: InstanceRecord): string {
  return `${i.group}/${i.uuid} (${i.index})`;
}

/** Instances that run jobs all the time (errand instances only exist while their errand runs). */
function serviceInstances(director: Director, deployment: string): InstanceRecord[] {
  const { store } = director.services;
  if (!store.deployments.get(deployment)) throw new DirectorError(`Deployment '${deployment}' does not exist`);
  return store.instances.list(deployment).filter((i) => i.desiredSpec?.['lifecycle'] !== 'errand');
}

/** The plan with every instance outside `uuids` left as it is, and nothing deleted. */
export function restrictPlan(plan: DeploymentPlan, uuids: ReadonlySet<string>): DeploymentPlan {
  return {
    ...plan,
    deletions: [],
    groups: plan.groups.map((g) => ({
      ...g,
      plans: g.plans.map((p) => (p.desired && uuids.has(p.desired.uuid) ? p : { ...p, action: 'unchanged' as const, reasons: new Set() })),
    })),
  };
}

/** Groups in manifest order, each with its selected instances by index. */
function byGroup(instances: readonly InstanceRecord[]): InstanceRecord[][] {
  const groups = new Map<string, InstanceRecord[]>();
  for (const i of instances) {
    if (!groups.has(i.group)) groups.set(i.group, []);
    groups.get(i.group)!.push(i);
  }
  return [...groups.values()].map((g) => g.sort((a, b) => a.index - b.index));
}

/**
 * `stop [--hard]`: drains and stops the jobs of the selected instances, one at a time per group
 * (state `stopped`); `--hard` also deletes their VMs and keeps their disks (state `detached`).
 */
export async function stopInstances(director: Director, deployment: string, sel: InstanceSelector, task: Task, opts: LifecycleOptions = {}): Promise<void> {
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter((i) => (opts.hard ? i.state !== 'detached' : i.state === 'started'));
  const deployer = director.deployer();
  try {
    for (const group of byGroup(picked)) {
      for (const i of group) {
        await task.step(`Updating instance ${i.group}`, label(i), () =>
          deployer.stopInstance(i.uuid, { ...(opts.hard ? { hard: true } : {}), ...(opts.skipDrain ? { skipDrain: true } : {}) }).catch((err: unknown) => {
            throw new DirectorError(`Stopping instance '${label(i)}'`, { cause: err });
          }),
        );
      }
    }
  } finally {
    await director.services.agents.closeAll();
  }
}

/** `restart`: stops and starts the selected running instances' jobs, one at a time per group. */
export async function restartInstances(director: Director, deployment: string, sel: InstanceSelector, task: Task, opts: LifecycleOptions = {}): Promise<void> {
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter((i) => i.state === 'started');
  const deployer = director.deployer();
  try {
    for (const group of byGroup(picked)) {
      for (const i of group) {
        await task.step(`Updating instance ${i.group}`, label(i), () =>
          deployer.restartInstance(i.uuid, label(i), RESTART_WATCH, { ...(opts.skipDrain ? { skipDrain: true } : {}) }).catch((err: unknown) => {
            throw new DirectorError(`Restarting instance '${label(i)}'`, { cause: err });
          }),
        );
      }
    }
  } finally {
    await director.services.agents.closeAll();
  }
}

/**
 * `start`: the selected stopped or detached instances become `started` and the recorded manifest
 * is converged for them alone (a detached instance gets a new VM with its disk reattached).
 */
export async function startInstances(director: Director, deployment: string, sel: InstanceSelector, task: Task, opts: LifecycleOptions = {}): Promise<void> {
  const { store } = director.services;
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter((i) => i.state !== 'started');
  const stopped = picked.filter((i) => i.state === 'stopped' && store.vms.listByInstance(i.uuid).some((v) => v.state === 'created' && v.cid));
  const detached = picked.filter((i) => !stopped.includes(i));
  if (stopped.length) {
    const deployer = director.deployer();
    try {
      for (const group of byGroup(stopped)) {
        for (const i of group) {
          await task.step(`Updating instance ${i.group}`, label(i), () =>
            deployer.startInstance(i.uuid, label(i), RESTART_WATCH).catch((err: unknown) => {
              throw new DirectorError(`Starting instance '${label(i)}'`, { cause: err });
            }),
          );
        }
      }
    } finally {
      await director.services.agents.closeAll();
    }
  }
  if (!detached.length) return;
  // A detached instance has no VM: marked started, the recorded manifest is converged for it alone.
  store.transaction(() => {
    for (const i of detached) store.instances.update(i.uuid, { state: 'started' });
  });
  const prepared = await director.prepareRecorded(deployment);
  await director.apply({ ...prepared, plan: restrictPlan(prepared.plan, new Set(detached.map((i) => i.uuid))) }, task, opts);
}

/** `recreate`: new VMs for the selected instances, disks reattached, jobs applied again. */
export async function recreateInstances(director: Director, deployment: string, sel: InstanceSelector, task: Task, opts: LifecycleOptions = {}): Promise<void> {
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter((i) => i.state !== 'detached');
  if (!picked.length) return;
  const prepared = await director.prepareRecorded(deployment, { recreate: true });
  await director.apply({ ...prepared, plan: restrictPlan(prepared.plan, new Set(picked.map((i) => i.uuid))) }, task, opts);
}
