import { randomUUID } from 'node:crypto';
import type { Cpi, Networks, VmEnv } from '../../cpi/contract.js';
import { DirectorError } from '../errors.js';
import { digest, instanceLabel, stemcellKey, vmDigests, type DesiredInstance, type InstancePlan, type RecordedInstance } from '../plan/instance-plan.js';
import type { DeploymentPlan } from '../plan/plan.js';
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
}

export interface DeployOptions {
  readonly skipDrain?: boolean;
  /** How many VMs are created at once in the "Creating missing vms" stage. */
  readonly vmCreationPool?: number;
  /** Overrides of the manifest's update block (deploy --canaries / --max-in-flight). */
  readonly canaries?: number;
  readonly maxInFlight?: { count: number } | { percent: number };
}

/**
 * Applies a plan, as the BOSH director does: unneeded instances are deleted, every missing VM is
 * created up front in one pool, then the instance groups are updated in order, canaries first,
 * then in batches of max_in_flight. Each cloud resource is recorded as an intent before the CPI
 * call that makes it and completed right after, so that a crash leaks nothing. It never re-plans.
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
              store.instances.create({ deployment: plan.deployment, group: d.group, index: d.index, uuid: d.uuid, az: d.az, bootstrap: d.bootstrap, state: 'started' });
            } else {
              store.instances.update(d.uuid, { index: d.index, az: d.az, bootstrap: d.bootstrap });
            }
            this.reserveAddresses(plan.deployment, d);
            store.instances.setDesiredSpec(d.uuid, { vm_type: d.vmType ?? null, az: d.az, stemcell: stemcellKey(d.stemcell), vm_extensions: [...d.vmExtensions], lifecycle: d.lifecycle });
          }
        }
      });
    });

    const deletions = plan.deletions;
    if (deletions.length) {
      await inPool(deletions, 8, (p, i) => task.step('Deleting unneeded instances', `${p.label}`, () => this.deleteInstance(p.recorded!, opts), { index: i + 1, total: deletions.length }));
    }

    const service = plan.groups.filter((g) => g.group.lifecycle === 'service');
    const missing = service.flatMap((g) => g.plans.filter((p) => p.action === 'create'));
    const created = new Set<string>();
    if (missing.length) {
      await inPool(missing, opts.vmCreationPool ?? 8, async (p, i) => {
        await task.step('Creating missing vms', p.label, () => this.createVm(p.desired!, plan), { index: i + 1, total: missing.length });
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
        this.updateInstance(p, plan, created.has(p.desired!.uuid), canary ? g.policy.canaryWatchTime : g.policy.updateWatchTime, opts),
      ),
    );

    const changed = service.flatMap((g) => g.plans.filter((p) => p.action !== 'unchanged'));
    if (changed.length) {
      const withPostDeploy = service.flatMap((g) => g.plans).filter((p) => (plan.rendered.get(p.desired!.uuid) ?? []).some((j) => 'bin/post-deploy' in j.templates));
      await inPool(withPostDeploy, 8, (p) => task.step('Running post-deploy', p.label, () => this.agentFor(p.desired!.uuid).runScript('post-deploy')));
    }
  }

  /** Creates (or replaces) an instance's VM and bootstraps its agent. */
  private async createVm(d: DesiredInstance, plan: DeploymentPlan): Promise<void> {
    const { store, cpi, environment } = this.deps;
    // A VM left from an interrupted run (recorded but never confirmed) is removed first.
    for (const vm of store.vms.listByInstance(d.uuid)) await this.deleteVmRecord(vm.agentId, vm.cid);
    const agentId = randomUUID();
    const hostKey = this.deps.hostKeys.make();
    const stemcellCid = this.deps.stemcellCid(d.stemcell);
    const ips = d.networks.map((n) => n.ip).filter((x): x is string => x !== null);
    store.vms.recordIntent({ agentId, instance: d.uuid, stemcellCid, ips, cloudProperties: d.cloudProperties as JsonObject, hostPublicKey: hostKey.publicKey });
    const env: VmEnv = {
      bosh: { group: `${plan.deployment}-${d.group}`, groups: [environment.name, plan.deployment, d.group, `${plan.deployment}-${d.group}`] },
      director: { uuid: environment.directorUuid, deployment: plan.deployment, instance: { group: d.group, index: d.index, id: d.uuid }, agentId },
      ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [environment.sshKey.publicKey] },
    };
    const disk = store.disks.listByInstance(d.uuid).find((x) => x.active && x.cid !== null && x.state !== 'orphaned');
    let vmCid: string;
    try {
      const created = await cpi.createVm(agentId, stemcellCid, d.cloudProperties, networksFor(d), disk?.cid ? [disk.cid] : [], env);
      vmCid = created.vmCid;
    } catch (err) {
      store.vms.fail(agentId);
      throw new DirectorError(`Creating VM for '${d.group}/${d.index}'`, { cause: err });
    }
    store.vms.complete(agentId, vmCid);
    // A new VM has no jobs yet: the applied spec starts again from the VM it was made from.
    const shown = plan.groups.flatMap((g) => g.plans).find((p) => p.desired?.uuid === d.uuid)?.vmShown;
    const next: AppliedSpec = { vm: { agentId, stemcell: stemcellKey(d.stemcell), ...vmDigests(d), ...(shown ? { shown } : {}) } };
    store.instances.setAppliedSpec(d.uuid, next as unknown as JsonObject);
    await cpi.setVmMetadata(vmCid, {
      director: environment.name,
      deployment: plan.deployment,
      instance_group: d.group,
      index: String(d.index),
      id: d.uuid,
      name: `${d.group}/${d.uuid}`,
    });
    const agent = this.agentFor(d.uuid);
    await agent.bootstrap({
      agentId,
      directorUuid: environment.directorUuid,
      deployment: plan.deployment,
      instance: { group: d.group, index: d.index, id: d.uuid, az: d.az, bootstrap: d.bootstrap },
      networks: Object.fromEntries(d.networks.map((n) => [n.name, { ip: n.ip }])),
      vmCid,
    });
    // A persistent disk that survived the old VM is attached and mounted again.
    if (disk?.cid) {
      const hint = await cpi.attachDisk(vmCid, disk.cid);
      store.disks.markAttached(disk.cid);
      await agent.mountDisk(disk.cid, hint);
    }
  }

  private async updateInstance(p: InstancePlan, plan: DeploymentPlan, vmJustCreated: boolean, watch: WatchTime, opts: DeployOptions): Promise<void> {
    const d = p.desired!;
    const { store } = this.deps;
    const jobs = plan.rendered.get(d.uuid) ?? [];
    const hasVm = Boolean(p.recorded?.vm) || vmJustCreated;
    if (hasVm && !vmJustCreated && p.recorded?.vm && p.recorded.appliedJobs) {
      // The instance runs: drain and stop it before changing it.
      const agent = this.agentFor(d.uuid);
      if (!opts.skipDrain) await agent.drain();
      await agent.stop();
    }
    if (p.action === 'recreate') {
      await this.detachDisks(d.uuid);
      for (const vm of store.vms.listByInstance(d.uuid)) await this.deleteVmRecord(vm.agentId, vm.cid);
      await this.createVm(d, plan);
    }
    if (p.reasons.has('persistent_disk')) await this.convergeDisk(d);
    if (d.state === 'stopped') {
      store.instances.update(d.uuid, { state: 'stopped' });
      return;
    }
    const agent = this.agentFor(d.uuid);
    await agent.apply(jobs);
    await agent.runScript('pre-start');
    await agent.start();
    await this.waitRunning(agent, d, watch);
    await agent.runScript('post-start');
    const prev = appliedSpecOf(store.instances.get(d.uuid)?.appliedSpec ?? null);
    store.instances.setAppliedSpec(d.uuid, { ...prev, jobs: Object.fromEntries(jobs.map((j) => [j.name, j.digest])) } as unknown as JsonObject);
    store.instances.update(d.uuid, { state: 'started' });
  }

  private waitRunning(agent: InstanceAgent, d: DesiredInstance, w: WatchTime): Promise<void> {
    return this.waitRunningLabel(agent, `${d.group}/${d.uuid} (${d.index})`, w);
  }

  /** Polls the agent until every process runs, for at most the watch time's maximum. */
  private async waitRunningLabel(agent: InstanceAgent, label: string, w: WatchTime): Promise<void> {
    const start = Date.now();
    let last = 'unknown';
    for (;;) {
      const s = await agent.getState();
      last = s.state;
      if (s.state === 'running') return;
      if (Date.now() - start >= w.max) break;
      await this.deps.sleep(Math.min(1000, Math.max(50, w.min / 10)));
    }
    throw new DirectorError(`'${label}' is not running after update. Review logs for failed jobs (state: ${last})`);
  }

  /** Makes the instance's persistent disk what the plan wants: create, resize by migration, or remove. */
  private async convergeDisk(d: DesiredInstance): Promise<void> {
    const { store, cpi } = this.deps;
    const vm = this.vmOf(d.uuid);
    const old = store.disks.listByInstance(d.uuid).find((x) => x.active && x.cid !== null && x.state !== 'orphaned');
    const agent = this.agentFor(d.uuid);
    if (d.persistentDisk.size === 0) {
      if (old?.cid) {
        await agent.unmountDisk(old.cid);
        await cpi.detachDisk(vm.cid!, old.cid);
        store.disks.markDetached(old.cid);
        store.disks.orphan(old.cid);
      }
      return;
    }
    if (old?.cid && old.sizeMb === d.persistentDisk.size && digest(old.cloudProperties) === digest(d.persistentDisk.cloudProperties)) return;
    const intent = store.disks.recordIntent({ instance: d.uuid, sizeMb: d.persistentDisk.size, cloudProperties: d.persistentDisk.cloudProperties as JsonObject });
    let cid: string;
    try {
      cid = await cpi.createDisk(d.persistentDisk.size, d.persistentDisk.cloudProperties, vm.cid!);
    } catch (err) {
      store.disks.fail(intent.id);
      throw new DirectorError(`Creating disk for '${d.group}/${d.index}'`, { cause: err });
    }
    store.disks.complete(intent.id, cid);
    const hint = await cpi.attachDisk(vm.cid!, cid);
    store.disks.markAttached(cid);
    await agent.mountDisk(cid, hint);
    if (old?.cid) {
      // Data moves from the old disk to the new one; the old one becomes an orphan.
      await agent.migrateDisk(old.cid, cid);
      await agent.unmountDisk(old.cid);
      await cpi.detachDisk(vm.cid!, old.cid);
      store.disks.markDetached(old.cid);
      store.disks.orphan(old.cid);
    }
    store.disks.activate(cid);
  }

  private async detachDisks(uuid: string, force = false): Promise<void> {
    const { store, cpi } = this.deps;
    const vm = store.vms.listByInstance(uuid).find((v) => v.cid !== null && v.state === 'created');
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
          if (!force && (await cpi.hasVm(vm.cid!).catch(() => true))) throw new DirectorError(`Detaching disk '${disk.cid}'`, { cause: err });
          // The VM is gone (or --force): the disk is attached to nothing any more.
        }
        store.disks.markDetached(disk.cid);
      }
    }
  }

  private async deleteInstance(r: RecordedInstance, opts: DeployOptions & { readonly force?: boolean }): Promise<void> {
    const { store } = this.deps;
    if (r.vm) {
      try {
        const agent = this.agentFor(r.uuid);
        if (!opts.skipDrain) await agent.drain();
        await agent.stop();
      } catch (err) {
        // BOSH carries on deleting an instance whose agent does not answer.
        void err;
      }
    }
    await this.detachDisks(r.uuid, Boolean(opts.force));
    for (const vm of store.vms.listByInstance(r.uuid)) {
      try {
        await this.deleteVmRecord(vm.agentId, vm.cid);
      } catch (err) {
        if (!opts.force) throw err;
        // --force: the VM is forgotten even though the CPI could not delete it.
        if (vm.cid) store.vms.remove(vm.cid);
        else store.vms.removeByAgentId(vm.agentId);
      }
    }
    for (const disk of store.disks.listByInstance(r.uuid)) {
      if (!disk.cid) {
        store.disks.fail(disk.id);
        continue;
      }
      if (disk.state === 'attached') store.disks.markDetached(disk.cid);
      if (disk.state !== 'orphaned') store.disks.orphan(disk.cid);
    }
    store.transaction(() => {
      store.ips.releaseForInstance(r.uuid);
      store.instances.delete(r.uuid);
    });
  }

  private async deleteVmRecord(agentId: string, cid: string | null): Promise<void> {
    const { store, cpi } = this.deps;
    if (cid) {
      store.vms.markDeleting(cid);
      await cpi.deleteVm(cid);
      store.vms.remove(cid);
    } else {
      // An intent without a cid: the CPI may have made the VM before the crash; find it by the
      // agent id it was given and delete it, so nothing leaks.
      const found = await this.deps.findVmByAgentId?.(agentId);
      if (found) await cpi.deleteVm(found);
      store.vms.removeByAgentId(agentId);
    }
  }

  /** Creates an instance's VM (an errand's, for run-errand) and returns its bootstrapped agent. */
  async createInstanceVm(d: DesiredInstance, plan: DeploymentPlan): Promise<InstanceAgent> {
    await this.createVm(d, plan);
    return this.agentFor(d.uuid);
  }

  /** The agent of an instance's VM. */
  instanceAgent(uuid: string): InstanceAgent {
    return this.agentFor(uuid);
  }

  /** Detaches an instance's disks and deletes its VMs (the instance and its disks stay). */
  async deleteInstanceVms(uuid: string): Promise<void> {
    const { store } = this.deps;
    await this.detachDisks(uuid);
    for (const v of store.vms.listByInstance(uuid)) await this.deleteVmRecord(v.agentId, v.cid);
    const applied = appliedSpecOf(store.instances.get(uuid)?.appliedSpec ?? null);
    store.instances.setAppliedSpec(uuid, { ...(applied.jobs ? { jobs: applied.jobs } : {}) } as JsonObject);
  }

  /** Deletes the VM record (and the VM) with cid or intent `agentId`; the public face of the intent rule. */
  deleteVm(agentId: string, cid: string | null): Promise<void> {
    return this.deleteVmRecord(agentId, cid);
  }

  /**
   * Stops an instance's jobs (drain first unless skipped). `hard`: also detaches its disks and
   * deletes its VM, keeping the disks (state `detached`), as `bosh stop --hard` does.
   */
  async stopInstance(uuid: string, opts: { readonly hard?: boolean; readonly skipDrain?: boolean; readonly force?: boolean } = {}): Promise<void> {
    const { store } = this.deps;
    const vm = store.vms.listByInstance(uuid).find((v) => v.cid !== null && v.state === 'created');
    if (vm) {
      try {
        const agent = this.agentFor(uuid);
        if (!opts.skipDrain) await agent.drain();
        await agent.stop();
      } catch (err) {
        if (!opts.force && !opts.hard) throw err;
      }
    }
    if (opts.hard) {
      await this.detachDisks(uuid, Boolean(opts.force));
      for (const v of store.vms.listByInstance(uuid)) await this.deleteVmRecord(v.agentId, v.cid);
      const applied = appliedSpecOf(store.instances.get(uuid)?.appliedSpec ?? null);
      store.instances.setAppliedSpec(uuid, { ...(applied.jobs ? { jobs: applied.jobs } : {}) } as JsonObject);
      store.instances.update(uuid, { state: 'detached' });
    } else {
      store.instances.update(uuid, { state: 'stopped' });
    }
  }

  /** Starts a stopped instance's jobs on its VM, waiting for them to run. */
  async startInstance(uuid: string, label: string, watch: WatchTime): Promise<void> {
    const agent = this.agentFor(uuid);
    await agent.start();
    await this.waitRunningLabel(agent, label, watch);
    this.deps.store.instances.update(uuid, { state: 'started' });
  }

  /** Stops and starts an instance's jobs on the same VM, waiting for them to run again. */
  async restartInstance(uuid: string, label: string, watch: WatchTime, opts: { readonly skipDrain?: boolean } = {}): Promise<void> {
    const agent = this.agentFor(uuid);
    if (!opts.skipDrain) await agent.drain();
    await agent.stop();
    await agent.start();
    await this.waitRunningLabel(agent, label, watch);
    this.deps.store.instances.update(uuid, { state: 'started' });
  }

  /**
   * Deletes a recorded instance: drain and stop (an agent that does not answer is passed over),
   * detach and orphan its disks, delete its VMs, release its addresses, forget it.
   */
  async deleteRecordedInstance(r: RecordedInstance, opts: DeployOptions & { readonly force?: boolean } = {}): Promise<void> {
    await this.deleteInstance(r, opts);
  }

  private reserveAddresses(deployment: string, d: DesiredInstance): void {
    const { store } = this.deps;
    const held = store.ips.list({ deployment, instance: d.uuid });
    for (const n of d.networks) {
      if (!n.ip) continue;
      for (const h of held) if (h.network === n.name && h.ip !== n.ip) store.ips.release(h.network, h.ip);
      if (!held.some((h) => h.network === n.name && h.ip === n.ip)) store.ips.reserve({ deployment, network: n.name, ip: n.ip, instance: d.uuid, type: n.static ? 'static' : 'dynamic' });
    }
  }

  private vmOf(uuid: string) {
    const vm = this.deps.store.vms.listByInstance(uuid).find((v) => v.cid !== null && v.state === 'created');
    if (!vm) throw new DirectorError(`Instance '${uuid}' has no VM`);
    return vm;
  }

  private agentFor(uuid: string): InstanceAgent {
    const vm = this.vmOf(uuid);
    const inst = this.deps.store.instances.get(uuid);
    const address = vm.ips[0];
    if (!address || !vm.hostPublicKey) throw new DirectorError(`VM '${vm.cid}' of instance '${inst?.group}/${uuid}' has no address or host key recorded`);
    return this.deps.agents.agent({ address, hostPublicKey: vm.hostPublicKey, agentId: vm.agentId, ...(inst ? { instance: instanceLabel({ group: inst.group, uuid, index: inst.index }) } : {}) });
  }
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

