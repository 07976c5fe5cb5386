import { ArmError } from './arm-error.js';
import type { Json } from './arm-state.js';
import { vmSize, type VmSizeCapabilities } from './vm-sizes.js';

// The refusals ARM documents, one function per rule, each with its source beside it. The
// providers call them before a request has any effect, so a refused request changes nothing.

/**
 * Tags: at most 50 pairs; names at most 512 characters without `< > % & \ ? /`; values at most
 * 256 characters. Source: https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations.
 */
export function checkTags(tags: Json, at: string): void {
  if (tags === undefined || tags === null) return;
  const entries = Object.entries(tags as Record<string, unknown>);
  if (entries.length > 50) {
    throw new ArmError(
      400,
      'InvalidTagCount',
      `The resource ${at} has ${entries.length} tags; at most 50 tag name/value pairs are allowed.`,
    );
  }
  const bad = entries.map(([k]) => k).filter((k) => /[<>%&\\?/]/.test(k));
  if (bad.length) {
    throw new ArmError(
      400,
      'InvalidTagNameCharacters',
      `The tag names '${bad.join(',')}' have invalid characters '<,>,%,&,\\,?,/'. Please use tag names without these characters.`,
    );
  }
  for (const [k, v] of entries) {
    if (k.length > 512)
      throw new ArmError(
        400,
        'InvalidTagNameLength',
        `The tag name '${k.slice(0, 40)}...' exceeds the maximum length of 512 characters.`,
      );
    if (String(v).length > 256)
      throw new ArmError(
        400,
        'InvalidTagValueLength',
        `The value of tag '${k}' exceeds the maximum length of 256 characters.`,
      );
  }
}

/**
 * `adminUsername` values the Compute RP refuses. Source: the REST spec's OSProfile.adminUsername
 * ("Disallowed values", ComputeRP 2025-11-01), also https://learn.microsoft.com/azure/virtual-machines/linux/faq#what-are-the-username-requirements-when-creating-a-vm-.
 */
export const RESERVED_ADMIN_USERNAMES: ReadonlySet<string> = new Set([
  'administrator',
  'admin',
  'user',
  'user1',
  'test',
  'user2',
  'test1',
  'user3',
  'admin1',
  '1',
  '123',
  'a',
  'actuser',
  'adm',
  'admin2',
  'aspnet',
  'backup',
  'console',
  'david',
  'guest',
  'john',
  'owner',
  'root',
  'server',
  'sql',
  'support',
  'support_388945a0',
  'sys',
  'test2',
  'test3',
  'user4',
  'user5',
]);

/** The size of a VM create, or ARM's refusal of an unknown one. */
export function requireVmSize(name: unknown, location: string): VmSizeCapabilities {
  const size = vmSize(name);
  // An unknown size: Source: https://learn.microsoft.com/azure/azure-resource-manager/troubleshooting/error-sku-not-available
  // (SkuNotAvailable names the size and the location).
  if (!size) {
    throw new ArmError(
      409,
      'SkuNotAvailable',
      `The requested VM size ${String(name)} is not available in the current region (${location}). Please try another size or deploy to a different location or different zone. See https://aka.ms/azureskunotavailable for details.`,
    );
  }
  return size;
}

/** What a VM create's other parts tell the rules. */
export interface VmCreateFacts {
  readonly size: VmSizeCapabilities;
  /** The OS disk size of the image the VM is made from, when known (GiB). */
  readonly imageOsDiskSizeGB: number | undefined;
}

