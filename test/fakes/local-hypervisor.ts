// A local "hypervisor" for the fake ARM: its VM hooks boot each Azure VM as a local VM host
// (cpi/local's machinery) from what the Azure CPI put in the VM: its private IP, tags and
// cloud-init custom data (host key and the director's authorized key). A VM whose primary NIC is
// in a load balancer's backend pool joins the local TCP proxy named `loadBalancer`, so the
// Azure pool membership is what makes traffic reach it. A VM whose NIC has a public IP (the
// jumpbox) also listens on that address. Given the local CPI's root, it also plays
// the VM's SCSI controller: each managed disk is a folder under <root>/azure-disks/ (kept when the
// VM goes, so its data survives VM recreation), and a disk at LUN N of a VM is the link
// store-disks/lun<N> in the VM's root, where the agent looks for an Azure LUN hint.
import { mkdir, readdir, readlink, rm, symlink } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import { LocalLayout } from '../../cpi/local/layout.js';
import type { LocalCpi } from '../../cpi/local/local-cpi.js';
import type { FakeArm } from './arm/fake-arm.js';
import type { VmHookInfo } from './arm/vm-hooks.js';

export interface LocalHypervisorOptions {
  /** The local CPI's root: without it, data disks are not given to the VMs. */
  readonly root?: string;
}

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
  private readonly layout: LocalLayout | undefined;

  constructor(
    readonly local: LocalCpi,
    private readonly fake: FakeArm,
    private readonly loadBalancer: string,
    options: LocalHypervisorOptions = {},
  ) {
    this.layout = options.root === undefined ? undefined : new LocalLayout(options.root);
  }

  /** Installs the hooks on the fake. */
  attach(): this {
    this.fake.hooks.onVmCreated = (vm) => this.boot(vm);
    this.fake.hooks.onVmDeleted = (vm) => this.remove(vm);
    this.fake.hooks.onVmRestarted = (vm) => this.reboot(vm);
    if (this.layout !== undefined) this.fake.hooks.onDataDisksChanged = (vm) => this.linkDisks(vm);
    return this;
  }

  /** The folder holding a managed disk's data (by its resource id), whichever VM it is attached to. */
  diskFolder(diskId: string): string {
    if (this.layout === undefined) throw new Error('the hypervisor was given no root');
    const m = /\/resourcegroups\/([^/]+)\/providers\/microsoft\.compute\/disks\/([^/]+)$/.exec(diskId.toLowerCase());
    if (m === null) throw new Error(`not a managed disk id: ${diskId}`);
    return join(this.layout.root, 'azure-disks', `${m[1]}--${m[2]}`);
  }

  /** Makes the VM's store-disks/lun<N> links match its data disks. */
  async linkDisks(vm: VmHookInfo): Promise<void> {
    const cid = this.byAzureId.get(vm.id.toLowerCase());
    if (cid === undefined || this.layout === undefined) return; // not booted yet: boot links them
    const dir = join(this.layout.vmRoot(cid), 'store-disks');
    await mkdir(dir, { recursive: true });
    const wanted = new Map(vm.dataDisks.map((d) => [`lun${d.lun}`, this.diskFolder(d.diskId)]));
    for (const entry of await readdir(dir)) {
      if (!/^lun\d+$/.test(entry)) continue;
      const to = await readlink(join(dir, entry)).catch(() => undefined);
      if (wanted.get(entry) !== to) await rm(join(dir, entry), { force: true });
    }
    for (const [entry, folder] of wanted) {
      await mkdir(folder, { recursive: true });
      const to = await readlink(join(dir, entry)).catch(() => undefined);
      if (to !== folder) await symlink(folder, join(dir, entry));
    }
  }

  async boot(vm: VmHookInfo): Promise<void> {
    this.stemcell ??= await this.local.createStemcell('', { name: 'azure-hypervisor', version: '1' });
    const init = parse((vm.customData ?? '').replace(/^#cloud-config\n/, '')) as CloudInit;
    const hostPrivateKey = Object.entries(init.ssh_keys ?? {}).find(([k]) => k.endsWith('_private'))?.[1];
    const authorizedKeys = init.users?.[0]?.ssh_authorized_keys ?? [];
    if (hostPrivateKey === undefined || vm.privateIp === undefined)
      throw new Error('the VM has no host key or no private IP');
    const nicIds: string[] = (this.fake.state.get(vm.id)?.body.properties.networkProfile?.networkInterfaces ?? []).map(
      (n: { id: string }) => n.id,
    );
    type IpConfig = { properties?: { loadBalancerBackendAddressPools?: unknown[]; publicIPAddress?: { id: string } } };
    const configs: IpConfig[] = nicIds.flatMap((id) => this.fake.state.get(id)?.body.properties.ipConfigurations ?? []);
    const inPool = configs.some((c) => (c.properties?.loadBalancerBackendAddressPools ?? []).length > 0);
    const publicIps = configs
      .map((c) => c.properties?.publicIPAddress?.id)
      .map((id) => (id === undefined ? undefined : this.fake.state.get(id)?.body.properties.ipAddress))
      .filter((ip): ip is string => typeof ip === 'string');
    const networks = Object.fromEntries([
      ['default', { type: 'manual', ip: vm.privateIp }],
      ...publicIps.map((ip, i) => [`public${i}`, { type: 'manual', ip }]),
    ]);
    const t = vm.tags;
    const created = await this.local.createVm(
      t.agent_id ?? vm.name,
      this.stemcell,
      inPool ? { load_balancer: this.loadBalancer } : {},
      networks,
      [],
      {
        // a VM the director made for no deployment (the foundation's jumpbox) carries no such tags
        director: {
          uuid: t.director ?? 'foundation',
          deployment: t.deployment ?? 'foundation',
          instance: {
            group: t.instance_group ?? vm.name,
            index: Number(t.instance_index ?? 0),
            id: t.instance_id ?? vm.name,
          },
          agentId: t.agent_id ?? vm.name,
        },
        ssh: { hostPrivateKey, authorizedKeys },
      },
    );
    this.byAzureId.set(vm.id.toLowerCase(), created.vmCid);
    this.everBooted.set(vm.name, created.vmCid);
    await this.linkDisks(vm);
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
