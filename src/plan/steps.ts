import type { ChangeReason, DesiredInstance, InstanceAction, RecordedInstance } from './instance-plan.js';

/**
 * What the deploy engine does to an instance, one CPI or agent call (or a short fixed sequence
 * of them) per step. The planner derives an instance's steps from its reasons, as bosh's
 * instance_plan derives needs_duplicate_vm?; the deployer interprets them and never decides
 * anything the plan did not say.
 */
export type StepKind =
  | 'drain'
  | 'stop'
  | 'detach_disks'
  | 'delete_vm'
  | 'create_vm'
  | 'attach_disk'
  | 'create_disk'
  | 'migrate_disk'
  | 'orphan_disk'
  | 'apply'
  | 'pre_start'
  | 'start'
  | 'watch'
  | 'post_start'
  | 'record_state'
  | 'forget_instance'
  | 'reboot_vm';

export interface Step {
  readonly kind: StepKind;
  /** record_state: the state the instance is recorded in once its steps ran. */
  readonly state?: 'started' | 'stopped' | 'detached';
}

/** What each step is doing, as an error names it (`Updating instance 'w/… (2)': Applying jobs: …`). */
export const STEP_GERUND: Readonly<Record<StepKind, string>> = {
  drain: 'Draining',
  stop: 'Stopping jobs',
  detach_disks: 'Detaching disks',
  delete_vm: 'Deleting VM',
  create_vm: 'Creating VM',
  attach_disk: 'Attaching disk',
  create_disk: 'Creating disk',
  migrate_disk: 'Migrating disk',
  orphan_disk: 'Orphaning disk',
  apply: 'Applying jobs',
  pre_start: 'Running pre-start',
  start: 'Starting jobs',
  watch: 'Waiting for jobs to run',
  post_start: 'Running post-start',
  record_state: 'Recording state',
  forget_instance: 'Forgetting instance',
  reboot_vm: 'Rebooting VM',
};

const s = (kind: StepKind): Step => ({ kind });
const recordState = (state: 'started' | 'stopped' | 'detached'): Step => ({ kind: 'record_state', state });

/** Starting the jobs of an instance whose jobs are applied: run, watch, record `started`. */
const RUN: readonly Step[] = [
  s('apply'),
  s('pre_start'),
  s('start'),
  s('watch'),
  s('post_start'),
  recordState('started'),
];

/**
 * The steps of one instance plan.
 *
 * - delete: drain and stop (if it has a VM), detach its disks, delete its VMs, forget it.
 * - create: a VM (its surviving disk attached again), a new disk if one is wanted and none
 *   exists, then its jobs applied and started (or it is recorded stopped).
 * - recreate: as update, but the running VM is replaced by a new one in between.
 * - update: drain and stop (if jobs run), converge the disk, apply and start.
 * - unchanged: nothing.
 */
export function instanceSteps(p: {
  readonly action: InstanceAction;
  readonly reasons: ReadonlySet<ChangeReason>;
  readonly desired?: DesiredInstance;
  readonly recorded?: RecordedInstance;
}): Step[] {
  const r = p.recorded;
  const running = Boolean(r?.vm && r.appliedJobs);
  switch (p.action) {
    case 'unchanged':
      return [];
    case 'delete':
      return [...(r?.vm ? [s('drain'), s('stop')] : []), s('detach_disks'), s('delete_vm'), s('forget_instance')];
    case 'create':
      return [s('create_vm'), ...(r?.disk ? [s('attach_disk')] : []), ...diskSteps(p), ...tail(p.desired!)];
    case 'recreate':
      return [
        ...(running ? [s('drain'), s('stop')] : []),
        s('detach_disks'),
        s('delete_vm'),
        s('create_vm'),
        ...(r?.disk ? [s('attach_disk')] : []),
        ...diskSteps(p),
        ...tail(p.desired!),
      ];
    case 'update':
      return [...(running ? [s('drain'), s('stop')] : []), ...diskSteps(p), ...tail(p.desired!)];
  }
}

function diskSteps(p: {
  readonly reasons: ReadonlySet<ChangeReason>;
  readonly desired?: DesiredInstance;
  readonly recorded?: RecordedInstance;
}): Step[] {
  if (!p.reasons.has('persistent_disk')) return [];
  const had = Boolean(p.recorded?.disk);
  if (p.desired!.persistentDisk.size === 0) return had ? [s('orphan_disk')] : [];
  return had ? [s('create_disk'), s('migrate_disk')] : [s('create_disk')];
}

function tail(d: DesiredInstance): readonly Step[] {
  return d.state === 'started' ? RUN : [recordState('stopped')];
}

/** The steps a new VM is made in (the "Creating missing vms" stage): creation and the disk it keeps. */
export function isVmCreationStep(step: Step): boolean {
  return step.kind === 'create_vm' || step.kind === 'attach_disk';
}

/** `stop`: drain and stop; `--hard` also deletes the VM and keeps the disk (`detached`). */
export function stopSteps(hard: boolean): Step[] {
  return hard
    ? [s('drain'), s('stop'), s('detach_disks'), s('delete_vm'), recordState('detached')]
    : [s('drain'), s('stop'), recordState('stopped')];
}

/** `start` of a stopped instance on its VM. */
export function startSteps(): Step[] {
  return [s('start'), s('watch'), recordState('started')];
}

/** cloud-check's reboot_vm: the VM rebooted through the CPI, its jobs started again. */
export function rebootSteps(): Step[] {
  return [s('reboot_vm'), s('start')];
}

/** cloud-check's reattach_disk: the instance's disk attached to its VM again and mounted. */
export function reattachSteps(): Step[] {
  return [s('attach_disk')];
}

/** `restart`: stop and start on the same VM. */
export function restartSteps(): Step[] {
  return [s('drain'), s('stop'), s('start'), s('watch'), recordState('started')];
}