/** The rules of a VM create (PUT of a new Microsoft.Compute/virtualMachines). */
export function checkVmCreate(input: Json, facts: VmCreateFacts): void {
  const p = input.properties ?? {};
  const os = p.osProfile;
  if (os) {
    const cn = os.computerName;
    // Linux computerName: 1-64 characters, none of ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \ | ; : ' " , < > / ?
    // and spaces; not ending in '.' or '-'. Source: https://learn.microsoft.com/azure/azure-resource-manager/management/resource-name-rules#microsoftcompute
    // and the REST spec's OSProfile.computerName ("Max-length (Linux): 64 characters").
    if (
      cn !== undefined &&
      (String(cn).length > 64 || /[\s~!@#$%^&*()=+_[\]{}\\|;:'",<>/?]/.test(String(cn)) || /[.-]$/.test(String(cn)))
    ) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `Linux host name cannot exceed 64 characters in length or contain the following characters: ~ ! @ # $ % ^ & * ( ) = + _ [ ] { } \\ | ; : ' " , < > / ?. (osProfile.computerName '${String(cn)}')`,
      );
    }
    const user = String(os.adminUsername ?? '');
    // Source: the REST spec's OSProfile.adminUsername: disallowed values, at most 64 characters (Linux).
    if (RESERVED_ADMIN_USERNAMES.has(user.toLowerCase()) || user.length > 64 || user.length === 0) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `The Admin Username specified is not allowed. (osProfile.adminUsername '${user}')`,
      );
    }
    // Source: the REST spec's OSProfile.customData: "The maximum length of the binary array is
    // 65535 bytes"; also https://learn.microsoft.com/azure/virtual-machines/custom-data.
    if (os.customData !== undefined && Buffer.from(String(os.customData), 'base64').length > 65535) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `Custom data in OSProfile must be in Base64 encoding and with a maximum length of 87380 characters. (osProfile.customData is ${Buffer.from(String(os.customData), 'base64').length} bytes decoded, more than 65535)`,
      );
    }
  }
  // A VM is either in an availability set or in a zone. Source: https://learn.microsoft.com/azure/virtual-machines/availability
  // ("Availability sets" vs "Availability zones") and the REST spec's VirtualMachine.zones /
  // availabilitySet; ARM answers InvalidParameter naming both.
  if (p.availabilitySet?.id && Array.isArray(input.zones) && input.zones.length > 0) {
    throw new ArmError(
      400,
      'InvalidParameter',
      `Virtual Machine cannot be created in an availability set and an availability zone at the same time: 'availabilitySet' and 'zones' are both set.`,
    );
  }
  for (const z of input.zones ?? []) {
    if (!facts.size.zones.includes(String(z))) {
      throw new ArmError(
        400,
        'InvalidParameter',
        `The zone(s) '${String(z)}' for resource 'virtualMachines' is not supported for VM size ${facts.size.name}. The supported zones are '${facts.size.zones.join(',')}'.`,
      );
    }
  }
  const osDisk = p.storageProfile?.osDisk ?? {};
  // Source: https://learn.microsoft.com/azure/virtual-machines/linux/expand-disks ("you can't shrink") and the
  // ResizeDiskError of https://learn.microsoft.com/azure/virtual-machines/troubleshooting/error-messages: the OS disk
  // may not be smaller than the image's.
  if (
    osDisk.diskSizeGB !== undefined &&
    facts.imageOsDiskSizeGB !== undefined &&
    Number(osDisk.diskSizeGB) < facts.imageOsDiskSizeGB
  ) {
    throw new ArmError(
      400,
      'ResizeDiskError',
      `The specified disk size ${Number(osDisk.diskSizeGB)} GB is smaller than the size of the corresponding disk in the VM image: ${facts.imageOsDiskSizeGB} GB. This is not allowed. Please choose equal or greater size or do not specify an explicit size. (storageProfile.osDisk.diskSizeGB)`,
    );
  }
  checkStorageTypeForSize(osDisk.managedDisk?.storageAccountType, facts.size, 'storageProfile.osDisk');
  for (const [i, d] of (p.storageProfile?.dataDisks ?? []).entries()) {
    if (d?.toBeDetached === true) continue;
    checkStorageTypeForSize(d?.managedDisk?.storageAccountType, facts.size, `storageProfile.dataDisks[${i}]`);
  }
  checkDataDiskCount(
    facts.size,
    (p.storageProfile?.dataDisks ?? []).filter((d: Json) => d?.toBeDetached !== true).length,
  );
}

