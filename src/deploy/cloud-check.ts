import { setTimeout as delay } from 'node:timers/promises';
import { DirectorError } from '../errors.js';
import { instanceLabel } from '../plan/instance-plan.js';
import { reattachSteps, rebootSteps } from '../plan/steps.js';
import type { InstanceRecord, JsonObject, VmRecord } from '../state/index.js';
import type { StepTarget } from './deployer.js';
import type { Director } from './director.js';
import { restrictPlan } from './lifecycle.js';
import type { InstanceAgent } from './ports.js';
import { appliedSpecOf } from './recorded.js';
import type { Task } from './task.js';

/** The kinds of problem `cloud-check` finds, named as the BOSH director names them. */
export type ProblemType = 'missing_vm' | 'unresponsive_agent' | 'missing_disk' | 'mount_info_mismatch' | 'vm_intent';

/** A resolution: BOSH's name (`recreate_vm`) and the plan text it prints (`Recreate VM`). */
export interface Resolution {
  readonly name: string;
  readonly plan: string;
}

export interface Problem {
  readonly id: number;
  readonly type: ProblemType;
  readonly description: string;
  readonly instance: string;
  readonly resolutions: readonly Resolution[];
  /** What `--auto` applies. */
  readonly recommended: string;
  readonly subject: { readonly uuid: string; readonly vm?: VmRecord; readonly diskCid?: string };
}

const SKIP: Resolution = { name: 'ignore', plan: 'Skip for now' };
const RECREATE: Resolution = { name: 'recreate_vm', plan: 'Recreate VM' };
const REBOOT: Resolution = { name: 'reboot_vm', plan: 'Reboot VM' };
const DELETE_VM: Resolution = { name: 'delete_vm', plan: 'Delete VM' };
const DELETE_VM_REF: Resolution = { name: 'delete_vm_reference', plan: 'Delete VM reference' };
const DELETE_DISK_REF: Resolution = { name: 'delete_disk_reference', plan: 'Delete disk reference (DANGEROUS!)' };
const REATTACH: Resolution = { name: 'reattach_disk', plan: 'Reattach disk to instance' };
const REATTACH_REBOOT: Resolution = { name: 'reattach_disk_and_reboot', plan: 'Reattach disk and reboot instance' };

export interface ScanOptions {
  /** How long an agent may take to answer get_state before it counts as unresponsive. */
  readonly agentTimeoutMs?: number;
}

function agentOf(director: Director, vm: VmRecord): InstanceAgent {
  if (!vm.ips[0] || !vm.hostPublicKey) throw new DirectorError(`VM '${vm.cid}' has no address or host key recorded`);
  const inst = vm.instance ? director.services.store.instances.get(vm.instance) : undefined;
  return director.services.agents.agent({
    address: vm.ips[0],
    hostPublicKey: vm.hostPublicKey,
    agentId: vm.agentId,
    ...(inst ? { instance: instanceLabel(inst) } : {}),
  });
}

async function responds(agent: InstanceAgent, timeoutMs: number): Promise<boolean> {
  const ac = new AbortController();
  try {
    return await Promise.race([agent.getState().then(() => true), delay(timeoutMs, false, { signal: ac.signal })]);
  } catch {
    return false;
  } finally {
    ac.abort();
  }
}

/**
 * Compares a deployment's recorded VMs and disks with the cloud and the agents: VMs the CPI no
 * longer has, agents that do not answer, disks that are gone or not attached, and VM intents a
 * crash left (their VM, if the CPI made it, is found by agent id). Changes nothing.
 */
export async function scanForProblems(
  director: Director,
  deployment: string,
  opts: ScanOptions = {},
): Promise<Problem[]> {
  const { store, cpi } = director.services;
  if (!store.deployments.get(deployment)) throw new DirectorError(`Deployment '${deployment}' does not exist`);
  const timeoutMs = opts.agentTimeoutMs ?? 10_000;
  const found: Omit<Problem, 'id'>[] = [];
  const instances = store.instances.list(deployment);
  const name = (i: InstanceRecord) => instanceLabel(i);
  try {
    await Promise.all(
      instances.map(async (i) => {
        const vms = store.vms.listByInstance(i.uuid);
        let live: VmRecord | undefined;
        for (const vm of vms) {
          if (vm.state !== 'created' || !vm.cid) {
            found.push({
              type: 'vm_intent',
              instance: name(i),
              description: `VM for '${name(i)}' was being ${vm.state === 'intent' ? 'created' : 'deleted'} when a task ended (agent id '${vm.agentId}')`,
              resolutions: [SKIP, DELETE_VM],
              recommended: DELETE_VM.name,
              subject: { uuid: i.uuid, vm },
            });
            continue;
          }
          const exists = await cpi.cpi.hasVm(vm.cid).catch((err: unknown) => {
            throw new DirectorError(`Checking VM '${vm.cid}' of '${name(i)}'`, { cause: err });
          });
          if (!exists) {
            found.push({
              type: 'missing_vm',
              instance: name(i),
              description: `VM for '${name(i)}' with cloud ID '${vm.cid}' missing.`,
              resolutions: [SKIP, RECREATE, DELETE_VM_REF],
              recommended: RECREATE.name,
              subject: { uuid: i.uuid, vm },
            });
            continue;
          }
          if (!(await responds(agentOf(director, vm), timeoutMs))) {
            found.push({
              type: 'unresponsive_agent',
              instance: name(i),
              description: `VM for '${name(i)}' with cloud ID '${vm.cid}' is not responding.`,
              resolutions: [SKIP, REBOOT, RECREATE, DELETE_VM, DELETE_VM_REF],
              recommended: RECREATE.name,
              subject: { uuid: i.uuid, vm },
            });
            continue;
          }
          live = vm;
        }
        for (const disk of store.disks.listByInstance(i.uuid)) {
          if (!disk.cid || !disk.active || disk.state === 'orphaned') continue;
          const label = `'${disk.cid}' (${i.group}/${i.uuid}, ${disk.sizeMb}M)`;
          if (!(await cpi.cpi.hasDisk(disk.cid))) {
            found.push({
              type: 'missing_disk',
              instance: name(i),
              description: `Disk ${label} is missing`,
              resolutions: [SKIP, DELETE_DISK_REF],
              recommended: SKIP.name,
              subject: { uuid: i.uuid, diskCid: disk.cid },
            });
            continue;
          }
          if (live?.cid && i.state !== 'detached') {
            const attached = await cpi.cpi.getDisks(live.cid);
            if (!attached.includes(disk.cid) || disk.state !== 'attached') {
              found.push({
                type: 'mount_info_mismatch',
                instance: name(i),
                description: `Disk ${label} is not attached to VM '${live.cid}'`,
                resolutions: [SKIP, REATTACH, REATTACH_REBOOT],
                recommended: REATTACH.name,
                subject: { uuid: i.uuid, vm: live, diskCid: disk.cid },
              });
            }
          }
        }
      }),
    );
  } finally {
    await director.services.agents.closeAll();
  }
  const order = new Map(instances.map((i, n) => [i.uuid, n]));
  return found
    .sort((a, b) => order.get(a.subject.uuid)! - order.get(b.subject.uuid)! || a.type.localeCompare(b.type))
    .map((p, n) => ({ ...p, id: n + 1 }));
}

