import { createHash } from 'node:crypto';
import type { PlacedInstance } from './placement.js';

/**
 * Why an instance changes, after the BOSH director's instance_plan.rb. The first group needs a
 * new VM; the rest are applied to the VM in place.
 */
export type ChangeReason =
  | 'stemcell'
  | 'cloud_properties'
  | 'network'
  | 'env'
  | 'recreate'
  | 'vm_missing'
  | 'persistent_disk'
  | 'configuration'
  | 'jobs'
  | 'state';

const NEEDS_NEW_VM: ReadonlySet<ChangeReason> = new Set(['stemcell', 'cloud_properties', 'network', 'env', 'recreate', 'vm_missing']);

export type InstanceAction = 'create' | 'recreate' | 'update' | 'unchanged' | 'delete';

/** A job as it will be on the instance: its release, and a digest of its rendered templates. */
export interface DesiredJob {
  readonly name: string;
  readonly release: string;
  readonly releaseVersion: string;
  /** sha256 over the job's rendered templates and package versions. */
  readonly digest: string;
}

/** Everything that decides what an instance's VM and jobs must be. */
export interface DesiredInstance extends PlacedInstance {
  readonly lifecycle: 'service' | 'errand';
  readonly vmType: string | undefined;
  /** az ⊕ vm_type ⊕ vm_extensions cloud properties, deep-merged in that order. */
  readonly cloudProperties: Readonly<Record<string, unknown>>;
  readonly vmExtensions: readonly string[];
  readonly stemcell: { readonly os?: string; readonly name?: string; readonly version: string };
  readonly env: Readonly<Record<string, unknown>>;
  readonly persistentDisk: { readonly size: number; readonly cloudProperties: Readonly<Record<string, unknown>> };
  readonly jobs: readonly DesiredJob[];
  readonly state: 'started' | 'stopped';
}

/** What the state says an instance is now. */
export interface RecordedInstance {
  readonly uuid: string;
  readonly group: string;
  readonly index: number;
  readonly az: string | null;
  readonly bootstrap: boolean;
  readonly state: 'started' | 'stopped' | 'detached';
  readonly ips: Readonly<Record<string, string>>;
  readonly vm?: {
    readonly cid: string;
    readonly stemcell: string;
    readonly cloudPropertiesDigest: string;
    readonly networksDigest: string;
    readonly envDigest: string;
  };
  readonly disk?: { readonly cid: string; readonly size: number; readonly cloudPropertiesDigest: string };
  /** The jobs last applied, by name → digest; absent if nothing was applied yet. */
  readonly appliedJobs?: Readonly<Record<string, string>>;
}

export interface InstancePlan {
  readonly action: InstanceAction;
  readonly reasons: ReadonlySet<ChangeReason>;
  readonly desired?: DesiredInstance;
  readonly recorded?: RecordedInstance;
  /** `group/uuid (index)` as BOSH prints it. */
  readonly label: string;
}

/** A stable digest of plain data: map key order does not matter. */
export function digest(value: unknown): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

export function canonicalJson(value: unknown): string {
  if (value === undefined) return 'null';
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const keys = Object.keys(value as object).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`).join(',')}}`;
}

/** The digests a VM is compared by. */
export function vmDigests(d: DesiredInstance): { cloudPropertiesDigest: string; networksDigest: string; envDigest: string } {
  return {
    cloudPropertiesDigest: digest(d.cloudProperties),
    networksDigest: digest(d.networks.map((n) => ({ name: n.name, ip: n.ip, netmask: n.netmask, gateway: n.gateway, default: n.default }))),
    envDigest: digest(d.env),
  };
}

export function stemcellKey(s: DesiredInstance['stemcell']): string {
  return `${s.name ?? s.os}/${s.version}`;
}

export function label(group: string, uuid: string, index: number): string {
  return `${group}/${uuid} (${index})`;
}

/**
 * Compares one desired instance with what is recorded and names every reason it changes.
 * `recreate` forces a new VM (deploy --recreate).
 */
export function planInstance(desired: DesiredInstance, recorded: RecordedInstance | undefined, opts: { recreate?: boolean } = {}): InstancePlan {
  const lbl = label(desired.group, desired.uuid, desired.index);
  if (desired.lifecycle === 'errand') {
    // Errand VMs exist only while the errand runs; deploy leaves them alone.
    return { action: 'unchanged', reasons: new Set(), desired, ...(recorded ? { recorded } : {}), label: lbl };
  }
  const reasons = new Set<ChangeReason>();
  if (!recorded || !recorded.vm) {
    reasons.add('vm_missing');
    if (desired.persistentDisk.size > 0 && !recorded?.disk) reasons.add('persistent_disk');
    if (desired.jobs.length) reasons.add('jobs');
    return { action: 'create', reasons, desired, ...(recorded ? { recorded } : {}), label: lbl };
  }
  const vm = recorded.vm;
  const d = vmDigests(desired);
  if (vm.stemcell !== stemcellKey(desired.stemcell)) reasons.add('stemcell');
  if (vm.cloudPropertiesDigest !== d.cloudPropertiesDigest) reasons.add('cloud_properties');
  if (vm.networksDigest !== d.networksDigest) reasons.add('network');
  if (vm.envDigest !== d.envDigest) reasons.add('env');
  if (opts.recreate) reasons.add('recreate');
  const diskWanted = desired.persistentDisk.size;
  if (diskWanted > 0 !== Boolean(recorded.disk) || (recorded.disk && (recorded.disk.size !== diskWanted || recorded.disk.cloudPropertiesDigest !== digest(desired.persistentDisk.cloudProperties)))) {
    reasons.add('persistent_disk');
  }
  const applied = recorded.appliedJobs;
  if (!applied) reasons.add('jobs');
  else {
    const names = new Set([...Object.keys(applied), ...desired.jobs.map((j) => j.name)]);
    if (names.size !== desired.jobs.length || Object.keys(applied).length !== desired.jobs.length) reasons.add('jobs');
    else if (desired.jobs.some((j) => applied[j.name] !== j.digest)) reasons.add('configuration');
  }
  if ((recorded.state === 'started') !== (desired.state === 'started')) reasons.add('state');
  const action: InstanceAction = [...reasons].some((r) => NEEDS_NEW_VM.has(r)) ? 'recreate' : reasons.size ? 'update' : 'unchanged';
  return { action, reasons, desired, recorded, label: lbl };
}

export function planDeletion(recorded: RecordedInstance): InstancePlan {
  return { action: 'delete', reasons: new Set(), recorded, label: label(recorded.group, recorded.uuid, recorded.index) };
}

/** Deep merge of plain objects (later wins; arrays and scalars replace), as BOSH merges cloud properties. */
export function deepMerge(...objs: readonly Readonly<Record<string, unknown>>[]): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const o of objs) {
    for (const [k, v] of Object.entries(o)) {
      const prev = out[k];
      if (isPlainObject(prev) && isPlainObject(v)) out[k] = deepMerge(prev, v);
      else out[k] = v;
    }
  }
  return out;
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
