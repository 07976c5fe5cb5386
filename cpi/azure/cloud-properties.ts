import { isIPv4 } from 'node:net';
import type { CloudProperties, NetworkSettings } from '../contract.js';
import { invalid } from './error-mapper.js';
import { maxDataDisks, parseSizeName, premiumStorageCapable } from './vm-sizes.js';

/** A load balancer a VM joins: by name, in a resource group, in one backend pool. */
export interface LoadBalancerRef {
  readonly name: string;
  readonly resourceGroupName: string | undefined;
  readonly backendPoolName: string | undefined;
}

/** A resource named in cloud properties, maybe in another resource group. */
export interface NamedRef {
  readonly name: string;
  readonly resourceGroupName: string | undefined;
}

/** The merged vm_type + vm_extensions + az cloud properties, as bosh-azure-cpi names them. */
export interface VmProperties {
  readonly instanceType: string;
  /** Root disk size in GiB (root_disk.size is MiB) and storage account type. */
  readonly rootDisk: { readonly sizeGb: number | undefined; readonly type: string | undefined };
  /** The ephemeral data disk at LUN 0 (ephemeral_disk.size in MiB), absent with use_root_disk. */
  readonly ephemeralDisk: { readonly sizeGb: number; readonly type: string | undefined } | undefined;
  readonly loadBalancers: readonly LoadBalancerRef[];
  readonly securityGroup: NamedRef | undefined;
  readonly availabilitySet: string | undefined;
  readonly availabilityZone: string | undefined;
  readonly applicationSecurityGroups: readonly string[];
  readonly assignDynamicPublicIp: boolean;
  readonly tags: Readonly<Record<string, string>>;
  readonly proximityPlacementGroup: string | undefined;
}

/** One network's cloud properties (manual/dynamic networks of the cloud-config). */
export interface NetworkProperties {
  readonly resourceGroupName: string | undefined;
  readonly virtualNetworkName: string;
  readonly subnetName: string;
  readonly securityGroup: NamedRef | undefined;
  readonly applicationSecurityGroups: readonly string[];
  /** The static private IP (manual networks), undefined for dynamic ones. */
  readonly ip: string | undefined;
}

/** disk_types cloud properties. */
export interface DiskProperties {
  readonly storageAccountType: string;
  readonly caching: 'None' | 'ReadOnly' | 'ReadWrite';
  readonly maxShares: number | undefined;
  readonly proximityPlacementGroup: string | undefined;
}

export const STORAGE_ACCOUNT_TYPES = [
  'Standard_LRS',
  'Premium_LRS',
  'StandardSSD_LRS',
  'UltraSSD_LRS',
  'Premium_ZRS',
  'StandardSSD_ZRS',
  'PremiumV2_LRS',
] as const;
const CACHING = ['None', 'ReadOnly', 'ReadWrite'] as const;
/** The ephemeral disk size (GiB) when the vm_type does not say (bosh-azure-cpi's default for unknown sizes). */
const DEFAULT_EPHEMERAL_GB = 30;
/** Azure resource names: letters, digits, '.', '_' and '-', starting with a letter or digit. */
const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));

function name(at: string, v: unknown): string {
  if (typeof v !== 'string' || !NAME.test(v)) throw invalid(`${at} must be an Azure resource name, found ${show(v)}`);
  return v;
}

function optionalName(at: string, v: unknown): string | undefined {
  return v === undefined || v === null ? undefined : name(at, v);
}

function sizeGb(at: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v <= 0)
    throw invalid(`${at} must be a positive whole number of MiB, found ${show(v)}`);
  return Math.ceil(v / 1024);
}

function storageType(at: string, v: unknown): string | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v !== 'string' || !(STORAGE_ACCOUNT_TYPES as readonly string[]).includes(v)) {
    throw invalid(`${at} must be one of ${STORAGE_ACCOUNT_TYPES.join(', ')}, found ${show(v)}`);
  }
  return v;
}

function namedRef(at: string, v: unknown): NamedRef | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return { name: name(at, v), resourceGroupName: undefined };
  if (!isPlainObject(v)) throw invalid(`${at} must be a name or {name, resource_group_name}, found ${show(v)}`);
  return {
    name: name(`${at}.name`, v.name),
    resourceGroupName: optionalName(`${at}.resource_group_name`, v.resource_group_name),
  };
}

