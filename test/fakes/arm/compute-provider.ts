import { randomUUID } from 'node:crypto';
import type { ArmContext, ArmResponse, ProviderRequest } from './arm-context.js';
import type { OperationKind } from './operations.js';
import { ArmError, invalidParameter, resourceNotFound } from './arm-error.js';
import { canonicalJson, clone, type Json, type StoredResource } from './arm-state.js';
import { normalizeLocation, sameId } from './resource-id.js';
import {
  checkDataDiskCount,
  checkDiskZone,
  checkMaxShares,
  checkStorageTypeForSize,
  checkTags,
  checkVmCreate,
  requireVmSize,
} from './rules.js';
import type { VmHookInfo } from './vm-hooks.js';
import { VM_SIZE_CAPABILITIES, vmSize } from './vm-sizes.js';

const NS = 'Microsoft.Compute';

/**
 * api-versions accepted per Microsoft.Compute type: what @azure/arm-compute 24 sends (2026-03-01
 * for VMs, images, availability sets; 2025-01-02 for disks and snapshots) and the reference
 * examples' versions.
 */
export const COMPUTE_API_VERSIONS: Readonly<Record<string, readonly string[]>> = {
  virtualMachines: ['2026-03-01', '2025-11-01', '2025-04-01', '2024-11-01', '2024-07-01'],
  images: ['2026-03-01', '2025-11-01', '2025-04-01', '2024-11-01', '2024-07-01'],
  availabilitySets: ['2026-03-01', '2025-11-01', '2025-04-01', '2024-11-01', '2024-07-01'],
  proximityPlacementGroups: ['2026-03-01', '2025-11-01', '2025-04-01', '2024-11-01', '2024-07-01'],
  disks: ['2025-01-02', '2026-03-02', '2024-03-02', '2023-10-02'],
  snapshots: ['2025-01-02', '2026-03-02', '2024-03-02', '2023-10-02'],
};

/** The sizes of the capability table, as `GET .../locations/{location}/vmSizes` lists them. */
export const VM_SIZES: readonly {
  name: string;
  numberOfCores: number;
  memoryInMB: number;
  resourceDiskSizeInMB: number;
  maxDataDiskCount: number;
}[] = VM_SIZE_CAPABILITIES.map((s) => ({
  name: s.name,
  numberOfCores: s.vCPUs,
  memoryInMB: s.memoryInMB,
  resourceDiskSizeInMB: s.resourceDiskSizeInMB,
  maxDataDiskCount: s.maxDataDiskCount,
}));

/**
 * The OS disk size (GiB) of a marketplace image when the request names one: the Canonical Ubuntu
 * server images are 30 GiB (`GET .../publishers/Canonical/artifacttypes/vmimage/offers/{offer}/skus/{sku}/versions/{v}`
 * reports osDiskImage.sizeInGb 30).
 */
const MARKETPLACE_OS_DISK_GB = 30;

const TYPES: Record<string, string> = Object.fromEntries(
  Object.keys(COMPUTE_API_VERSIONS).map((t) => [t.toLowerCase(), t]),
);

/** Power state of a VM, as instanceView reports it. */
type PowerState = 'starting' | 'running' | 'stopping' | 'stopped' | 'deallocated';

/**
 * Microsoft.Compute: virtual machines (create with managed OS disk and data disks, update,
 * attach/detach, restart, delete, instanceView), managed disks (diskState/managedBy, resize),
 * snapshots, images and availability sets. VM create/delete/restart and data disk changes call
 * the VM hooks.
 */
export class ComputeProvider {
  readonly namespace = NS;
  private readonly ctx: ArmContext;
  private readonly power = new Map<string, PowerState>();

  constructor(ctx: ArmContext) {
    this.ctx = ctx;
  }

  canonicalType(type: string): string | undefined {
    return TYPES[type.toLowerCase()];
  }

  /** `GET /subscriptions/{s}/providers/Microsoft.Compute/locations/{location}/vmSizes`. */
  vmSizes(): ArmResponse {
    return { status: 200, body: { value: VM_SIZES.map((s) => ({ ...s, osDiskSizeInMB: 1047552 })) } };
  }

  apiVersions(type: string): readonly string[] {
    return COMPUTE_API_VERSIONS[this.canonicalType(type) ?? 'virtualMachines'] ?? [];
  }

  async handle(req: ProviderRequest): Promise<ArmResponse> {
    const type = this.canonicalType(req.resourceType);
    if (!type)
      throw new ArmError(
        400,
        'InvalidResourceType',
        `The resource type '${req.resourceType}' could not be found in the namespace '${NS}' for api version '${req.apiVersion}'.`,
      );
    const group = this.ctx.state.requireGroup(req.resourceGroup);
    if (req.name === undefined) {
      if (req.method !== 'GET') throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
      return {
        status: 200,
        body: { value: this.ctx.state.list(`${NS}/${type}`, group.name).map((r) => this.render(r)) },
      };
    }
    const id = this.ctx.state.resourceId(group.name, `${NS}/${type}`, req.name);
    const existing = this.ctx.state.get(id);
    const notFound = () => resourceNotFound(`${NS}/${type}`, req.name!, group.name);
    if (req.rest.length > 0) {
      if (type !== 'virtualMachines' || !existing) throw notFound();
      return this.vmAction(req, existing);
    }
    switch (req.method) {
      case 'GET':
        if (!existing) throw notFound();
        if (type === 'virtualMachines' && /instanceView/i.test(req.query.get('$expand') ?? '')) {
          const b = this.render(existing);
          b.properties.instanceView = this.instanceView(existing);
          return { status: 200, body: b };
        }
        return { status: 200, body: this.render(existing) };
      case 'PUT':
      case 'PATCH': {
        if (req.method === 'PATCH' && !existing) throw notFound();
        const body = req.body;
        if (!body || typeof body !== 'object')
          throw invalidParameter('The request content was invalid and could not be deserialized.');
        if (existing && existing.body.properties?.provisioningState === 'Deleting') {
          throw new ArmError(
            409,
            'OperationNotAllowed',
            `Operation '${req.method === 'PUT' ? 'Put' : 'Patch'}' is not allowed on ${existing.id} since it is marked for deletion.`,
          );
        }
        const input = req.method === 'PATCH' ? merge(this.inputOf(existing!), body) : body;
        const inputKey = canonicalJson(input);
        if (existing && existing.inputKey === inputKey && existing.body.properties?.provisioningState === 'Succeeded') {
          return { status: 200, body: this.render(existing) };
        }
        switch (type) {
          case 'virtualMachines':
            return existing
              ? this.updateVm(req, existing, input, inputKey)
              : this.createVm(req, id, group.name, group.location, input, inputKey);
          case 'disks':
            return this.putDisk(req, id, group.name, group.location, input, inputKey, existing);
          case 'snapshots':
            return this.putSnapshot(req, id, group.name, group.location, input, inputKey, existing);
          case 'images':
            return this.putImage(req, id, group.name, group.location, input, inputKey, existing);
          case 'proximityPlacementGroups':
            return this.putProximityPlacementGroup(id, group.name, group.location, input, inputKey, existing, req.name);
          default:
            return this.putAvailabilitySet(id, group.name, group.location, input, inputKey, existing, req.name);
        }
      }
      case 'DELETE':
        if (!existing) return { status: 204 };
        return this.remove(req, type, existing);
      default:
        throw new ArmError(405, 'MethodNotAllowed', 'The requested method is not allowed.');
    }
  }

