import { resourceGroupNotFound } from './arm-error.js';

/** Arbitrary JSON as ARM bodies carry it. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

/** A resource group as ARM keeps it. */
export interface ResourceGroupRecord {
  readonly id: string;
  readonly name: string;
  location: string;
  tags?: Record<string, string>;
  provisioningState: 'Succeeded' | 'Deleting';
}

/** A top-level resource: its stored body (without back-references computed on read) plus bookkeeping. */
export interface StoredResource {
  readonly id: string;
  readonly name: string;
  /** e.g. 'Microsoft.Network/virtualNetworks'. */
  readonly type: string;
  readonly resourceGroup: string;
  etag: string;
  /** What GET returns, before back-references (subnet ipConfigurations, pool members, ...) are added. */
  body: Json;
  /** Canonical JSON of the last PUT body, to recognise a repeated identical PUT. */
  inputKey: string;
}

/** Canonical JSON (sorted keys), so equal bodies compare equal whatever their key order. */
export function canonicalJson(v: unknown): string {
  if (Array.isArray(v)) return '[' + v.map(canonicalJson).join(',') + ']';
  if (v && typeof v === 'object') {
    const o = v as Record<string, unknown>;
    return (
      '{' +
      Object.keys(o)
        .sort()
        .filter((k) => o[k] !== undefined)
        .map((k) => JSON.stringify(k) + ':' + canonicalJson(o[k]))
        .join(',') +
      '}'
    );
  }
  return JSON.stringify(v) ?? 'null';
}

/** Deep copy of a JSON value. */
export function clone<T>(v: T): T {
  return v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T);
}

/** The whole cloud the fake pretends to be: one subscription's resource groups and resources. */
export class ArmState {
  readonly subscriptionId: string;
  private readonly groups = new Map<string, ResourceGroupRecord>();
  private readonly resources = new Map<string, StoredResource>();

  constructor(subscriptionId: string) {
    this.subscriptionId = subscriptionId;
  }

  /** `/subscriptions/{s}/resourceGroups/{rg}/providers/{type}/{name}`. */
  resourceId(resourceGroup: string, type: string, name: string): string {
    return `/subscriptions/${this.subscriptionId}/resourceGroups/${resourceGroup}/providers/${type}/${name}`;
  }

  group(name: string): ResourceGroupRecord | undefined {
    return this.groups.get(name.toLowerCase());
  }

  /** The group, or ARM's 404 ResourceGroupNotFound. */
  requireGroup(name: string): ResourceGroupRecord {
    const g = this.group(name);
    if (!g || g.provisioningState === 'Deleting') throw resourceGroupNotFound(name);
    return g;
  }

  putGroup(g: ResourceGroupRecord): void {
    this.groups.set(g.name.toLowerCase(), g);
  }

  deleteGroup(name: string): void {
    this.groups.delete(name.toLowerCase());
  }

  listGroups(): ResourceGroupRecord[] {
    return [...this.groups.values()];
  }

  /** A resource by id (case-insensitive, like ARM). */
  get(id: string): StoredResource | undefined {
    return this.resources.get(id.toLowerCase());
  }

  put(r: StoredResource): void {
    this.resources.set(r.id.toLowerCase(), r);
  }

  delete(id: string): void {
    this.resources.delete(id.toLowerCase());
  }

  /** Resources of a type, optionally in one group, in creation order. */
  list(type: string, resourceGroup?: string): StoredResource[] {
    const t = type.toLowerCase();
    const g = resourceGroup?.toLowerCase();
    return [...this.resources.values()].filter(
      (r) => r.type.toLowerCase() === t && (g === undefined || r.resourceGroup.toLowerCase() === g),
    );
  }

  /** Every resource, in creation order. */
  all(): StoredResource[] {
    return [...this.resources.values()];
  }

  /** Every resource in a group. */
  inGroup(resourceGroup: string): StoredResource[] {
    const g = resourceGroup.toLowerCase();
    return [...this.resources.values()].filter((r) => r.resourceGroup.toLowerCase() === g);
  }
}
