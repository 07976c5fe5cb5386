import { DirectorError } from '../errors.js';
import { evaluateTemplate } from '../manifest/variables/index.js';
import { isMap, toPlain, type YamlMap, type YamlValue } from '../manifest/value.js';
import { parseYaml } from '../manifest/yaml.js';
import { updatePolicies, type GroupUpdatePolicy, type UpdatePolicy } from '../plan/deployment-manifest.js';
import type { DeploymentPlan } from '../plan/plan.js';
import { instanceLabel } from '../plan/instance-plan.js';
import { restartSteps, startSteps, stopSteps } from '../plan/steps.js';
import type { InstanceRecord } from '../state/index.js';
import type { DeployOptions, StepTarget } from './deployer.js';
import type { Director } from './director.js';
import { selectInstances, type InstanceSelector } from './instance-selector.js';
import { runSchedule, scheduleStages, withOverrides } from './schedule.js';
import { StateVariableStore } from './state-variable-store.js';
import type { Task } from './task.js';

/** What `start`, `stop`, `restart` and `recreate` may be asked to do. */
export interface LifecycleOptions extends DeployOptions {
  /** stop --hard: delete the VM, keep the persistent disk (state `detached`). */
  readonly hard?: boolean;
}

/** A recorded instance as the target of restricted steps (no desired state: nothing is made). */
function target(i: InstanceRecord): StepTarget {
  return { uuid: i.uuid, label: instanceLabel(i) };
}

/** Instances that run jobs all the time (errand instances only exist while their errand runs). */
function serviceInstances(director: Director, deployment: string): InstanceRecord[] {
  const { store } = director.services;
  if (!store.deployments.get(deployment)) throw new DirectorError(`Deployment '${deployment}' does not exist`);
  return store.instances.list(deployment).filter((i) => i.desiredSpec?.['lifecycle'] !== 'errand');
}

/**
 * The update policy of each group of the deployment as deployed: read from its recorded manifest
 * (the group's `update` over the deployment's, as a deploy merges them), without planning it
 * again. A ((variable)) in an update block is resolved from the deployment's own variables.
 */
export async function recordedUpdatePolicies(director: Director, deployment: string): Promise<GroupUpdatePolicy[]> {
  const { store } = director.services;
  const text = store.deployments.get(deployment)?.manifest;
  if (!text) throw new DirectorError(`Deployment '${deployment}' has no deployed manifest`);
  const what = `deployment '${deployment}' manifest`;
  const raw = parseYaml(text, what);
  if (!isMap(raw)) throw new DirectorError(`Reading ${what}: expected a map at the top`);
  // Only what the policies are made of; the rest of the manifest (and its secrets) is left alone.
  const part: YamlMap = new Map();
  for (const key of ['update', 'instance_groups', 'variables'] as const) if (raw.has(key)) part.set(key, raw.get(key)!);
  const groups = part.get('instance_groups');
  if (Array.isArray(groups)) {
    part.set(
      'instance_groups',
      groups.map((g) =>
        isMap(g)
          ? new Map([...g].filter(([k]) => k === 'name' || k === 'instances' || k === 'lifecycle' || k === 'update'))
          : g,
      ),
    );
  }
  const wanted: YamlValue = new Map([...part].filter(([k]) => k !== 'variables'));
  const needsVars = JSON.stringify(toPlain(wanted)).includes('((');
  const doc = needsVars
    ? await evaluateTemplate(part, {
        vars: { get: () => undefined, names: () => [] },
        store: new StateVariableStore(store, deployment),
        expectAllKeys: true,
      })
    : wanted;
  return updatePolicies(toPlain(doc), what);
}

/**
 * Runs `fn` over the picked instances as a deploy updates them: groups in manifest order
 * (consecutive `serial: false` groups at once), canaries first, then batches of max_in_flight,
 * each under the deployment's recorded update policy with the command line's overrides. Each
 * instance is one step of `Updating instance GROUP`, its canaries marked `(canary)`; the first
 * failure stops the run.
 */
async function inUpdateOrder(
  director: Director,
  deployment: string,
  picked: readonly InstanceRecord[],
  task: Task,
  opts: LifecycleOptions,
  fn: (i: InstanceRecord, policy: UpdatePolicy, canary: boolean) => Promise<void>,
): Promise<void> {
  if (!picked.length) return;
  const policies = await recordedUpdatePolicies(director, deployment);
  const known = new Set(policies.map((p) => p.name));
  const orphans = [...new Set(picked.filter((i) => !known.has(i.group)).map((i) => i.group))];
  if (orphans.length)
    throw new DirectorError(
      `Instance group${orphans.length === 1 ? '' : 's'} ${orphans.map((g) => `'${g}'`).join(', ')} not in the deployed manifest of '${deployment}'`,
    );
  const schedule = scheduleStages(
    policies.map((g) => ({
      name: g.name,
      policy: withOverrides(g.update, opts),
      size: g.instances,
      changing: picked.filter((i) => i.group === g.name).sort((a, b) => a.index - b.index),
    })),
  );
  await runSchedule(schedule, (i, { group, canary }) =>
    task.step(`Updating instance ${i.group}`, `${instanceLabel(i)}${canary ? ' (canary)' : ''}`, () =>
      fn(i, group.policy, canary),
    ),
  );
}