/**
 * Applies one resolution per problem (`choices`: problem id → resolution name; problems not
 * named are skipped). VMs to recreate are deleted (or forgotten when already gone) and the
 * recorded manifest is converged for those instances: a new VM, the persistent disk reattached,
 * the jobs applied and started.
 */
export async function resolveProblems(
  director: Director,
  deployment: string,
  problems: readonly Problem[],
  choices: ReadonlyMap<number, string>,
  task: Task,
): Promise<void> {
  const { store } = director.services;
  const deployer = director.deployer();
  const recreate = new Set<string>();
  const target = (p: Problem): StepTarget => {
    const i = store.instances.get(p.subject.uuid);
    return { uuid: p.subject.uuid, label: i ? instanceLabel(i) : p.instance };
  };
  const forgetVm = async (vm: VmRecord, deleteIt: boolean) => {
    if (deleteIt && vm.cid) {
      // A VM the CPI says is gone may still have leftovers (its folder, its address): delete_vm cleans them.
      await director.services.cpi.cpi.deleteVm(vm.cid).catch(async (err: unknown) => {
        if (await director.services.cpi.cpi.hasVm(vm.cid!)) throw err;
      });
    }
    for (const d of store.disks.listByInstance(vm.instance ?? ''))
      if (d.cid && d.state === 'attached') store.disks.markDetached(d.cid);
    if (vm.cid) store.vms.remove(vm.cid);
    else store.vms.removeByAgentId(vm.agentId);
    if (vm.instance) {
      const applied = appliedSpecOf(store.instances.get(vm.instance)?.appliedSpec ?? null);
      if (applied.vm?.agentId === vm.agentId)
        store.instances.setAppliedSpec(vm.instance, { ...(applied.jobs ? { jobs: applied.jobs } : {}) } as JsonObject);
    }
  };
  try {
    for (const p of problems) {
      const choice = choices.get(p.id) ?? SKIP.name;
      const res = p.resolutions.find((r) => r.name === choice);
      if (!res)
        throw new DirectorError(
          `Problem ${p.id} (${p.type}) has no resolution '${choice}' (resolutions: ${p.resolutions.map((r) => r.name).join(', ')})`,
        );
      if (res.name === SKIP.name) continue;
      await task.step('Applying problem resolutions', `${p.description}: ${res.plan}`, async () => {
        const vm = p.subject.vm;
        switch (res.name) {
          case DELETE_VM.name:
            if (p.type === 'vm_intent') await deployer.deleteVm(vm!.agentId, vm!.cid);
            else await forgetVm(vm!, true);
            return;
          case DELETE_VM_REF.name:
            await forgetVm(vm!, false);
            return;
          case RECREATE.name:
            await forgetVm(vm!, true);
            recreate.add(p.subject.uuid);
            return;
          case REBOOT.name:
            await deployer.runInstance('Rebooting instance', target(p), rebootSteps(), { deployment });
            return;
          case DELETE_DISK_REF.name: {
            if (vm?.cid) {
              await agentOf(director, vm)
                .unmountDisk(p.subject.diskCid!)
                .catch(() => undefined);
              await director.services.cpi.cpi.detachDisk(vm.cid, p.subject.diskCid!).catch(() => undefined);
            }
            store.disks.remove(p.subject.diskCid!);
            return;
          }
          case REATTACH.name:
            await deployer.runInstance('Reattaching disk of instance', target(p), reattachSteps(), { deployment });
            return;
          case REATTACH_REBOOT.name: {
            const hint = await director.services.cpi.cpi.attachDisk(vm!.cid!, p.subject.diskCid!);
            store.disks.markAttached(p.subject.diskCid!);
            if (res.name === REATTACH_REBOOT.name) await director.services.cpi.cpi.rebootVm(vm!.cid!);
            await agentOf(director, vm!).mountDisk(p.subject.diskCid!, hint);
            return;
          }
          default:
            throw new DirectorError(`Unknown resolution '${res.name}'`);
        }
      });
    }
  } finally {
    await director.services.agents.closeAll();
  }
  if (recreate.size) {
    const prepared = await director.prepareRecorded(deployment);
    await director.apply({ ...prepared, plan: restrictPlan(prepared.plan, recreate) }, task, {});
  }
}
