import { randomUUID } from 'node:crypto';
import type { Cpi, Networks, VmEnv } from '../../cpi/contract.js';
import { DirectorError } from '../errors.js';
import {
  instanceLabel,
  stemcellKey,
  vmDigests,
  type DesiredInstance,
  type InstancePlan,
  type VmShown,
} from '../plan/instance-plan.js';
import type { DeploymentPlan, RenderedJob } from '../plan/plan.js';
import { isVmCreationStep, STEP_GERUND, type Step } from '../plan/steps.js';
import type { EnvironmentRecord, JsonObject, StateStore } from '../state/index.js';
import type { AgentDialer, HostKeyMaker, InstanceAgent } from './ports.js';
import { inPool } from './pool.js';
import { appliedSpecOf, type AppliedSpec } from './recorded.js';
import { runSchedule, scheduleDeployment, withOverrides } from './schedule.js';
import type { Task } from './task.js';

export type WatchTime = { readonly min: number; readonly max: number };

export interface DeployerDeps {
  readonly store: StateStore;
  readonly cpi: Cpi;
  readonly agents: AgentDialer;
  readonly hostKeys: HostKeyMaker;
  readonly environment: EnvironmentRecord;
  /** Stemcell (name-or-os/version) → cid. */
  readonly stemcellCid: (s: DesiredInstance['stemcell']) => string;
  /** Sleeps `ms` (the clock's business: tests and benches pass their own). */
  readonly sleep: (ms: number) => Promise<void>;
  /**
   * Finds a VM the CPI made for an agent id that the state never confirmed (an intent row left
   * by a crash between create_vm and its answer), so that it can be deleted rather than leaked.
   */
  readonly findVmByAgentId?: (agentId: string) => Promise<string | undefined>;
  /** Milliseconds since some fixed point (the watch's clock; default performance.now). */
  readonly now?: () => number;
}

export interface DeployOptions {
  readonly skipDrain?: boolean;
  /** How many VMs are created at once in the "Creating missing vms" stage. */
  readonly vmCreationPool?: number;
  /** Overrides of the manifest's update block (deploy --canaries / --max-in-flight). */
  readonly canaries?: number;
  readonly maxInFlight?: { count: number } | { percent: number };
}

/** The instance a run of steps acts on, and what the steps that make or fill its VM need. */
export interface StepTarget {
  readonly uuid: string;
  /** `group/uuid (index)`, from `instanceLabel`. */
  readonly label: string;
  readonly desired?: DesiredInstance;
  /** The desired VM as shown (masked): recorded in the applied spec by create_vm. */
  readonly vmShown?: VmShown;
  /** The rendered jobs `apply` installs. */
  readonly jobs?: readonly RenderedJob[];
}

/** How the steps of one run behave. */
export interface StepContext {
  readonly deployment: string;
  /** How long `watch` waits for the jobs to run (canary or update watch time). */
  readonly watch?: WatchTime;
  readonly skipDrain?: boolean;
  /** Carry on past an agent that does not drain or stop (deleting an instance, stop --hard). */
  readonly tolerateAgent?: boolean;
  /** Forget what the CPI refused to detach or delete (delete-deployment --force). */
  readonly force?: boolean;
}

/** What the steps of one run hand each other. */
interface RunState {
  /** The disk create_disk made, which migrate_disk fills. */
  newDisk?: string;
  /** The jobs apply installed, which record_state records. */
  applied?: readonly RenderedJob[];
  /** An agent step failed and was tolerated: the agent is not asked again in this run. */
  agentGone?: boolean;
}

const NO_WATCH: WatchTime = { min: 0, max: 0 };

/** The target of an instance plan's steps. */
export function planTarget(p: InstancePlan, plan: DeploymentPlan): StepTarget {
  const uuid = p.desired?.uuid ?? p.recorded!.uuid;
  return {
    uuid,
    label: p.label,
    ...(p.desired ? { desired: p.desired } : {}),
    ...(p.vmShown ? { vmShown: p.vmShown } : {}),
    jobs: plan.rendered.get(uuid) ?? [],
  };
}

