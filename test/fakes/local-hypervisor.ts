// A local "hypervisor" for the fake ARM: its VM hooks boot each Azure VM as a local VM host
// (cpi/local's machinery) from what the Azure CPI put in the VM: its private IP, tags and
// cloud-init custom data (host key and the director's authorized key). A VM whose primary NIC is
// in a load balancer's backend pool joins the local TCP proxy named `loadBalancer`, so the
// Azure pool membership is what makes traffic reach it.
import { parse } from 'yaml';
import type { LocalCpi } from '../../cpi/local/local-cpi.js';
import type { FakeArm } from './arm/fake-arm.js';
import type { VmHookInfo } from './arm/vm-hooks.js';

interface CloudInit {
  users?: { ssh_authorized_keys?: string[] }[];
  ssh_keys?: Record<string, string>;
}

/** Boots, reboots and deletes the fake's Azure VMs as local VM hosts. */
export class LocalHypervisor {
  /** Local VM cid by Azure VM id (lower case), while the VM runs. */
  readonly byAzureId = new Map<string, string>();
  /** Local VM cid by Azure VM name, of every VM ever booted. */
  readonly everBooted = new Map<string, string>();
  private stemcell: string | undefined;

  constructor(
    readonly local: LocalCpi,
    private readonly fake: FakeArm,
    private readonly loadBalancer: string,
  ) {}

  /** Installs the hooks on the fake. */
  attach(): this {
    this.fake.hooks.onVmCreated = (vm) => this.boot(vm);
    this.fake.hooks.onVmDeleted = (vm) => this.remove(vm);
    this.fake.hooks.onVmRestarted = (vm) => this.reboot(vm);
    return this;
  }

  async boot(vm: VmHookInfo): Promise<void> {
    this.stemcell ??= await this.local.createStemcell('', { name: 'azure-hypervisor', version: '1' });
    const init = parse((vm.customData ?? '').replace(/^#cloud-config\n/, '')) as CloudInit;
    const hostPrivateKey = Object.entries(init.ssh_keys ?? {}).find(([k]) => k.endsWith('_private'))?.[1];
    const authorizedKeys = init.users?.[0]?.ssh_authorized_keys ?? [];
    if (hostPrivateKey === undefined || vm.privateIp === undefined) throw new Error('the VM has no host key or no private IP');
    const nicIds: string[] = (this.fake.state.get(vm.id)?.body.properties.networkProfile?.networkInterfaces ?? []).map((n: { id: string }) => n.id);
    const inPool = nicIds.some((id) =>
      (this.fake.state.get(id)?.body.properties.ipConfigurations ?? []).some((c: { properties?: { loadBalancerBackendAddressPools?: unknown[] } }) => (c.properties?.loadBalancerBackendAddressPools ?? []).length > 0),
    );
    const t = vm.tags;
    const created = await this.local.createVm(t.agent_id ?? vm.name, this.stemcell, inPool ? { load_balancer: this.loadBalancer } : {}, { default: { type: 'manual', ip: vm.privateIp } }, [], {
      director: { uuid: t.director ?? '', deployment: t.deployment ?? '', instance: { group: t.instance_group ?? '', index: Number(t.instance_index), id: t.instance_id ?? '' }, agentId: t.agent_id ?? vm.name },
      ssh: { hostPrivateKey, authorizedKeys },
    });
    this.byAzureId.set(vm.id.toLowerCase(), created.vmCid);
    this.everBooted.set(vm.name, created.vmCid);
  }

  async remove(vm: VmHookInfo): Promise<void> {
    const cid = this.byAzureId.get(vm.id.toLowerCase());
    if (cid === undefined) return;
    await this.local.deleteVm(cid);
    this.byAzureId.delete(vm.id.toLowerCase());
  }

  async reboot(vm: VmHookInfo): Promise<void> {
    const cid = this.byAzureId.get(vm.id.toLowerCase());
    if (cid !== undefined) await this.local.rebootVm(cid);
  }
}