/**
 * Premium SSD needs a size with premium storage. Source: https://learn.microsoft.com/azure/virtual-machines/disks-types#premium-ssds
 * ("Premium SSDs can only be used with VM series that are premium storage-compatible") and the
 * size pages' "Premium Storage: Not Supported" (Dv2, Av2).
 */
export function checkStorageTypeForSize(type: unknown, size: VmSizeCapabilities, at: string): void {
  if (typeof type === 'string' && /^Premium/i.test(type) && !size.premiumIO) {
    throw new ArmError(
      400,
      'InvalidParameter',
      `Requested operation cannot be performed because storage account type '${type}' is not supported for VM size '${size.name}'. (${at}.managedDisk.storageAccountType)`,
    );
  }
}

/** Source: the size pages' "Max data disks"; the refusal is ARM's OperationNotAllowed wording. */
export function checkDataDiskCount(size: VmSizeCapabilities, count: number): void {
  if (count > size.maxDataDiskCount) {
    throw new ArmError(
      409,
      'OperationNotAllowed',
      `The maximum number of data disks allowed to be attached to a VM of this size is ${size.maxDataDiskCount}. (${count} requested for ${size.name})`,
    );
  }
}

/**
 * Shared disks: maxShares > 1 only on Premium SSD, Standard SSD, Premium SSD v2 and Ultra, and at
 * most 3 (up to P20/E20, 512 GiB), 5 (to P50/E50, 4 TiB) or 10 (larger) for Premium and Standard
 * SSD. Source: https://learn.microsoft.com/azure/virtual-machines/disks-shared#disk-sizes and #limitations.
 */
export function checkMaxShares(disk: { sku: string; sizeGB: number; maxShares: unknown }, at: string): void {
  if (disk.maxShares === undefined || disk.maxShares === null) return;
  const n = Number(disk.maxShares);
  if (!Number.isInteger(n) || n < 1)
    throw new ArmError(
      400,
      'InvalidParameter',
      `The value '${String(disk.maxShares)}' of parameter 'maxShares' of ${at} is invalid.`,
    );
  if (n === 1) return;
  if (!/^(Premium_LRS|Premium_ZRS|StandardSSD_LRS|StandardSSD_ZRS|PremiumV2_LRS|UltraSSD_LRS)$/i.test(disk.sku)) {
    throw new ArmError(
      400,
      'InvalidParameter',
      `Shared disks (maxShares ${n}) are not supported for disk ${at} with SKU '${disk.sku}'; use Premium_LRS, Premium_ZRS, StandardSSD_LRS, StandardSSD_ZRS, PremiumV2_LRS or UltraSSD_LRS.`,
    );
  }
  if (/^(Premium|StandardSSD)_/i.test(disk.sku)) {
    const limit = disk.sizeGB <= 512 ? 3 : disk.sizeGB <= 4096 ? 5 : 10;
    if (n > limit)
      throw new ArmError(
        400,
        'InvalidParameter',
        `The maxShares ${n} of disk ${at} exceeds ${limit}, the limit for a ${disk.sku} disk of ${disk.sizeGB} GB.`,
      );
  }
}

/**
 * A zonal disk attaches only to a VM in the same zone; a regional VM cannot take a zonal disk.
 * Source: https://learn.microsoft.com/azure/virtual-machines/disks-high-availability ("zonal disks ... can only be attached
 * to VMs in the same zone") and https://learn.microsoft.com/azure/virtual-machines/move-virtual-machines-regional-zonal-portal.
 */
export function checkDiskZone(
  diskName: string,
  diskZones: readonly string[] | undefined,
  vmZones: readonly string[] | undefined,
): void {
  const dz = diskZones ?? [];
  const vz = vmZones ?? [];
  if (dz.length === 0 && vz.length === 0) return;
  // a zonal VM takes zonal disks of its zone only: a regional disk must be moved into the zone first
  if (dz.length === 0 || vz.length === 0 || !dz.some((z) => vz.includes(z))) {
    throw new ArmError(
      400,
      'BadRequest',
      `Disk '${diskName}' in ${dz.length ? `zone ${dz.join(',')}` : 'no zone'} cannot be attached to a VM in ${vz.length ? `zone ${vz.join(',')}` : 'no zone'}: a disk attaches only to a VM in the same zone.`,
    );
  }
}