/**
 * The step interpreter. A plan says, per instance, which steps to take (see plan/steps.ts); this
 * takes them, one CPI or agent call at a time, and decides nothing the plan did not say. Each
 * cloud resource is recorded as an intent before the CPI call that makes it and completed right
 * after, so a crash leaks nothing; each step's failure is wrapped with its gerund and the run's
 * with the instance (`Updating instance 'worker/… (2)': Applying jobs: …`).
 *
 * `apply` runs a deploy's plan as the BOSH director does: unneeded instances are deleted, every
 * missing VM is created up front in one pool, then the instance groups are updated in order,
 * canaries first, then in batches of max_in_flight. Lifecycle commands, errands and cloud-check
 * run restricted step lists through `runInstance`.
 */
export class Deployer {
  constructor(private readonly deps: DeployerDeps) {}

  async apply(plan: DeploymentPlan, task: Task, opts: DeployOptions = {}): Promise<void> {
    const { store } = this.deps;
    store.deployments.ensure(plan.deployment);

    // Record new instances and every address the plan hands out before touching the cloud.
    await task.step('Preparing deployment', 'Preparing deployment', async () => {
      store.transaction(() => {
        for (const g of plan.groups) {
          for (const p of g.plans) {
            const d = p.desired!;
            // A service instance the plan leaves unchanged keeps its record and addresses as they
            // are (a plan restricted to some instances, as start/recreate/cloud-check make, must
            // not touch the others).
            if (p.action === 'unchanged' && d.lifecycle === 'service' && store.instances.get(d.uuid)) continue;
            if (!store.instances.get(d.uuid)) {
              store.instances.create({
                deployment: plan.deployment,
                group: d.group,
                index: d.index,
                uuid: d.uuid,
                az: d.az,
                bootstrap: d.bootstrap,
                state: 'started',
              });
            } else {
              store.instances.update(d.uuid, { index: d.index, az: d.az, bootstrap: d.bootstrap });
            }
            this.reserveAddresses(plan.deployment, d);
            store.instances.setDesiredSpec(d.uuid, {
              vm_type: d.vmType ?? null,
              az: d.az,
              stemcell: stemcellKey(d.stemcell),
              vm_extensions: [...d.vmExtensions],
              lifecycle: d.lifecycle,
            });
          }
        }
      });
    });

    const base: StepContext = { deployment: plan.deployment, ...(opts.skipDrain ? { skipDrain: true } : {}) };
    const deletions = plan.deletions;
    if (deletions.length) {
      await inPool(deletions, 8, (p, i) =>
        task.step(
          'Deleting unneeded instances',
          p.label,
          () => this.runInstance('Deleting instance', planTarget(p, plan), p.steps, { ...base, tolerateAgent: true }),
          {
            index: i + 1,
            total: deletions.length,
          },
        ),
      );
    }

    const service = plan.groups.filter((g) => g.group.lifecycle === 'service');
    // A missing VM is made in the creation stage; the rest of its steps run in its group's turn.
    const missing = service.flatMap((g) => g.plans.filter((p) => p.action === 'create'));
    const created = new Set<string>();
    if (missing.length) {
      await inPool(missing, opts.vmCreationPool ?? 8, async (p, i) => {
        await task.step(
          'Creating missing vms',
          p.label,
          () => this.runInstance('Creating instance', planTarget(p, plan), creationSteps(p.steps), base),
          { index: i + 1, total: missing.length },
        );
        created.add(p.desired!.uuid);
      });
    }

    const schedule = scheduleDeployment(
      service.map((g) => ({
        name: g.group.name,
        policy: withOverrides(g.group.update, opts),
        size: g.group.instances,
        plans: g.plans,
      })),
    );
    // A batch settles whole before a failure stops the deploy: nothing is left running behind it.
    await runSchedule(schedule, (p, { group: g, canary }) =>
      task.step(`Updating instance ${g.group}`, `${p.label}${canary ? ' (canary)' : ''}`, () =>
        this.runInstance(
          'Updating instance',
          planTarget(p, plan),
          created.has(p.desired!.uuid) ? p.steps.slice(creationSteps(p.steps).length) : p.steps,
          {
            ...base,
            watch: canary ? g.policy.canaryWatchTime : g.policy.updateWatchTime,
          },
        ),
      ),
    );

    const changed = service.flatMap((g) => g.plans.filter((p) => p.action !== 'unchanged'));
    if (changed.length) {
      const withPostDeploy = service
        .flatMap((g) => g.plans)
        .filter((p) => (plan.rendered.get(p.desired!.uuid) ?? []).some((j) => 'bin/post-deploy' in j.templates));
      await inPool(withPostDeploy, 8, (p) =>
        task.step('Running post-deploy', p.label, () =>
          this.agentFor(p.desired!.uuid)
            .runScript('post-deploy')
            .catch((err: unknown) => {
              throw new DirectorError(`Running post-deploy on instance '${p.label}'`, { cause: err });
            }),
        ),
      );
    }
  }

