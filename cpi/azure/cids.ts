import { randomUUID } from 'node:crypto';

/**
 * Cloud ids as bosh-azure-cpi writes them (`key:value;key:value`), so that a cid alone says
 * where the resource lives. Names are derived from the agent id (VMs and what they own) or a
 * fresh uuid (data disks, snapshots, heavy stemcells).
 */

const PAIR = /^([a-z_]+):(.*)$/;

/** Parses `k1:v1;k2:v2`; a cid that is not in that shape yields `undefined`. */
function parse(cid: string): Record<string, string> | undefined {
  if (typeof cid !== 'string' || cid === '') return undefined;
  const out: Record<string, string> = {};
  for (const part of cid.split(';')) {
    const m = PAIR.exec(part);
    if (m === null || m[2] === '') return undefined;
    out[m[1] as string] = m[2] as string;
  }
  return out;
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,79}$/;

/** A VM's cid names its agent id (the VM's name) and resource group. */
export interface VmCid {
  readonly agentId: string;
  readonly resourceGroupName: string;
}

export function vmCid(v: VmCid): string {
  return `agent_id:${v.agentId};resource_group_name:${v.resourceGroupName}`;
}

/** A VM cid, or a bare VM name in `defaultGroup`; undefined when it cannot name a VM. */
export function parseVmCid(cid: string, defaultGroup: string): VmCid | undefined {
  const p = parse(cid);
  if (p === undefined)
    return typeof cid === 'string' && NAME.test(cid) ? { agentId: cid, resourceGroupName: defaultGroup } : undefined;
  if (p.agent_id === undefined || !NAME.test(p.agent_id)) return undefined;
  return { agentId: p.agent_id, resourceGroupName: p.resource_group_name ?? defaultGroup };
}

/** A disk's (or snapshot's) cid. */
export interface DiskCid {
  readonly name: string;
  readonly resourceGroupName: string;
}

export function diskCid(d: DiskCid): string {
  return `disk_name:${d.name};resource_group_name:${d.resourceGroupName}`;
}

export function parseDiskCid(cid: string, defaultGroup: string): DiskCid | undefined {
  const p = parse(cid);
  if (p === undefined)
    return typeof cid === 'string' && NAME.test(cid) ? { name: cid, resourceGroupName: defaultGroup } : undefined;
  if (p.disk_name === undefined || !NAME.test(p.disk_name)) return undefined;
  return { name: p.disk_name, resourceGroupName: p.resource_group_name ?? defaultGroup };
}

/** The names of everything `create_vm` makes for an agent: found again by name after a crash. */
export interface VmNames {
  readonly vm: string;
  readonly nic: (index: number) => string;
  readonly osDisk: string;
  readonly ephemeralDisk: string;
  readonly publicIp: string;
}

/** bosh-azure-cpi's names: the VM is the agent id, `bosh-disk-os-<vm>`, `<vm>-<n>` NICs. */
export function vmNames(agentId: string): VmNames {
  return {
    vm: agentId,
    nic: (i) => `${agentId}-${i}`,
    osDisk: `bosh-disk-os-${agentId}`,
    ephemeralDisk: `bosh-disk-os-${agentId}-ephemeral-disk`,
    publicIp: agentId,
  };
}

/** Whether an agent id can name Azure resources (64 characters leave room for the suffixes). */
export function isUsableAgentId(agentId: unknown): agentId is string {
  return typeof agentId === 'string' && /^[A-Za-z0-9][A-Za-z0-9_-]{0,47}$/.test(agentId);
}

/** Light stemcells: the marketplace image is the cid, nothing is created. */
export const LIGHT_STEMCELL_PREFIX = 'bosh-light-stemcell';
export const STEMCELL_PREFIX = 'bosh-stemcell';

export interface MarketplaceImage {
  readonly publisher: string;
  readonly offer: string;
  readonly sku: string;
  readonly version: string;
}

/**
 * The cid of a light stemcell: its marketplace image, plus an id of its own (as bosh-azure-cpi
 * gives each light stemcell a uuid), so that two stemcell versions naming one image (say
 * `version: latest`) are two stemcells.
 */
export function lightStemcellCid(image: MarketplaceImage, id: string = randomUUID(), plan = false): string {
  return [
    LIGHT_STEMCELL_PREFIX,
    image.publisher,
    image.offer,
    image.sku,
    image.version,
    id,
    ...(plan ? ['plan'] : []),
  ].join(':');
}

/** The marketplace image of a light stemcell cid (with or without the id cids recorded before it had one). */
export function parseLightStemcellCid(cid: string): (MarketplaceImage & { readonly plan?: true }) | undefined {
  const parts = typeof cid === 'string' ? cid.split(':') : [];
  const plan = parts.length === 7 && parts[6] === 'plan';
  if (
    (parts.length !== 5 && parts.length !== 6 && !plan) ||
    parts[0] !== LIGHT_STEMCELL_PREFIX ||
    parts.some((p) => p === '')
  )
    return undefined;
  const [, publisher, offer, sku, version] = parts as [string, string, string, string, string];
  return plan ? { publisher, offer, sku, version, plan: true } : { publisher, offer, sku, version };
}