  // ---- rendering --------------------------------------------------------------------------

  /** The resource as GET returns it (back-references computed). */
  render(r: StoredResource): Json {
    const b = clone(r.body);
    if (r.type === `${NS}/virtualMachines` || r.type === `${NS}/availabilitySets`) b.etag = r.etag;
    if (r.type === `${NS}/disks`) {
      const vms = this.vmsUsingDisk(r.id);
      delete b.managedByExtended;
      if (vms.length) {
        b.managedBy = vms[0]!.id;
        // A shared disk (maxShares > 1) lists every VM it is attached to in managedByExtended.
        // Source: https://learn.microsoft.com/azure/virtual-machines/disks-shared-enable#using-azure-shared-disks-with-your-vms
        if (Number(b.properties.maxShares ?? 1) > 1) b.managedByExtended = vms.map((vm) => vm.id);
        b.properties.diskState = 'Attached';
      } else {
        delete b.managedBy;
        b.properties.diskState = 'Unattached';
      }
    }
    if (r.type === `${NS}/proximityPlacementGroups`) {
      const members = (type: string) =>
        this.ctx.state
          .list(`${NS}/${type}`)
          .filter((x) => sameId(x.body.properties?.proximityPlacementGroup?.id, r.id))
          .map((x) => ({ id: x.id }));
      b.properties.virtualMachines = members('virtualMachines');
      b.properties.availabilitySets = members('availabilitySets');
    }
    if (r.type === `${NS}/availabilitySets`) {
      const vms = this.ctx.state
        .list(`${NS}/virtualMachines`)
        .filter((vm) => sameId(vm.body.properties.availabilitySet?.id, r.id));
      b.properties.virtualMachines = vms.map((vm) => ({ id: vm.id }));
    }
    return b;
  }

  private inputOf(r: StoredResource): Json {
    const b = clone(r.body);
    delete b.id;
    delete b.name;
    delete b.type;
    delete b.etag;
    if (b.properties) delete b.properties.provisioningState;
    return b;
  }

  private vmUsingDisk(diskId: string): StoredResource | undefined {
    return this.vmsUsingDisk(diskId)[0];
  }

  private vmsUsingDisk(diskId: string): StoredResource[] {
    return this.ctx.state.list(`${NS}/virtualMachines`).filter((vm) => {
      const sp = vm.body.properties.storageProfile ?? {};
      return (
        sameId(sp.osDisk?.managedDisk?.id, diskId) ||
        (sp.dataDisks ?? []).some((d: Json) => sameId(d.managedDisk?.id, diskId))
      );
    });
  }

  private instanceView(vm: StoredResource): Json {
    const ps = vm.body.properties.provisioningState;
    const power = this.power.get(vm.id.toLowerCase()) ?? 'starting';
    const now = new Date().toISOString();
    const display: Record<PowerState, string> = {
      starting: 'VM starting',
      running: 'VM running',
      stopping: 'VM stopping',
      stopped: 'VM stopped',
      deallocated: 'VM deallocated',
    };
    const sp = vm.body.properties.storageProfile ?? {};
    const disks = [sp.osDisk, ...(sp.dataDisks ?? [])].filter(Boolean).map((d: Json) => ({
      name: d.name,
      statuses: [
        { code: 'ProvisioningState/succeeded', level: 'Info', displayStatus: 'Provisioning succeeded', time: now },
      ],
    }));
    return {
      computerName: vm.body.properties.osProfile?.computerName ?? vm.name,
      osName: 'ubuntu',
      osVersion: '22.04',
      hyperVGeneration: 'V1',
      platformFaultDomain: 0,
      platformUpdateDomain: 0,
      disks,
      statuses: [
        {
          code: `ProvisioningState/${String(ps).toLowerCase()}`,
          level: ps === 'Failed' ? 'Error' : 'Info',
          displayStatus: `Provisioning ${String(ps).toLowerCase()}`,
          time: now,
        },
        { code: `PowerState/${power}`, level: 'Info', displayStatus: display[power] },
      ],
    };
  }

  // ---- virtual machines -------------------------------------------------------------------

  /** The hook's view of a VM. */
  hookInfo(vm: StoredResource, customData?: string): VmHookInfo {
    const p = vm.body.properties;
    const ips: string[] = [];
    let primaryIp: string | undefined;
    const nics: Json[] = p.networkProfile?.networkInterfaces ?? [];
    nics.forEach((ref, i) => {
      const nic = this.ctx.state.get(ref.id);
      for (const c of nic?.body.properties.ipConfigurations ?? []) {
        const ip = c.properties?.privateIPAddress;
        if (!ip) continue;
        const primaryNic =
          nics.length === 1 ||
          ref.properties?.primary === true ||
          (i === 0 && !nics.some((n) => n.properties?.primary));
        if (primaryNic && c.properties.primary && primaryIp === undefined) primaryIp = ip;
        ips.push(ip);
      }
    });
    if (primaryIp) {
      ips.splice(ips.indexOf(primaryIp), 1);
      ips.unshift(primaryIp);
    }
    return {
      id: vm.id,
      name: vm.name,
      resourceGroup: vm.resourceGroup,
      location: vm.body.location,
      vmSize: p.hardwareProfile?.vmSize,
      privateIp: primaryIp ?? ips[0],
      privateIps: ips,
      customData,
      sshKeys: (p.osProfile?.linuxConfiguration?.ssh?.publicKeys ?? []).map((k: Json) => String(k.keyData)),
      adminUsername: p.osProfile?.adminUsername,
      tags: { ...(vm.body.tags ?? {}) },
      zones: vm.body.zones ?? [],
      dataDisks: (p.storageProfile?.dataDisks ?? []).map((d: Json) => ({
        lun: Number(d.lun),
        diskId: String(d.managedDisk?.id ?? ''),
        name: String(d.name ?? ''),
      })),
    };
  }