  /**
   * Takes `steps` on one instance, in order; the first failure stops them and is thrown as
   * `<doing> '<label>': <step gerund>: <cause>`.
   */
  async runInstance(doing: string, target: StepTarget, steps: readonly Step[], ctx: StepContext): Promise<void> {
    const run: RunState = {};
    for (const step of steps) {
      try {
        await this.runStep(step, target, ctx, run);
      } catch (err) {
        throw new DirectorError(`${doing} '${target.label}'`, {
          cause: new DirectorError(STEP_GERUND[step.kind], { cause: err }),
        });
      }
    }
  }

  private async runStep(step: Step, t: StepTarget, ctx: StepContext, run: RunState): Promise<void> {
    const { store, cpi } = this.deps;
    switch (step.kind) {
      case 'drain':
        if (ctx.skipDrain) return;
        return this.agentStep(t, ctx, run, (a) => a.drain());
      case 'stop':
        return this.agentStep(t, ctx, run, (a) => a.stop());
      case 'detach_disks':
        return this.detachDisks(t.uuid, Boolean(ctx.force));
      case 'delete_vm': {
        for (const vm of store.vms.listByInstance(t.uuid)) {
          try {
            await this.deleteVm(vm.agentId, vm.cid);
          } catch (err) {
            if (!ctx.force) throw err;
            // --force: the VM is forgotten even though the CPI could not delete it.
            if (vm.cid) store.vms.remove(vm.cid);
            else store.vms.removeByAgentId(vm.agentId);
          }
        }
        // The instance keeps the jobs it had; the VM they ran on is gone.
        const applied = appliedSpecOf(store.instances.get(t.uuid)?.appliedSpec ?? null);
        if (applied.vm && store.instances.get(t.uuid))
          store.instances.setAppliedSpec(t.uuid, { ...(applied.jobs ? { jobs: applied.jobs } : {}) } as JsonObject);
        return;
      }
      case 'create_vm':
        return this.createVm(t, ctx.deployment);
      case 'attach_disk': {
        const disk = this.activeDisk(t.uuid);
        if (!disk) return;
        const vm = this.vmOf(t.uuid);
        const hint = await cpi.attachDisk(vm.cid!, disk);
        store.disks.markAttached(disk);
        await this.agentFor(t.uuid).mountDisk(disk, hint);
        return;
      }
      case 'create_disk': {
        const d = this.desiredOf(t, step);
        const vm = this.vmOf(t.uuid);
        const old = this.activeDisk(t.uuid);
        const intent = store.disks.recordIntent({
          instance: t.uuid,
          sizeMb: d.persistentDisk.size,
          cloudProperties: d.persistentDisk.cloudProperties as JsonObject,
        });
        let cid: string;
        try {
          cid = await cpi.createDisk(d.persistentDisk.size, d.persistentDisk.cloudProperties, vm.cid!);
        } catch (err) {
          store.disks.fail(intent.id);
          throw err;
        }
        store.disks.complete(intent.id, cid);
        const hint = await cpi.attachDisk(vm.cid!, cid);
        store.disks.markAttached(cid);
        await this.agentFor(t.uuid).mountDisk(cid, hint);
        run.newDisk = cid;
        // With an old disk, the new one becomes the instance's once the data moved (migrate_disk).
        if (!old) store.disks.activate(cid);
        return;
      }
      case 'migrate_disk': {
        const old = this.activeDisk(t.uuid);
        if (!run.newDisk) throw new DirectorError('No new disk was made to migrate to');
        const vm = this.vmOf(t.uuid);
        if (old && old !== run.newDisk) {
          // Data moves from the old disk to the new one; the old one becomes an orphan.
          const agent = this.agentFor(t.uuid);
          await agent.migrateDisk(old, run.newDisk);
          await agent.unmountDisk(old);
          await cpi.detachDisk(vm.cid!, old);
          store.disks.markDetached(old);
          store.disks.orphan(old);
        }
        store.disks.activate(run.newDisk);
        return;
      }
      case 'orphan_disk': {
        const old = this.activeDisk(t.uuid);
        if (!old) return;
        const vm = this.vmOf(t.uuid);
        await this.agentFor(t.uuid).unmountDisk(old);
        await cpi.detachDisk(vm.cid!, old);
        store.disks.markDetached(old);
        store.disks.orphan(old);
        return;
      }
      case 'apply': {
        const jobs = t.jobs ?? [];
        await this.agentFor(t.uuid).apply(jobs);
        run.applied = jobs;
        return;
      }
      case 'pre_start':
        return this.agentFor(t.uuid).runScript('pre-start');
      case 'start':
        return this.agentFor(t.uuid).start();
      case 'watch':
        return this.watch(this.agentFor(t.uuid), t.label, ctx.watch ?? NO_WATCH);
      case 'post_start':
        return this.agentFor(t.uuid).runScript('post-start');
      case 'record_state': {
        if (run.applied) {
          const prev = appliedSpecOf(store.instances.get(t.uuid)?.appliedSpec ?? null);
          store.instances.setAppliedSpec(t.uuid, {
            ...prev,
            jobs: Object.fromEntries(run.applied.map((j) => [j.name, j.digest])),
          } as unknown as JsonObject);
        }
        store.instances.update(t.uuid, { state: step.state ?? 'started' });
        return;
      }
      case 'forget_instance':
        return this.forgetInstance(t.uuid);
      case 'reboot_vm':
        return cpi.rebootVm(this.vmOf(t.uuid).cid!);
    }
  }