/** The plan with every instance outside `uuids` left as it is, and nothing deleted. */
export function restrictPlan(plan: DeploymentPlan, uuids: ReadonlySet<string>): DeploymentPlan {
  return {
    ...plan,
    deletions: [],
    groups: plan.groups.map((g) => ({
      ...g,
      plans: g.plans.map((p) =>
        p.desired && uuids.has(p.desired.uuid) ? p : { ...p, action: 'unchanged' as const, reasons: new Set() },
      ),
    })),
  };
}

/**
 * `stop [--hard]`: drains and stops the jobs of the selected instances under the update policy
 * (state `stopped`); `--hard` also deletes their VMs and keeps their disks (state `detached`).
 */
export async function stopInstances(
  director: Director,
  deployment: string,
  sel: InstanceSelector,
  task: Task,
  opts: LifecycleOptions = {},
): Promise<void> {
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter((i) =>
    opts.hard ? i.state !== 'detached' : i.state === 'started',
  );
  const deployer = director.deployer();
  const hard = Boolean(opts.hard);
  try {
    await inUpdateOrder(director, deployment, picked, task, opts, (i) =>
      deployer.runInstance('Stopping instance', target(i), stopSteps(hard), {
        deployment,
        ...(opts.skipDrain ? { skipDrain: true } : {}),
        ...(hard ? { tolerateAgent: true } : {}),
      }),
    );
  } finally {
    await director.services.agents.closeAll();
  }
}

/** `restart`: stops and starts the selected running instances' jobs under the update policy. */
export async function restartInstances(
  director: Director,
  deployment: string,
  sel: InstanceSelector,
  task: Task,
  opts: LifecycleOptions = {},
): Promise<void> {
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter(
    (i) => i.state === 'started',
  );
  const deployer = director.deployer();
  try {
    await inUpdateOrder(director, deployment, picked, task, opts, (i, policy, canary) =>
      deployer.runInstance('Restarting instance', target(i), restartSteps(), {
        deployment,
        watch: canary ? policy.canaryWatchTime : policy.updateWatchTime,
        ...(opts.skipDrain ? { skipDrain: true } : {}),
      }),
    );
  } finally {
    await director.services.agents.closeAll();
  }
}

/**
 * `start`: the selected stopped or detached instances become `started`. A stopped one's jobs are
 * started on its VM under the update policy; then the recorded manifest is converged for the
 * detached ones alone (a new VM with the disk reattached), which a deploy orders by the same policy.
 */
export async function startInstances(
  director: Director,
  deployment: string,
  sel: InstanceSelector,
  task: Task,
  opts: LifecycleOptions = {},
): Promise<void> {
  const { store } = director.services;
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter(
    (i) => i.state !== 'started',
  );
  const stopped = picked.filter(
    (i) => i.state === 'stopped' && store.vms.listByInstance(i.uuid).some((v) => v.state === 'created' && v.cid),
  );
  const detached = picked.filter((i) => !stopped.includes(i));
  if (stopped.length) {
    const deployer = director.deployer();
    try {
      await inUpdateOrder(director, deployment, stopped, task, opts, (i, policy, canary) =>
        deployer.runInstance('Starting instance', target(i), startSteps(), {
          deployment,
          watch: canary ? policy.canaryWatchTime : policy.updateWatchTime,
        }),
      );
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
  await director.apply(
    { ...prepared, plan: restrictPlan(prepared.plan, new Set(detached.map((i) => i.uuid))) },
    task,
    opts,
  );
}

/** `recreate`: new VMs for the selected instances, disks reattached, jobs applied again. */
export async function recreateInstances(
  director: Director,
  deployment: string,
  sel: InstanceSelector,
  task: Task,
  opts: LifecycleOptions = {},
): Promise<void> {
  const picked = selectInstances(serviceInstances(director, deployment), sel, deployment).filter(
    (i) => i.state !== 'detached',
  );
  if (!picked.length) return;
  const prepared = await director.prepareRecorded(deployment, { recreate: true });
  await director.apply(
    { ...prepared, plan: restrictPlan(prepared.plan, new Set(picked.map((i) => i.uuid))) },
    task,
    opts,
  );
}
