import { maxInFlightFor, type UpdatePolicy } from '../plan/deployment-manifest.js';
import type { InstancePlan } from '../plan/instance-plan.js';

/**
 * One instance group's turn: the canaries first (in batches of at most max_in_flight, as BOSH
 * runs them through a pool of that size), then the rest in batches of at most max_in_flight.
 */
export interface GroupSchedule {
  readonly group: string;
  readonly policy: UpdatePolicy;
  readonly canaries: readonly (readonly InstancePlan[])[];
  readonly batches: readonly (readonly InstancePlan[])[];
}

/**
 * The order of a deploy, as the BOSH director runs it: stages run one after another; the groups
 * of one stage run at the same time (consecutive groups with `serial: false` share a stage; a
 * serial group is a stage of its own). Unchanged instances take no turn.
 */
export interface Schedule {
  readonly stages: readonly (readonly GroupSchedule[])[];
}

export function scheduleGroup(group: string, policy: UpdatePolicy, plans: readonly InstancePlan[], groupSize: number): GroupSchedule {
  const changing = plans.filter((p) => p.action !== 'unchanged' && p.action !== 'delete').sort((a, b) => (a.desired?.index ?? 0) - (b.desired?.index ?? 0));
  const canaries = changing.slice(0, Math.min(policy.canaries, changing.length));
  const size = maxInFlightFor(policy, groupSize);
  return { group, policy, canaries: chunk(canaries, size), batches: chunk(changing.slice(canaries.length), size) };
}

function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

export function scheduleDeployment(groups: readonly { name: string; policy: UpdatePolicy; size: number; plans: readonly InstancePlan[] }[]): Schedule {
  const stages: GroupSchedule[][] = [];
  let parallel: GroupSchedule[] | undefined;
  for (const g of groups) {
    const s = scheduleGroup(g.name, g.policy, g.plans, g.size);
    if (s.canaries.length === 0 && s.batches.length === 0) continue;
    if (g.policy.serial) {
      parallel = undefined;
      stages.push([s]);
    } else if (parallel) {
      parallel.push(s);
    } else {
      parallel = [s];
      stages.push(parallel);
    }
  }
  return { stages };
}

/** Durations the critical-path bound is computed from (milliseconds). */
export interface StepCosts {
  /** Creating one VM (and bootstrapping its agent). */
  readonly createVm: number;
  /** Updating one instance once its VM exists: disk, apply, start, watch. */
  readonly updateInstance: (plan: InstancePlan) => number;
}

/**
 * The least wall time a deploy could take under its own update settings: every missing VM is
 * created up front in one pool of `vmPoolSize`, then the stages run in order, each group's
 * canaries then its batches one after another (a batch takes as long as its slowest instance).
 */
export function criticalPathBound(schedule: Schedule, missingVms: number, vmPoolSize: number, costs: StepCosts): number {
  const createPhase = missingVms === 0 ? 0 : Math.ceil(missingVms / vmPoolSize) * costs.createVm;
  let updates = 0;
  for (const stage of schedule.stages) {
    let slowest = 0;
    for (const g of stage) {
      const turns = [...g.canaries, ...g.batches];
      const t = turns.reduce((sum, batch) => sum + Math.max(...batch.map(costs.updateInstance)), 0);
      slowest = Math.max(slowest, t);
    }
    updates += slowest;
  }
  return createPhase + updates;
}