  /** An agent call; where the context tolerates it, a failure is passed over and the agent not asked again. */
  private async agentStep(
    t: StepTarget,
    ctx: StepContext,
    run: RunState,
    call: (a: InstanceAgent) => Promise<void>,
  ): Promise<void> {
    if (run.agentGone) return;
    // No VM, no agent to drain or stop: the instance's jobs are not running anywhere.
    if (!this.liveVm(t.uuid)) return;
    try {
      await call(this.agentFor(t.uuid));
    } catch (err) {
      // BOSH carries on deleting (or hard-stopping) an instance whose agent does not answer.
      if (!ctx.tolerateAgent) throw err;
      run.agentGone = true;
    }
  }

  private desiredOf(t: StepTarget, step: Step): DesiredInstance {
    if (!t.desired) throw new DirectorError(`The plan gives no desired state for '${t.label}' (step ${step.kind})`);
    return t.desired;
  }

  /** Creates (or replaces) an instance's VM and bootstraps its agent. */
  private async createVm(t: StepTarget, deployment: string): Promise<void> {
    const { store, cpi, environment } = this.deps;
    const d = this.desiredOf(t, { kind: 'create_vm' });
    // A VM left from an interrupted run (recorded but never confirmed) is removed first.
    for (const vm of store.vms.listByInstance(d.uuid)) await this.deleteVm(vm.agentId, vm.cid);
    const agentId = randomUUID();
    const hostKey = this.deps.hostKeys.make();
    const stemcellCid = this.deps.stemcellCid(d.stemcell);
    const ips = d.networks.map((n) => n.ip).filter((x): x is string => x !== null);
    // Record the VM before the call that makes it, so a crash during the call leaks nothing.
    store.vms.recordIntent({
      agentId,
      instance: d.uuid,
      stemcellCid,
      ips,
      cloudProperties: d.cloudProperties as JsonObject,
      hostPublicKey: hostKey.publicKey,
    });
    const env: VmEnv = {
      bosh: {
        group: `${deployment}-${d.group}`,
        groups: [environment.name, deployment, d.group, `${deployment}-${d.group}`],
      },
      director: {
        uuid: environment.directorUuid,
        deployment,
        instance: { group: d.group, index: d.index, id: d.uuid },
        agentId,
      },
      ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [environment.sshKey.publicKey] },
    };
    const disk = this.activeDisk(d.uuid);
    let vmCid: string;
    try {
      const created = await cpi.createVm(
        agentId,
        stemcellCid,
        d.cloudProperties,
        networksFor(d),
        disk ? [disk] : [],
        env,
      );
      vmCid = created.vmCid;
    } catch (err) {
      store.vms.fail(agentId);
      throw err;
    }
    // ... and complete it right after, before anything else can fail.
    store.vms.complete(agentId, vmCid);
    await cpi.setVmMetadata(vmCid, {
      director: environment.name,
      deployment,
      instance_group: d.group,
      index: String(d.index),
      id: d.uuid,
      name: `${d.group}/${d.uuid}`,
    });
    await this.agentFor(d.uuid).bootstrap({
      agentId,
      directorUuid: environment.directorUuid,
      deployment,
      instance: { group: d.group, index: d.index, id: d.uuid, az: d.az, bootstrap: d.bootstrap },
      networks: Object.fromEntries(d.networks.map((n) => [n.name, { ip: n.ip }])),
      vmCid,
    });
    // A new VM has no jobs yet: the applied spec starts again from the VM it was made from. Only
    // once its agent is in place: a VM whose bootstrap failed (a gateway lost meanwhile) is not
    // the instance's VM yet, and the next deploy makes it again.
    const next: AppliedSpec = {
      vm: { agentId, stemcell: stemcellKey(d.stemcell), ...vmDigests(d), ...(t.vmShown ? { shown: t.vmShown } : {}) },
    };
    store.instances.setAppliedSpec(d.uuid, next as unknown as JsonObject);
  }

  /** Polls the agent until every process runs, for at most the watch time's maximum. */
  private async watch(agent: InstanceAgent, label: string, w: WatchTime): Promise<void> {
    const now = this.deps.now ?? (() => performance.now());
    const start = now();
    let last = 'unknown';
    for (;;) {
      const s = await agent.getState();
      last = s.state;
      if (s.state === 'running') return;
      if (now() - start >= w.max) break;
      await this.deps.sleep(Math.min(1000, Math.max(50, w.min / 10)));
    }
    throw new DirectorError(`'${label}' is not running after update. Review logs for failed jobs (state: ${last})`);
  }

  private async detachDisks(uuid: string, force: boolean): Promise<void> {
    const { store, cpi } = this.deps;
    const vm = this.liveVm(uuid);
    if (!vm) return;
    for (const disk of store.disks.listByInstance(uuid)) {
      if (disk.cid && disk.state === 'attached') {
        try {
          await this.agentFor(uuid).unmountDisk(disk.cid);
        } catch {
          // An unreachable agent cannot unmount; the VM is going away anyway.
        }
        try {
          await cpi.detachDisk(vm.cid!, disk.cid);
        } catch (err) {
          if (!force && (await cpi.hasVm(vm.cid!).catch(() => true)))
            throw new DirectorError(`Detaching disk '${disk.cid}'`, { cause: err });
          // The VM is gone (or --force): the disk is attached to nothing any more.
        }
        store.disks.markDetached(disk.cid);
      }
    }
  }

  /** Orphans the instance's disks, releases its addresses and forgets it. */
  private forgetInstance(uuid: string): void {
    const { store } = this.deps;
    for (const disk of store.disks.listByInstance(uuid)) {
      if (!disk.cid) {
        store.disks.fail(disk.id);
        continue;
      }
      if (disk.state === 'attached') store.disks.markDetached(disk.cid);
      if (disk.state !== 'orphaned') store.disks.orphan(disk.cid);
    }
    store.transaction(() => {
      store.ips.releaseForInstance(uuid);
      store.instances.delete(uuid);
    });
  }

  /**
   * Deletes the VM record (and the VM) with cid or intent `agentId`: marked deleting before
   * delete_vm, removed after. An intent without a cid: the CPI may have made the VM before a
   * crash; it is found by the agent id it was given and deleted, so nothing leaks.
   */
  async deleteVm(agentId: string, cid: string | null): Promise<void> {
    const { store, cpi } = this.deps;
    if (cid) {
      store.vms.markDeleting(cid);
      await cpi.deleteVm(cid);
      store.vms.remove(cid);
    } else {
      const found = await this.deps.findVmByAgentId?.(agentId);
      if (found) await cpi.deleteVm(found);
      store.vms.removeByAgentId(agentId);
    }
  }

  private reserveAddresses(deployment: string, d: DesiredInstance): void {
    const { store } = this.deps;
    const held = store.ips.list({ deployment, instance: d.uuid });
    for (const n of d.networks) {
      if (!n.ip) continue;
      for (const h of held) if (h.network === n.name && h.ip !== n.ip) store.ips.release(h.network, h.ip);
      if (!held.some((h) => h.network === n.name && h.ip === n.ip))
        store.ips.reserve({
          deployment,
          network: n.name,
          ip: n.ip,
          instance: d.uuid,
          type: n.static ? 'static' : 'dynamic',
        });
    }
  }

  /** The instance's VM that exists (created, with a cid), if any. */
  private liveVm(uuid: string) {
    return this.deps.store.vms.listByInstance(uuid).find((v) => v.cid !== null && v.state === 'created');
  }

  private vmOf(uuid: string) {
    const vm = this.liveVm(uuid);
    if (!vm) throw new DirectorError(`Instance '${uuid}' has no VM`);
    return vm;
  }

  /** The instance's persistent disk in use (active, made, not orphaned), by cid. */
  private activeDisk(uuid: string): string | undefined {
    return (
      this.deps.store.disks.listByInstance(uuid).find((x) => x.active && x.cid !== null && x.state !== 'orphaned')
        ?.cid ?? undefined
    );
  }

  /** The agent of an instance's VM. */
  agentFor(uuid: string): InstanceAgent {
    const vm = this.vmOf(uuid);
    const inst = this.deps.store.instances.get(uuid);
    const address = vm.ips[0];
    if (!address || !vm.hostPublicKey)
      throw new DirectorError(
        `VM '${vm.cid}' of instance '${inst ? instanceLabel(inst) : uuid}' has no address or host key recorded`,
      );
    return this.deps.agents.agent({
      address,
      hostPublicKey: vm.hostPublicKey,
      agentId: vm.agentId,
      ...(inst ? { instance: instanceLabel(inst) } : {}),
    });
  }
}

/** The leading steps that make an instance's VM (run in the "Creating missing vms" stage). */
function creationSteps(steps: readonly Step[]): readonly Step[] {
  const n = steps.findIndex((s) => !isVmCreationStep(s));
  return n === -1 ? steps : steps.slice(0, n);
}

/** The CPI's view of an instance's networks. */
export function networksFor(d: DesiredInstance): Networks {
  return Object.fromEntries(
    d.networks.map((n) => [
      n.name,
      {
        type: n.type,
        ...(n.ip ? { ip: n.ip } : {}),
        ...(n.netmask ? { netmask: n.netmask } : {}),
        ...(n.gateway ? { gateway: n.gateway } : {}),
        dns: n.dns,
        default: n.default,
        cloud_properties: n.cloudProperties,
      },
    ]),
  );
}