function nameList(at: string, v: unknown): string[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw invalid(`${at} must be a list of names, found ${show(v)}`);
  return v.map((x, i) => name(`${at}[${i}]`, x));
}

function loadBalancers(v: unknown): LoadBalancerRef[] {
  if (v === undefined || v === null) return [];
  const list = Array.isArray(v) ? v : [v];
  return list.map((x, i) => {
    const at = Array.isArray(v) ? `cloud_properties.load_balancer[${i}]` : 'cloud_properties.load_balancer';
    if (typeof x === 'string') return { name: name(at, x), resourceGroupName: undefined, backendPoolName: undefined };
    if (!isPlainObject(x))
      throw invalid(
        `${at} must be a load balancer name or {name, resource_group_name, backend_pool_name}, found ${show(x)}`,
      );
    return {
      name: name(`${at}.name`, x.name),
      resourceGroupName: optionalName(`${at}.resource_group_name`, x.resource_group_name),
      backendPoolName: optionalName(`${at}.backend_pool_name`, x.backend_pool_name),
    };
  });
}

/** Validates merged VM cloud properties; the error names the first unusable property. */
export function parseVmProperties(cp: CloudProperties): VmProperties {
  if (!isPlainObject(cp)) throw invalid(`cloud_properties must be a map, found ${show(cp)}`);
  const instanceType = cp.instance_type;
  if (typeof instanceType !== 'string' || parseSizeName(instanceType) === undefined) {
    throw invalid(
      `cloud_properties.instance_type must be an Azure VM size such as Standard_D2s_v3, found ${show(instanceType)}`,
    );
  }
  let rootDisk: VmProperties['rootDisk'] = { sizeGb: undefined, type: undefined };
  if (cp.root_disk !== undefined && cp.root_disk !== null) {
    if (!isPlainObject(cp.root_disk))
      throw invalid(`cloud_properties.root_disk must be a map {size, type}, found ${show(cp.root_disk)}`);
    const r = cp.root_disk;
    rootDisk = {
      sizeGb: r.size === undefined ? undefined : sizeGb('cloud_properties.root_disk.size', r.size),
      type: storageType('cloud_properties.root_disk.type', r.type),
    };
  }
  // bosh-azure-cpi: an ephemeral data disk unless use_root_disk; its size is ephemeral_disk.size
  // (MiB, whole GiB) or a default; with use_root_disk the OS disk grows to 30 GiB unless sized.
  const e = cp.ephemeral_disk ?? {};
  if (!isPlainObject(e))
    throw invalid(`cloud_properties.ephemeral_disk must be a map {size, type, use_root_disk}, found ${show(e)}`);
  if (e.use_root_disk !== undefined && typeof e.use_root_disk !== 'boolean')
    throw invalid(
      `cloud_properties.ephemeral_disk.use_root_disk must be true or false, found ${show(e.use_root_disk)}`,
    );
  const ephemeralType = storageType('cloud_properties.ephemeral_disk.type', e.type);
  let ephemeralDisk: VmProperties['ephemeralDisk'];
  if (e.use_root_disk !== true) {
    if (e.size !== undefined && (typeof e.size !== 'number' || !Number.isInteger(e.size) || e.size < 1024)) {
      throw invalid(
        `cloud_properties.ephemeral_disk.size must be a whole number of MiB, at least 1024, found ${show(e.size)}`,
      );
    }
    ephemeralDisk = {
      sizeGb: typeof e.size === 'number' ? Math.floor(e.size / 1024) : DEFAULT_EPHEMERAL_GB,
      type: ephemeralType,
    };
  } else if (rootDisk.sizeGb === undefined) {
    rootDisk = { ...rootDisk, sizeGb: DEFAULT_EPHEMERAL_GB };
  }
  const zone = cp.availability_zone;
  if (
    zone !== undefined &&
    zone !== null &&
    !(typeof zone === 'string' && /^[1-3]$/.test(zone)) &&
    !(typeof zone === 'number' && [1, 2, 3].includes(zone))
  ) {
    throw invalid(`cloud_properties.availability_zone must be '1', '2' or '3', found ${show(zone)}`);
  }
  const availabilitySet = optionalName('cloud_properties.availability_set', cp.availability_set);
  if (availabilitySet !== undefined && zone !== undefined && zone !== null) {
    throw invalid(`cloud_properties.availability_zone and cloud_properties.availability_set cannot be used together`);
  }
  const pip = cp.assign_dynamic_public_ip ?? false;
  if (typeof pip !== 'boolean')
    throw invalid(`cloud_properties.assign_dynamic_public_ip must be true or false, found ${show(pip)}`);
  const tags: Record<string, string> = {};
  if (cp.tags !== undefined && cp.tags !== null) {
    if (!isPlainObject(cp.tags))
      throw invalid(`cloud_properties.tags must be a map of strings, found ${show(cp.tags)}`);
    for (const [k, v] of Object.entries(cp.tags)) {
      if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean')
        throw invalid(`cloud_properties.tags.${k} must be a string, found ${show(v)}`);
      // Azure: tag names without < > % & \ ? /, at most 512 characters; values at most 256.
      // https://learn.microsoft.com/azure/azure-resource-manager/management/tag-resources#limitations
      if (/[<>%&\\?/]/.test(k) || k.length > 512)
        throw invalid(
          `cloud_properties.tags: tag name ${show(k)} is not allowed by Azure (no < > % & \\ ? /, at most 512 characters)`,
        );
      if (String(v).length > 256) throw invalid(`cloud_properties.tags.${k} is longer than Azure's 256 characters`);
      tags[k] = String(v);
    }
    const own = Object.keys(tags).filter((k) => !IDENTITY_TAG_NAMES.includes(k)).length;
    if (own + IDENTITY_TAG_NAMES.length > 50) {
      throw invalid(
        `cloud_properties.tags has ${own} tags; with the director's ${IDENTITY_TAG_NAMES.length} that is more than Azure's 50 per resource`,
      );
    }
  }
  // Premium SSD needs a size with premium storage (https://learn.microsoft.com/azure/virtual-machines/disks-types#premium-ssds).
  for (const [at, type] of [
    ['root_disk.type', rootDisk.type],
    ['ephemeral_disk.type', ephemeralType],
  ] as const) {
    if (type !== undefined && /^Premium/.test(type) && !premiumStorageCapable(instanceType)) {
      throw invalid(
        `cloud_properties.${at} ${show(type)} needs a VM size with premium storage; instance_type ${show(instanceType)} has none`,
      );
    }
  }
  return {
    instanceType,
    rootDisk,
    ephemeralDisk,
    loadBalancers: loadBalancers(cp.load_balancer),
    securityGroup: namedRef('cloud_properties.security_group', cp.security_group),
    availabilitySet,
    availabilityZone: zone === undefined || zone === null ? undefined : String(zone),
    applicationSecurityGroups: nameList('cloud_properties.application_security_groups', cp.application_security_groups),
    assignDynamicPublicIp: pip,
    tags,
    proximityPlacementGroup: optionalName('cloud_properties.proximity_placement_group', cp.proximity_placement_group),
  };
}

