import { DirectorError } from '../errors.js';
import { maxInFlightFor, type UpdatePolicy } from '../plan/deployment-manifest.js';
import type { InstancePlan } from '../plan/instance-plan.js';

/**
 * One instance group's turn: the canaries first (in batches of at most max_in_flight, as BOSH
 * runs them through a pool of that size), then the rest in batches of at most max_in_flight.
 * A deploy schedules instance plans; stop, start and restart schedule recorded instances.
 */
export interface GroupSchedule<T = InstancePlan> {
  readonly group: string;
  readonly policy: UpdatePolicy;
  readonly canaries: readonly (readonly T[])[];
  readonly batches: readonly (readonly T[])[];
}

/**
 * The order of a deploy, as the BOSH director runs it: stages run one after another; the groups
 * of one stage run at the same time (consecutive groups with `serial: false` share a stage; a
 * serial group is a stage of its own). Unchanged instances take no turn.
 */
export interface Schedule<T = InstancePlan> {
  readonly stages: readonly (readonly GroupSchedule<T>[])[];
}

/** One group to schedule: its policy, its size (what percentages are of) and what changes in it, in order. */
export interface GroupTurn<T> {
  readonly name: string;
  readonly policy: UpdatePolicy;
  readonly size: number;
  readonly changing: readonly T[];
}

/** `deploy`, `start`, `stop`, `restart`, `recreate --canaries N --max-in-flight N|N%`. */
export interface UpdateOverrides {
  readonly canaries?: number;
  readonly maxInFlight?: { count: number } | { percent: number };
}

/** The policy with the command line's overrides applied. */
export function withOverrides(policy: UpdatePolicy, o: UpdateOverrides): UpdatePolicy {
  return {
    ...policy,
    ...(o.canaries !== undefined ? { canaries: o.canaries } : {}),
    ...(o.maxInFlight !== undefined ? { maxInFlight: o.maxInFlight } : {}),
  };
}

/** Reads `--canaries` and `--max-in-flight` as given on the command line; a bad value is one clear line. */
export function parseUpdateOverrides(flags: {
  readonly canaries?: string | undefined;
  readonly maxInFlight?: string | undefined;
}): UpdateOverrides {
  const out: { canaries?: number; maxInFlight?: { count: number } | { percent: number } } = {};
  if (flags.canaries !== undefined) {
    const v = flags.canaries.trim();
    if (!/^\d+$/.test(v))
      throw new DirectorError(`Expected --canaries to be a whole number, found '${flags.canaries}'`);
    out.canaries = Number(v);
  }
  if (flags.maxInFlight !== undefined) {
    const v = flags.maxInFlight.trim();
    const m = /^(\d+(?:\.\d+)?)%$/.exec(v);
    if (m && Number(m[1]) > 0) out.maxInFlight = { percent: Number(m[1]) };
    else if (/^\d+$/.test(v) && Number(v) > 0) out.maxInFlight = { count: Number(v) };
    else
      throw new DirectorError(
        `Expected --max-in-flight to be a positive number or a percentage such as '25%', found '${flags.maxInFlight}'`,
      );
  }
  return out;
}

/** Canaries first, then batches; `changing` is already in the order the group updates in. */
export function scheduleTurns<T>(
  group: string,
  policy: UpdatePolicy,
  changing: readonly T[],
  groupSize: number,
): GroupSchedule<T> {
  const canaries = changing.slice(0, Math.min(policy.canaries, changing.length));
  const size = maxInFlightFor(policy, groupSize);
  return { group, policy, canaries: chunk(canaries, size), batches: chunk(changing.slice(canaries.length), size) };
}

export function scheduleGroup(
  group: string,
  policy: UpdatePolicy,
  plans: readonly InstancePlan[],
  groupSize: number,
): GroupSchedule {
  return scheduleTurns(group, policy, changingPlans(plans), groupSize);
}

function changingPlans(plans: readonly InstancePlan[]): InstancePlan[] {
  return plans
    .filter((p) => p.action !== 'unchanged' && p.action !== 'delete')
    .sort((a, b) => (a.desired?.index ?? 0) - (b.desired?.index ?? 0));
}

function chunk<T>(xs: readonly T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < xs.length; i += size) out.push(xs.slice(i, i + size));
  return out;
}

/** Groups in the given (manifest) order into stages; a group with nothing to change takes no turn. */
export function scheduleStages<T>(groups: readonly GroupTurn<T>[]): Schedule<T> {
  const stages: GroupSchedule<T>[][] = [];
  let parallel: GroupSchedule<T>[] | undefined;
  for (const g of groups) {
    const s = scheduleTurns(g.name, g.policy, g.changing, g.size);
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

export function scheduleDeployment(
  groups: readonly { name: string; policy: UpdatePolicy; size: number; plans: readonly InstancePlan[] }[],
): Schedule {
  return scheduleStages(
    groups.map((g) => ({ name: g.name, policy: g.policy, size: g.size, changing: changingPlans(g.plans) })),
  );
}

/**
 * Runs a schedule: stages in order, the groups of a stage at once, each group's canaries then
 * its batches in order, the instances of a batch at once. A batch always settles whole (nothing
 * is left running behind a failure); then the first failure, in batch order, stops the run, and
 * the other groups of its stage finish their current batch and start no other.
 */
export async function runSchedule<T>(
  schedule: Schedule<T>,
  run: (item: T, turn: { readonly group: GroupSchedule<T>; readonly canary: boolean }) => Promise<void>,
): Promise<void> {
  for (const stage of schedule.stages) {
    let failed = false;
    const groups = await Promise.allSettled(
      stage.map(async (g) => {
        const turns = [
          ...g.canaries.map((batch) => ({ batch, canary: true })),
          ...g.batches.map((batch) => ({ batch, canary: false })),
        ];
        for (const { batch, canary } of turns) {
          if (failed) return;
          const settled = await Promise.allSettled(batch.map((item) => run(item, { group: g, canary })));
          const err = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
          if (err) {
            failed = true;
            throw err.reason;
          }
        }
      }),
    );
    const err = groups.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (err) throw err.reason;
  }
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
export function criticalPathBound(
  schedule: Schedule,
  missingVms: number,
  vmPoolSize: number,
  costs: StepCosts,
): number {
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