  private checkNics(vmId: string, p: Json): void {
    const nics: Json[] = p.networkProfile?.networkInterfaces ?? [];
    if (!nics.length) throw invalidParameter("Required parameter 'networkProfile' is missing (null).");
    for (const n of nics) {
      const nic = this.ctx.state.get(String(n.id ?? ''));
      if (!nic) throw new ArmError(400, 'InvalidParameter', `Resource ${n.id} was not found.`);
      this.ctx.refuseReservedNic(nic.id, vmId);
      this.ctx.refuseBusy({ method: 'GET', path: '' } as ProviderRequest, [nic.id]);
      const other = this.ctx.state
        .list(`${NS}/virtualMachines`)
        .find(
          (vm) =>
            !sameId(vm.id, vmId) &&
            (vm.body.properties.networkProfile?.networkInterfaces ?? []).some((x: Json) => sameId(x.id, nic.id)),
        );
      if (other)
        throw new ArmError(
          400,
          'NicInUse',
          `Network Interface ${nic.id} is used by existing resource ${other.id}. In order to delete the network interface, it must be dissociated from the resource. To learn more, see aka.ms/deletenic.`,
        );
    }
  }

  /** Validates and normalises data disks; creates the ones with createOption Empty. */
  private dataDisks(
    vm: { id: string; name: string; rg: string; location: string; zones?: string[]; vmSize?: string },
    disks: Json[],
    created: string[],
  ): Json[] {
    const luns = new Set<number>();
    const out: Json[] = [];
    const cap = vmSize(vm.vmSize);
    if (cap) checkDataDiskCount(cap, disks.filter((d) => d?.toBeDetached !== true).length);
    for (const d of disks) {
      if (d.toBeDetached === true) continue;
      const lun = Number(d.lun);
      if (!Number.isInteger(lun) || lun < 0 || lun > 63)
        throw invalidParameter(`The value of parameter dataDisks.lun is invalid.`);
      if (luns.has(lun)) throw new ArmError(400, 'InvalidParameter', `A disk at LUN ${lun} already exists.`);
      luns.add(lun);
      const createOption = String(d.createOption ?? '');
      const known = d.managedDisk?.id ? this.ctx.state.get(String(d.managedDisk.id)) : undefined;
      if (/^attach$/i.test(createOption) || known) {
        const disk = this.ctx.state.get(String(d.managedDisk?.id ?? ''));
        if (!disk || disk.type !== `${NS}/disks`)
          throw new ArmError(404, 'NotFound', `Disk ${d.managedDisk?.id} was not found.`);
        if (out.some((o) => sameId(o.managedDisk?.id, disk.id))) {
          throw new ArmError(400, 'InvalidParameter', `Disk ${disk.name} cannot be attached to the VM more than once.`);
        }
        const users = this.vmsUsingDisk(disk.id).filter((u) => !sameId(u.id, vm.id));
        const maxShares = Number(disk.body.properties.maxShares ?? 1);
        // A disk is attached to one VM, or to at most maxShares VMs when shared.
        // Source: https://learn.microsoft.com/azure/virtual-machines/disks-shared#how-it-works
        if (users.length > 0 && users.length + 1 > maxShares) {
          throw new ArmError(
            409,
            'OperationNotAllowed',
            maxShares > 1
              ? `Disk ${disk.name} is already attached to ${users.length} VMs, its maxShares.`
              : `Disk ${disk.name} is already attached to VM ${users[0]!.id}.`,
          );
        }
        checkDiskZone(disk.name, disk.body.zones, vm.zones);
        if (cap) checkStorageTypeForSize(disk.body.sku?.name, cap, `storageProfile.dataDisks[lun ${lun}]`);
        out.push({
          lun,
          name: disk.name,
          createOption: /^empty$/i.test(createOption) ? 'Empty' : 'Attach',
          caching: d.caching ?? 'None',
          writeAcceleratorEnabled: d.writeAcceleratorEnabled ?? false,
          managedDisk: { storageAccountType: disk.body.sku?.name ?? 'Standard_LRS', id: disk.id },
          deleteOption: d.deleteOption ?? (/^empty$/i.test(createOption) ? 'Delete' : 'Detach'),
          diskSizeGB: disk.body.properties.diskSizeGB,
          toBeDetached: false,
        });
      } else if (/^empty$/i.test(createOption)) {
        const size = Number(d.diskSizeGB);
        if (!Number.isInteger(size) || size <= 0)
          throw invalidParameter("Required parameter 'dataDisk.diskSizeGB' is missing (null).");
        const name = d.name ?? `${vm.name}_disk${lun + 2}_${randomUUID().replace(/-/g, '')}`;
        const id = this.ctx.state.resourceId(vm.rg, `${NS}/disks`, name);
        const sku = d.managedDisk?.storageAccountType ?? 'Standard_LRS';
        if (cap) checkStorageTypeForSize(sku, cap, `storageProfile.dataDisks[lun ${lun}]`);
        this.storeDisk(
          id,
          name,
          vm.rg,
          vm.location,
          {
            sku: { name: sku },
            ...(vm.zones ? { zones: vm.zones } : {}),
            properties: { creationData: { createOption: 'Empty' }, diskSizeGB: size },
          },
          'Succeeded',
        );
        created.push(id);
        out.push({
          lun,
          name,
          createOption: 'Empty',
          caching: d.caching ?? 'None',
          writeAcceleratorEnabled: false,
          managedDisk: { storageAccountType: sku, id },
          deleteOption: d.deleteOption ?? 'Delete',
          diskSizeGB: size,
          toBeDetached: false,
        });
      } else {
        throw invalidParameter(
          `The value '${createOption}' of parameter 'dataDisk.createOption' is not allowed. Allowed values are 'Attach', 'Empty'.`,
        );
      }
    }
    return out;
  }