/** Validates a network of `create_vm` (manual with a static IP, or dynamic). */
export function parseNetwork(networkName: string, net: NetworkSettings): NetworkProperties {
  const at = `networks.${networkName}`;
  if (!isPlainObject(net)) throw invalid(`${at} must be a map, found ${show(net)}`);
  if (net.type !== 'manual' && net.type !== 'dynamic')
    throw invalid(`${at}.type must be manual or dynamic, found ${show(net.type)}`);
  let ip: string | undefined;
  if (net.type === 'manual') {
    if (typeof net.ip !== 'string' || !isIPv4(net.ip))
      throw invalid(`${at}.ip must be the static private IPv4 address of a manual network, found ${show(net.ip)}`);
    ip = net.ip;
  }
  const cp = net.cloud_properties ?? {};
  if (!isPlainObject(cp)) throw invalid(`${at}.cloud_properties must be a map, found ${show(cp)}`);
  return {
    resourceGroupName: optionalName(`${at}.cloud_properties.resource_group_name`, cp.resource_group_name),
    virtualNetworkName: name(`${at}.cloud_properties.virtual_network_name`, cp.virtual_network_name),
    subnetName: name(`${at}.cloud_properties.subnet_name`, cp.subnet_name),
    securityGroup: namedRef(`${at}.cloud_properties.security_group`, cp.security_group),
    applicationSecurityGroups: nameList(
      `${at}.cloud_properties.application_security_groups`,
      cp.application_security_groups,
    ),
    ip,
  };
}