/**
 * A Standard public IP is always Static. Source: https://learn.microsoft.com/azure/virtual-network/ip-services/public-ip-addresses#sku
 * ("Standard SKU: IP assignment Static").
 */
export function checkPublicIp(body: Json, id: string): void {
  const sku = String(body.sku?.name ?? 'Standard');
  const method = String(body.properties?.publicIPAllocationMethod ?? 'Static');
  if (/^standard$/i.test(sku) && /^dynamic$/i.test(method)) {
    throw new ArmError(
      400,
      'StandardSkuPublicIPAddressesMustBeStatic',
      `Standard sku publicIp ${id} must have AllocationMethod set to Static.`,
    );
  }
}

/**
 * NSG rule priorities: 100-4096, unique per direction. Source:
 * https://learn.microsoft.com/azure/virtual-network/network-security-groups-overview#security-rules ("between 100 and 4096").
 */
export function checkSecurityRules(rules: readonly Json[], nsgId: string): void {
  const seen = new Map<string, string>();
  for (const r of rules) {
    const pr = Number(r?.properties?.priority);
    if (!Number.isInteger(pr) || pr < 100 || pr > 4096) {
      throw new ArmError(
        400,
        'SecurityRuleInvalidPriority',
        `Security rule ${nsgId}/securityRules/${r?.name} has invalid Priority. Value provided: ${String(r?.properties?.priority)} Allowed range 100-4096.`,
      );
    }
    const key = `${String(r.properties.direction ?? 'Inbound').toLowerCase()}/${pr}`;
    const other = seen.get(key);
    if (other !== undefined) {
      throw new ArmError(
        400,
        'SecurityRuleConflict',
        `Security rule ${r.name} conflicts with rule ${other}. Rules cannot have the same Priority and Direction.`,
      );
    }
    seen.set(key, String(r.name));
  }
}

/** `a.b.c.d/n` as [first, last] address numbers, or undefined. */
export function cidrRange(cidr: string): [number, number] | undefined {
  const [ip, bits] = cidr.split('/');
  const parts = (ip ?? '').split('.').map(Number);
  const b = Number(bits);
  if (
    parts.length !== 4 ||
    parts.some((x) => !Number.isInteger(x) || x < 0 || x > 255) ||
    !Number.isInteger(b) ||
    b < 0 ||
    b > 32
  )
    return undefined;
  const n = ((parts[0]! << 24) | (parts[1]! << 16) | (parts[2]! << 8) | parts[3]!) >>> 0;
  const size = 2 ** (32 - b);
  const base = Math.floor(n / size) * size;
  return [base, base + size - 1];
}

/**
 * Subnets of one virtual network may not overlap. Source:
 * https://learn.microsoft.com/azure/virtual-network/virtual-network-manage-subnet#add-a-subnet and the
 * NetcfgSubnetRangesOverlap error of https://learn.microsoft.com/azure/virtual-network/virtual-network-troubleshoot-peering-issues.
 */
export function checkSubnetsDisjoint(
  vnetName: string,
  subnets: readonly { name: string; addressPrefix: string }[],
): void {
  for (let i = 0; i < subnets.length; i++) {
    for (let j = 0; j < i; j++) {
      const a = cidrRange(subnets[i]!.addressPrefix);
      const b = cidrRange(subnets[j]!.addressPrefix);
      if (a && b && a[0] <= b[1] && b[0] <= a[1]) {
        throw new ArmError(
          400,
          'NetcfgSubnetRangesOverlap',
          `Subnet '${subnets[i]!.name}' is not valid because its IP address range overlaps with that of an existing subnet in virtual network '${vnetName}'.`,
        );
      }
    }
  }
}