  private storeDisk(
    id: string,
    name: string,
    rg: string,
    location: string,
    input: Json,
    state: string,
  ): StoredResource {
    const body: Json = {
      name,
      id,
      type: `${NS}/disks`,
      location,
      ...(input.tags ? { tags: input.tags } : {}),
      sku: {
        name: input.sku?.name ?? 'Standard_LRS',
        tier: /premium/i.test(input.sku?.name ?? '') ? 'Premium' : 'Standard',
      },
      ...(input.zones ? { zones: input.zones } : {}),
      properties: {
        ...(input.properties ?? {}),
        diskSizeGB: input.properties.diskSizeGB,
        diskSizeBytes: Number(input.properties.diskSizeGB) * 1024 ** 3,
        uniqueId: randomUUID(),
        timeCreated: new Date().toISOString(),
        encryption: { type: 'EncryptionAtRestWithPlatformKey' },
        provisioningState: state,
      },
    };
    const r: StoredResource = {
      id,
      name,
      type: `${NS}/disks`,
      resourceGroup: rg,
      etag: '',
      body,
      inputKey: canonicalJson(input),
    };
    this.ctx.state.put(r);
    return r;
  }

  private async createVm(
    req: ProviderRequest,
    id: string,
    rg: string,
    rgLocation: string,
    input: Json,
    inputKey: string,
  ): Promise<ArmResponse> {
    const p = input.properties ?? {};
    if (!p.hardwareProfile?.vmSize)
      throw invalidParameter("Required parameter 'hardwareProfile.vmSize' is missing (null).");
    const size = requireVmSize(p.hardwareProfile.vmSize, normalizeLocation(input.location ?? rgLocation));
    const os = p.storageProfile?.osDisk ?? { createOption: 'FromImage' };
    const image = p.storageProfile?.imageReference;
    const imageRecord = image?.id ? this.ctx.state.get(image.id) : undefined;
    if (image?.id && !imageRecord) {
      throw new ArmError(
        404,
        'NotFound',
        `The Image '${image.id}' cannot be found in '${input.location ?? rgLocation}' region.`,
      );
    }
    if (!image && !/^attach$/i.test(os.createOption ?? ''))
      throw invalidParameter("Required parameter 'imageReference' is missing (null).");
    checkTags(input.tags, id);
    const imageSize = imageRecord
      ? imageRecord.body.properties.storageProfile?.osDisk?.diskSizeGB
      : image?.publisher
        ? MARKETPLACE_OS_DISK_GB
        : undefined;
    checkVmCreate(input, { size, imageOsDiskSizeGB: imageSize === undefined ? undefined : Number(imageSize) });
    // A marketplace image with a purchase plan needs the same `plan` on the VM. Source:
    // https://learn.microsoft.com/azure/virtual-machines/marketplace-images#deploy-an-image-with-marketplace-terms
    const planned = image?.publisher ? this.ctx.marketplacePlan(image) : undefined;
    const given = input.plan ?? {};
    if (
      planned &&
      (String(given.name ?? '') !== planned.name ||
        String(given.product ?? '') !== planned.product ||
        String(given.publisher ?? '') !== planned.publisher)
    ) {
      throw new ArmError(
        400,
        'VMMarketplaceInvalidInput',
        `Creating a virtual machine from Marketplace image or a custom image sourced from a Marketplace image requires Plan information in the request. VM: '${id}'.`,
      );
    }
    this.checkNics(id, p);
    const avset = p.availabilitySet?.id ? this.ctx.state.get(p.availabilitySet.id) : undefined;
    if (p.availabilitySet?.id && !avset)
      throw new ArmError(404, 'NotFound', `Availability set ${p.availabilitySet.id} was not found.`);
    const ppgId = p.proximityPlacementGroup?.id;
    if (ppgId && !this.ctx.state.get(ppgId))
      throw new ArmError(404, 'NotFound', `Proximity placement group ${ppgId} was not found.`);
    // A VM in an availability set that is in a proximity placement group must name the same group.
    // Source: https://learn.microsoft.com/azure/virtual-machines/co-location#proximity-placement-groups
    const avsetPpg = avset?.body.properties?.proximityPlacementGroup?.id;
    if (avsetPpg && !sameId(avsetPpg, ppgId)) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `The virtual machine must be in proximity placement group ${avsetPpg}, the group of its availability set ${avset!.id}.`,
      );
    }
    const name = req.name!;
    const location = normalizeLocation(input.location ?? rgLocation);
    const osProfile = p.osProfile ? clone(p.osProfile) : undefined;
    const customDataB64: string | undefined = osProfile?.customData;
    if (osProfile) {
      delete osProfile.customData;
      delete osProfile.adminPassword;
      osProfile.computerName ??= name;
      osProfile.secrets ??= [];
      osProfile.allowExtensionOperations ??= true;
      osProfile.requireGuestProvisionSignal ??= true;
    }
    const created: string[] = [];
    const dataDisks = this.dataDisks(
      { id, name, rg, location, zones: input.zones, vmSize: size.name },
      p.storageProfile?.dataDisks ?? [],
      created,
    );
    const osDiskName = os.name ?? `${name}_OsDisk_1_${randomUUID().replace(/-/g, '')}`;
    const osDiskId = this.ctx.state.resourceId(rg, `${NS}/disks`, osDiskName);
    const osSize = Number(os.diskSizeGB ?? 30);
    const osSku = os.managedDisk?.storageAccountType ?? 'Standard_LRS';
    if (!/^attach$/i.test(os.createOption ?? '')) {
      this.storeDisk(
        osDiskId,
        osDiskName,
        rg,
        location,
        {
          sku: { name: osSku },
          ...(input.zones ? { zones: input.zones } : {}),
          properties: {
            osType: os.osType ?? 'Linux',
            hyperVGeneration: 'V1',
            creationData: { createOption: 'FromImage', ...(image?.id ? { imageReference: { id: image.id } } : {}) },
            diskSizeGB: osSize,
          },
        },
        'Succeeded',
      );
      created.push(osDiskId);
    }
    const body: Json = {
      name,
      id,
      type: `${NS}/virtualMachines`,
      location,
      ...(input.tags ? { tags: input.tags } : {}),
      ...(input.zones ? { zones: input.zones } : {}),
      ...(input.plan ? { plan: input.plan } : {}),
      properties: {
        ...p,
        vmId: randomUUID(),
        hardwareProfile: p.hardwareProfile,
        storageProfile: {
          ...(image ? { imageReference: image } : {}),
          osDisk: {
            osType: os.osType ?? 'Linux',
            name: osDiskName,
            createOption: os.createOption ?? 'FromImage',
            caching: os.caching ?? 'ReadWrite',
            managedDisk: {
              storageAccountType: osSku,
              id: /^attach$/i.test(os.createOption ?? '') ? os.managedDisk?.id : osDiskId,
            },
            deleteOption: os.deleteOption ?? 'Detach',
            diskSizeGB: osSize,
          },
          dataDisks,
        },
        ...(osProfile ? { osProfile } : {}),
        networkProfile: p.networkProfile,
        timeCreated: new Date().toISOString(),
        provisioningState: 'Creating',
      },
    };
    const vm: StoredResource = {
      id,
      name,
      type: `${NS}/virtualMachines`,
      resourceGroup: rg,
      etag: '"1"',
      body,
      inputKey,
    };
    this.ctx.state.put(vm);
    this.power.set(id.toLowerCase(), 'starting');
    const customData = customDataB64 === undefined ? undefined : Buffer.from(customDataB64, 'base64').toString('utf8');
    const { headers } = this.ctx.startOperation(
      req,
      location,
      'compute',
      {
        kind: 'vmCreate',
        holds: [id, ...(p.networkProfile?.networkInterfaces ?? []).map((n: Json) => String(n.id))],
        work: async () => {
          await this.ctx.hooks.onVmCreated?.(this.hookInfo(vm, customData));
        },
        onSuccess: () => {
          vm.body.properties.provisioningState = 'Succeeded';
          this.power.set(id.toLowerCase(), 'running');
        },
        onFailure: () => {
          vm.body.properties.provisioningState = 'Failed';
          this.power.set(id.toLowerCase(), 'stopped');
          // After a failed create, its NICs stay reserved for that VM for 180 seconds. Source:
          // https://learn.microsoft.com/troubleshoot/azure/virtual-machines/linux/troubleshoot-vm-deployment-nicreservedforanothervm
          for (const n of p.networkProfile?.networkInterfaces ?? []) this.ctx.reserveNic(String(n.id), id);
        },
      },
      false,
    );
    return { status: 201, body: this.render(vm), headers };
  }

  private async updateVm(
    req: ProviderRequest,
    vm: StoredResource,
    input: Json,
    inputKey: string,
  ): Promise<ArmResponse> {
    const p = input.properties ?? {};
    this.ctx.refuseBusy(req, [vm.id]);
    checkTags(input.tags, vm.id);
    const cur = vm.body.properties;
    if (p.osProfile) {
      const wanted = clone(p.osProfile);
      const have = clone(cur.osProfile ?? {});
      for (const o of [wanted, have]) {
        delete o.customData;
        delete o.adminPassword;
        delete o.secrets;
        delete o.allowExtensionOperations;
        delete o.requireGuestProvisionSignal;
      }
      wanted.computerName ??= have.computerName;
      if (canonicalJson(wanted) !== canonicalJson(have)) {
        throw new ArmError(409, 'PropertyChangeNotAllowed', "Changing property 'osProfile' is not allowed.");
      }
    }
    if (p.networkProfile) this.checkNics(vm.id, p);
    const created: string[] = [];
    const dataDisks =
      p.storageProfile?.dataDisks !== undefined
        ? this.dataDisks(
            {
              id: vm.id,
              name: vm.name,
              rg: vm.resourceGroup,
              location: vm.body.location,
              zones: vm.body.zones,
              vmSize: cur.hardwareProfile?.vmSize,
            },
            p.storageProfile.dataDisks,
            created,
          )
        : cur.storageProfile.dataDisks;
    if (p.hardwareProfile) cur.hardwareProfile = { ...cur.hardwareProfile, ...p.hardwareProfile };
    if (p.networkProfile) cur.networkProfile = p.networkProfile;
    cur.storageProfile.dataDisks = dataDisks;
    if (input.tags !== undefined) vm.body.tags = input.tags;
    cur.provisioningState = 'Updating';
    vm.etag = `"${Number(JSON.parse(vm.etag)) + 1}"`;
    vm.inputKey = inputKey;
    if (p.storageProfile?.dataDisks !== undefined) await this.ctx.hooks.onDataDisksChanged?.(this.hookInfo(vm));
    const { headers } = this.ctx.startOperation(
      req,
      vm.body.location,
      'compute',
      {
        kind: 'vmUpdate',
        holds: [vm.id],
        onSuccess: () => (cur.provisioningState = 'Succeeded'),
        onFailure: () => (cur.provisioningState = 'Failed'),
      },
      false,
    );
    return { status: 200, body: this.render(vm), headers };
  }

  private async vmAction(req: ProviderRequest, vm: StoredResource): Promise<ArmResponse> {
    const action = req.rest.join('/').toLowerCase();
    if (action === 'instanceview' && req.method === 'GET') return { status: 200, body: this.instanceView(vm) };
    if (req.method !== 'POST' || req.rest.length !== 1)
      throw new ArmError(404, 'NotFound', `The requested resource ${req.path} does not exist.`);
    const key = vm.id.toLowerCase();
    if (vm.body.properties.provisioningState !== 'Deleting') this.ctx.refuseBusy(req, [vm.id]);
    switch (action) {
      case 'restart': {
        if (vm.body.properties.provisioningState === 'Deleting')
          throw new ArmError(
            409,
            'OperationNotAllowed',
            `Operation 'restart' is not allowed on VM '${vm.name}' since the VM is marked for deletion.`,
          );
        const power = this.power.get(key);
        if (power === 'deallocated' || power === 'stopped') {
          throw new ArmError(
            409,
            'OperationNotAllowed',
            `Operation 'restart' is not allowed on VM '${vm.name}' since the VM is ${power === 'stopped' ? 'not running' : 'deallocated'}.`,
          );
        }
        const { headers } = this.ctx.startOperation(
          req,
          vm.body.location,
          'compute',
          {
            kind: 'vmRestart',
            holds: [vm.id],
            work: async () => {
              this.power.set(key, 'starting');
              await this.ctx.hooks.onVmRestarted?.(this.hookInfo(vm));
            },
            onSuccess: () => this.power.set(key, 'running'),
            result: () => undefined,
          },
          true,
        );
        return { status: 202, headers };
      }
      case 'start':
      case 'poweroff':
      case 'deallocate': {
        const target: PowerState = action === 'start' ? 'running' : action === 'poweroff' ? 'stopped' : 'deallocated';
        const { headers } = this.ctx.startOperation(
          req,
          vm.body.location,
          'compute',
          { kind: 'vmPower', holds: [vm.id], onSuccess: () => this.power.set(key, target), result: () => undefined },
          true,
        );
        return { status: 202, headers };
      }
      case 'attachdetachdatadisks': {
        const b = req.body ?? {};
        const disks: Json[] = clone(vm.body.properties.storageProfile.dataDisks);
        const detach: Json[] = b.dataDisksToDetach ?? [];
        let next = disks.filter((d) => !detach.some((x) => sameId(x.diskId, d.managedDisk?.id)));
        for (const a of b.dataDisksToAttach ?? []) {
          let lun = a.lun;
          if (lun === undefined) for (lun = 0; next.some((d) => d.lun === lun); lun++);
          next = [
            ...next,
            {
              lun,
              createOption: 'Attach',
              caching: a.caching ?? 'None',
              managedDisk: { id: a.diskId },
              deleteOption: a.deleteOption ?? 'Detach',
            },
          ];
        }
        const created: string[] = [];
        vm.body.properties.storageProfile.dataDisks = this.dataDisks(
          {
            id: vm.id,
            name: vm.name,
            rg: vm.resourceGroup,
            location: vm.body.location,
            zones: vm.body.zones,
            vmSize: vm.body.properties.hardwareProfile?.vmSize,
          },
          next,
          created,
        );
        vm.body.properties.provisioningState = 'Updating';
        vm.etag = `"${Number(JSON.parse(vm.etag)) + 1}"`;
        vm.inputKey = '';
        await this.ctx.hooks.onDataDisksChanged?.(this.hookInfo(vm));
        const { headers } = this.ctx.startOperation(
          req,
          vm.body.location,
          'compute',
          {
            kind: 'dataDisks',
            holds: [vm.id],
            onSuccess: () => (vm.body.properties.provisioningState = 'Succeeded'),
            onFailure: () => (vm.body.properties.provisioningState = 'Failed'),
            result: () => this.render(vm).properties.storageProfile,
          },
          true,
        );
        return { status: 202, headers };
      }
      default:
        throw new ArmError(404, 'NotFound', `The requested resource ${req.path} does not exist.`);
    }
  }

  // ---- disks, snapshots, images, availability sets ---------------------------------------

  private async putDisk(
    req: ProviderRequest,
    id: string,
    rg: string,
    rgLocation: string,
    input: Json,
    inputKey: string,
    existing: StoredResource | undefined,
  ): Promise<ArmResponse> {
    const p = input.properties ?? {};
    checkTags(input.tags, id);
    const sku = String(input.sku?.name ?? existing?.body.sku?.name ?? 'Standard_LRS');
    const sizeGB = Number(p.diskSizeGB ?? existing?.body.properties.diskSizeGB ?? 0);
    checkMaxShares({ sku, sizeGB, maxShares: p.maxShares }, id);
    if (
      existing &&
      p.maxShares !== undefined &&
      Number(p.maxShares) !== Number(existing.body.properties.maxShares ?? 1) &&
      this.vmUsingDisk(existing.id)
    ) {
      // Source: https://learn.microsoft.com/azure/virtual-machines/disks-shared-enable#deploy-shared-disks ("detach the disk from all VMs to change maxShares").
      throw new ArmError(
        409,
        'OperationNotAllowed',
        `Changing maxShares of disk '${existing.name}' is only allowed while it is detached from all VMs.`,
      );
    }
    if (p.proximityPlacementGroup?.id && !this.ctx.state.get(p.proximityPlacementGroup.id))
      throw new ArmError(404, 'NotFound', `Proximity placement group ${p.proximityPlacementGroup.id} was not found.`);
    const location = normalizeLocation(input.location ?? existing?.body.location ?? rgLocation);
    let record: StoredResource;
    if (existing) {
      const size = p.diskSizeGB !== undefined ? Number(p.diskSizeGB) : existing.body.properties.diskSizeGB;
      if (size < existing.body.properties.diskSizeGB) {
        throw new ArmError(
          409,
          'OperationNotAllowed',
          `Disk '${existing.name}' cannot be resized from ${existing.body.properties.diskSizeGB} GB to ${size} GB: shrinking a disk is not supported.`,
        );
      }
      const b = existing.body;
      b.properties.diskSizeGB = size;
      b.properties.diskSizeBytes = size * 1024 ** 3;
      if (input.tags !== undefined) b.tags = input.tags;
      if (p.maxShares !== undefined) b.properties.maxShares = p.maxShares;
      if (input.sku?.name)
        b.sku = { name: input.sku.name, tier: /premium/i.test(input.sku.name) ? 'Premium' : 'Standard' };
      b.properties.provisioningState = 'Updating';
      existing.inputKey = inputKey;
      record = existing;
    } else {
      const co = p.creationData ?? {};
      let size = Number(p.diskSizeGB);
      if (/^copy$/i.test(co.createOption ?? '')) {
        const src = this.ctx.state.get(String(co.sourceResourceId ?? ''));
        if (!src) throw new ArmError(404, 'NotFound', `Resource ${co.sourceResourceId} was not found.`);
        if (!Number.isInteger(size) || size <= 0) size = src.body.properties.diskSizeGB;
      } else if (/^import$/i.test(co.createOption ?? '')) {
        if (!co.sourceUri) throw invalidParameter("Required parameter 'creationData.sourceUri' is missing (null).");
        if (!Number.isInteger(size) || size <= 0) size = 30;
      } else if (/^empty$/i.test(co.createOption ?? '')) {
        if (!Number.isInteger(size) || size <= 0)
          throw invalidParameter("Required parameter 'diskSizeGB' is missing (null).");
      } else {
        throw invalidParameter(
          `The value '${co.createOption}' of parameter 'creationData.createOption' is not supported by this fake.`,
        );
      }
      record = this.storeDisk(
        id,
        req.name!,
        rg,
        location,
        { ...input, properties: { ...p, diskSizeGB: size } },
        'Updating',
      );
      record.inputKey = inputKey;
    }
    const { headers } = this.ctx.startOperation(
      req,
      location,
      'compute',
      {
        kind: 'disk',
        holds: [id],
        onSuccess: () => (record.body.properties.provisioningState = 'Succeeded'),
        onFailure: () => (record.body.properties.provisioningState = 'Failed'),
        result: () => this.render(record),
      },
      req.method === 'PATCH',
    );
    if (req.method === 'PATCH')
      headers['Location'] = `${this.ctx.endpoint}${id}?api-version=${encodeURIComponent(req.apiVersion)}`;
    return { status: 202, body: this.render(record), headers };
  }

  private async putSnapshot(
    req: ProviderRequest,
    id: string,
    rg: string,
    rgLocation: string,
    input: Json,
    inputKey: string,
    existing: StoredResource | undefined,
  ): Promise<ArmResponse> {
    const p = input.properties ?? {};
    const location = normalizeLocation(input.location ?? rgLocation);
    if (existing) {
      if (input.tags !== undefined) existing.body.tags = input.tags;
      existing.inputKey = inputKey;
      return { status: 200, body: this.render(existing) };
    }
    const co = p.creationData ?? {};
    const src = this.ctx.state.get(String(co.sourceResourceId ?? ''));
    if (!/^copy$/i.test(co.createOption ?? '') || !src)
      throw new ArmError(404, 'NotFound', `Resource ${co.sourceResourceId} was not found.`);
    const body: Json = {
      name: req.name,
      id,
      type: `${NS}/snapshots`,
      location,
      ...(input.tags ? { tags: input.tags } : {}),
      sku: { name: input.sku?.name ?? 'Standard_LRS', tier: 'Standard' },
      properties: {
        ...p,
        creationData: { createOption: 'Copy', sourceResourceId: src.id, sourceUniqueId: src.body.properties.uniqueId },
        diskSizeGB: src.body.properties.diskSizeGB,
        incremental: p.incremental ?? false,
        timeCreated: new Date().toISOString(),
        provisioningState: 'Updating',
      },
    };
    const record: StoredResource = {
      id,
      name: req.name!,
      type: `${NS}/snapshots`,
      resourceGroup: rg,
      etag: '',
      body,
      inputKey,
    };
    const headers = this.provision(req, record, location, 'snapshot');
    return { status: 202, body: this.render(record), headers };
  }

  /**
   * Stores a resource whose PUT runs as a long-running operation (snapshots, images) and starts
   * it: 'Creating' until the operation ends, then 'Succeeded' or 'Failed'. Returns its headers.
   */
  private provision(
    req: ProviderRequest,
    record: StoredResource,
    location: string,
    kind: OperationKind,
  ): Record<string, string> {
    this.ctx.state.put(record);
    const props = record.body.properties;
    return this.ctx.startOperation(
      req,
      location,
      'compute',
      {
        kind,
        onSuccess: () => (props.provisioningState = 'Succeeded'),
        onFailure: () => (props.provisioningState = 'Failed'),
      },
      false,
    ).headers;
  }

  private async putImage(
    req: ProviderRequest,
    id: string,
    rg: string,
    rgLocation: string,
    input: Json,
    inputKey: string,
    existing: StoredResource | undefined,
  ): Promise<ArmResponse> {
    const p = input.properties ?? {};
    const os = p.storageProfile?.osDisk;
    if (!os?.osType || !os.osState)
      throw invalidParameter("Required parameter 'storageProfile.osDisk' (osType, osState) is missing (null).");
    if (!os.blobUri && !os.managedDisk?.id && !os.snapshot?.id)
      throw invalidParameter('The image OS disk needs one of blobUri, managedDisk or snapshot.');
    const location = normalizeLocation(input.location ?? rgLocation);
    const body: Json = {
      name: req.name,
      id,
      type: `${NS}/images`,
      location,
      ...(input.tags ? { tags: input.tags } : {}),
      properties: {
        ...p,
        storageProfile: {
          osDisk: { caching: 'ReadWrite', ...os },
          dataDisks: p.storageProfile.dataDisks ?? [],
          zoneResilient: p.storageProfile.zoneResilient ?? false,
        },
        provisioningState: 'Creating',
      },
    };
    const record: StoredResource = {
      id,
      name: req.name!,
      type: `${NS}/images`,
      resourceGroup: rg,
      etag: '',
      body,
      inputKey,
    };
    const headers = this.provision(req, record, location, 'image');
    return { status: existing ? 200 : 201, body: this.render(record), headers };
  }

  /** Proximity placement groups: synchronous, like availability sets (200 + the body). */
  private putProximityPlacementGroup(
    id: string,
    rg: string,
    rgLocation: string,
    input: Json,
    inputKey: string,
    existing: StoredResource | undefined,
    name: string,
  ): ArmResponse {
    checkTags(input.tags, id);
    const p = input.properties ?? {};
    const body: Json = {
      name,
      id,
      type: `${NS}/proximityPlacementGroups`,
      location: normalizeLocation(input.location ?? rgLocation),
      ...(input.tags ? { tags: input.tags } : {}),
      ...(input.zones ? { zones: input.zones } : {}),
      properties: {
        proximityPlacementGroupType: p.proximityPlacementGroupType ?? 'Standard',
        ...(p.intent ? { intent: p.intent } : {}),
      },
    };
    const record: StoredResource = {
      id,
      name,
      type: `${NS}/proximityPlacementGroups`,
      resourceGroup: rg,
      etag: '',
      body,
      inputKey,
    };
    this.ctx.state.put(record);
    return { status: existing ? 200 : 201, body: this.render(record) };
  }

  private putAvailabilitySet(
    id: string,
    rg: string,
    rgLocation: string,
    input: Json,
    inputKey: string,
    existing: StoredResource | undefined,
    name: string,
  ): ArmResponse {
    const p = input.properties ?? {};
    checkTags(input.tags, id);
    if (p.proximityPlacementGroup?.id && !this.ctx.state.get(p.proximityPlacementGroup.id))
      throw new ArmError(404, 'NotFound', `Proximity placement group ${p.proximityPlacementGroup.id} was not found.`);
    const body: Json = {
      name,
      id,
      type: `${NS}/availabilitySets`,
      location: normalizeLocation(input.location ?? rgLocation),
      ...(input.tags ? { tags: input.tags } : {}),
      sku: { name: input.sku?.name ?? 'Classic' },
      properties: {
        platformFaultDomainCount: p.platformFaultDomainCount ?? 2,
        platformUpdateDomainCount: p.platformUpdateDomainCount ?? 5,
        ...(p.proximityPlacementGroup?.id ? { proximityPlacementGroup: { id: p.proximityPlacementGroup.id } } : {}),
      },
    };
    if (existing) {
      const before = existing.body.properties;
      if (
        before.platformFaultDomainCount !== body.properties.platformFaultDomainCount &&
        this.render(existing).properties.virtualMachines.length
      ) {
        throw new ArmError(
          409,
          'OperationNotAllowed',
          "Changing property 'platformFaultDomainCount' is not allowed while the availability set contains virtual machines.",
        );
      }
    }
    const record: StoredResource = {
      id,
      name,
      type: `${NS}/availabilitySets`,
      resourceGroup: rg,
      etag: existing ? `"${Number(JSON.parse(existing.etag)) + 1}"` : '"1"',
      body,
      inputKey,
    };
    this.ctx.state.put(record);
    return { status: 200, body: this.render(record) };
  }

  // ---- deletes ----------------------------------------------------------------------------

  private async remove(req: ProviderRequest, type: string, r: StoredResource): Promise<ArmResponse> {
    switch (type) {
      case 'virtualMachines':
        return this.deleteVm(req, r);
      case 'disks': {
        const vm = this.vmUsingDisk(r.id);
        if (vm) throw new ArmError(409, 'OperationNotAllowed', `Disk ${r.name} is attached to VM ${vm.id}.`);
        break;
      }
      case 'images':
        break;
      case 'snapshots':
        break;
      case 'proximityPlacementGroups': {
        const b = this.render(r).properties;
        // Source: https://learn.microsoft.com/azure/virtual-machines/co-location ("delete the group after its resources").
        if (b.virtualMachines.length || b.availabilitySets.length) {
          throw new ArmError(
            409,
            'OperationNotAllowed',
            `Proximity placement group ${r.name} cannot be deleted because it is in use by ${[...b.virtualMachines, ...b.availabilitySets].map((x: Json) => x.id).join(', ')}.`,
          );
        }
        this.ctx.state.delete(r.id);
        return { status: 200 };
      }
      case 'availabilitySets': {
        if (this.render(r).properties.virtualMachines.length) {
          throw new ArmError(
            409,
            'OperationNotAllowed',
            `Availability set ${r.name} cannot be deleted. Before deleting an availability set please ensure that it does not contain any VM.`,
          );
        }
        this.ctx.state.delete(r.id);
        return { status: 200 };
      }
    }
    r.body.properties.provisioningState = 'Deleting';
    const { headers } = this.ctx.startOperation(
      req,
      r.body.location,
      'compute',
      {
        kind: 'disk',
        holds: [r.id],
        onSuccess: () => this.ctx.state.delete(r.id),
        onFailure: () => (r.body.properties.provisioningState = 'Failed'),
      },
      true,
    );
    return { status: 202, headers };
  }

  /** Deletes a VM: hook first, then the VM, its OS/data disks and NICs per their deleteOption. */
  async deleteVm(req: ProviderRequest, vm: StoredResource): Promise<ArmResponse> {
    if (vm.body.properties.provisioningState === 'Deleting') {
      const { headers } = this.ctx.startOperation(req, vm.body.location, 'compute', { kind: 'vmDelete' }, true);
      return { status: 202, headers };
    }
    // A delete preempts what is in progress on the VM: that operation ends Canceled
    // (OperationPreempted). Source: https://learn.microsoft.com/azure/virtual-machines/troubleshooting/error-messages ("OperationPreempted").
    const running = this.ctx.operations.holding(vm.id);
    if (running) this.ctx.operations.preempt(running);
    vm.body.properties.provisioningState = 'Deleting';
    this.power.set(vm.id.toLowerCase(), 'stopping');
    const { headers } = this.ctx.startOperation(
      req,
      vm.body.location,
      'compute',
      {
        kind: 'vmDelete',
        holds: [vm.id, ...(vm.body.properties.networkProfile?.networkInterfaces ?? []).map((n: Json) => String(n.id))],
        work: async () => {
          await this.ctx.hooks.onVmDeleted?.(this.hookInfo(vm));
        },
        onSuccess: () => this.finishVmDelete(vm),
        onFailure: () => (vm.body.properties.provisioningState = 'Failed'),
      },
      true,
    );
    return { status: 202, headers };
  }

  /** Removes a VM and what it owns with deleteOption Delete (used by resource group deletion too). */
  finishVmDelete(vm: StoredResource): void {
    const sp = vm.body.properties.storageProfile ?? {};
    this.ctx.state.delete(vm.id);
    this.power.delete(vm.id.toLowerCase());
    for (const d of [sp.osDisk, ...(sp.dataDisks ?? [])]) {
      if (d?.deleteOption === 'Delete' && d.managedDisk?.id) this.ctx.state.delete(d.managedDisk.id);
    }
    for (const n of vm.body.properties.networkProfile?.networkInterfaces ?? []) {
      if (n.properties?.deleteOption === 'Delete') this.ctx.state.delete(n.id);
    }
  }
}

/** JSON merge for PATCH: objects merge recursively, everything else (arrays too) replaces. */
function merge(base: Json, patch: Json): Json {
  if (
    !patch ||
    typeof patch !== 'object' ||
    Array.isArray(patch) ||
    !base ||
    typeof base !== 'object' ||
    Array.isArray(base)
  )
    return clone(patch);
  const out: Json = clone(base);
  for (const [k, v] of Object.entries(patch)) out[k] = v === null ? undefined : merge(out[k], v);
  return out;
}