/** The tags create_vm writes from the VM env (how the director finds what it made). */
export const IDENTITY_TAG_NAMES: readonly string[] = [
  'director',
  'deployment',
  'instance_group',
  'instance_index',
  'instance_id',
  'agent_id',
];

/** Disk SKUs that may be shared (maxShares > 1): https://learn.microsoft.com/azure/virtual-machines/disks-shared#limitations */
const SHAREABLE = ['Premium_LRS', 'Premium_ZRS', 'StandardSSD_LRS', 'StandardSSD_ZRS', 'PremiumV2_LRS', 'UltraSSD_LRS'];

/**
 * Checks a vm_type (merged with its extensions and az) and the disk_type its instances get,
 * together, without calling Azure: what create_vm and create_disk would refuse, said at plan time.
 */
export function checkCloudProperties(vm: CloudProperties, disk: CloudProperties | undefined): void {
  const v = parseVmProperties(vm);
  if (disk === undefined) return;
  const d = parseDiskProperties(disk);
  if (/^Premium/.test(d.storageAccountType) && !premiumStorageCapable(v.instanceType)) {
    throw invalid(
      `disk cloud_properties.storage_account_type ${show(d.storageAccountType)} needs a VM size with premium storage; instance_type ${show(v.instanceType)} has none`,
    );
  }
  const limit = maxDataDisks(v.instanceType);
  const wanted = (v.ephemeralDisk === undefined ? 0 : 1) + 1;
  if (limit !== undefined && wanted > limit)
    throw invalid(
      `instance_type ${show(v.instanceType)} takes ${limit} data disks; the ephemeral and persistent disks need ${wanted}`,
    );
}

/** Validates disk_types cloud properties. `disk_size` is the director's business (the size argument). */
export function parseDiskProperties(cp: CloudProperties): DiskProperties {
  if (!isPlainObject(cp)) throw invalid(`cloud_properties must be a map, found ${show(cp)}`);
  const caching = cp.caching ?? 'None';
  if (typeof caching !== 'string' || !(CACHING as readonly string[]).includes(caching)) {
    throw invalid(`cloud_properties.caching must be one of ${CACHING.join(', ')}, found ${show(caching)}`);
  }
  const maxShares = cp.max_shares;
  if (
    maxShares !== undefined &&
    maxShares !== null &&
    (typeof maxShares !== 'number' || !Number.isInteger(maxShares) || maxShares < 1)
  ) {
    throw invalid(`cloud_properties.max_shares must be a whole number >= 1, found ${show(maxShares)}`);
  }
  if (cp.disk_size !== undefined && (typeof cp.disk_size !== 'number' || cp.disk_size <= 0)) {
    throw invalid(`cloud_properties.disk_size must be a positive number of MiB, found ${show(cp.disk_size)}`);
  }
  const storageAccountType =
    storageType('cloud_properties.storage_account_type', cp.storage_account_type) ?? 'Standard_LRS';
  if (typeof maxShares === 'number' && maxShares > 1) {
    if (!SHAREABLE.includes(storageAccountType)) {
      throw invalid(
        `cloud_properties.max_shares ${maxShares} needs a shareable storage_account_type (${SHAREABLE.join(', ')}), found '${storageAccountType}'`,
      );
    }
    if (maxShares > 10 && /^(Premium|StandardSSD)_/.test(storageAccountType))
      throw invalid(`cloud_properties.max_shares must be at most 10 for ${storageAccountType}, found ${maxShares}`);
  }
  return {
    storageAccountType,
    caching: caching as DiskProperties['caching'],
    maxShares: typeof maxShares === 'number' ? maxShares : undefined,
    proximityPlacementGroup: optionalName('cloud_properties.proximity_placement_group', cp.proximity_placement_group),
  };
}
