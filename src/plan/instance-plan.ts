import { createHash } from 'node:crypto';
import { diffAttributes, noMask, type Shown } from './changes.js';
import type { PlacedInstance } from './placement.js';
import { instanceSteps, type Step } from './steps.js';

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

const NEEDS_NEW_VM: ReadonlySet<ChangeReason> = new Set([
  'stemcell',
  'cloud_properties',
  'network',
  'env',
  'recreate',
  'vm_missing',
]);

/** Whether a reason needs a new VM (bosh's `needs_duplicate_vm?`): the VM cannot be changed in place. */
export function forcesNewVm(reason: ChangeReason): boolean {
  return NEEDS_NEW_VM.has(reason);
}

/**
 * One change of an instance: why (`reason`), which attribute (`path`), and its value before and
 * after, secrets masked (`((name))`). A change with neither value names an event rather than an
 * attribute (a missing VM, a recreate asked for).
 */
export interface Change {
  readonly reason: ChangeReason;
  readonly path: string;
  readonly before?: Shown;
  readonly after?: Shown;
  /** The value before was not recorded (a VM made by an older director): only the digest differs. */
  readonly beforeUnknown?: boolean;
  readonly note?: string;
}

/**
 * The attributes of a VM as a plan shows them and the applied spec records them (secrets masked),
 * so that the next plan can say what changed from what to what.
 */
export interface VmShown {
  readonly stemcell: string;
  readonly cloud_properties: Shown;
  readonly networks: Shown;
  readonly env: Shown;
}

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
    /** What the VM was made from, as shown (absent on VMs an older director made). */
    readonly shown?: VmShown;
  };
  readonly disk?: {
    readonly cid: string;
    readonly size: number;
    readonly cloudPropertiesDigest: string;
    readonly cloudProperties?: Readonly<Record<string, unknown>>;
  };
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
  /** Every change, attribute by attribute, secrets masked. */
  readonly changes: readonly Change[];
  /** What applying the plan does to the instance, in order (see steps.ts). */
  readonly steps: readonly Step[];
  /** The desired VM as shown (secrets masked): recorded in the applied spec when a VM is made for it. */
  readonly vmShown?: VmShown;
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
export function vmDigests(d: DesiredInstance): {
  cloudPropertiesDigest: string;
  networksDigest: string;
  envDigest: string;
} {
  return {
    cloudPropertiesDigest: digest(d.cloudProperties),
    networksDigest: digest(
      d.networks.map((n) => ({ name: n.name, ip: n.ip, netmask: n.netmask, gateway: n.gateway, default: n.default })),
    ),
    envDigest: digest(d.env),
  };
}

export function stemcellKey(s: DesiredInstance['stemcell']): string {
  return `${s.name ?? s.os}/${s.version}`;
}

/** `group/uuid (index)`: an instance as BOSH names it in task events and errors. The one place it is built. */
export function instanceLabel(i: { readonly group: string; readonly uuid: string; readonly index: number }): string {
  return `${i.group}/${i.uuid} (${i.index})`;
}

/** The desired VM's attributes as shown and recorded, with `mask` applied. */
export function vmShown(d: DesiredInstance, mask: (v: unknown) => Shown = noMask): VmShown {
  return {
    stemcell: stemcellKey(d.stemcell),
    cloud_properties: mask(d.cloudProperties),
    networks: Object.fromEntries(
      d.networks.map((n) => [n.name, mask({ ip: n.ip, netmask: n.netmask, gateway: n.gateway, default: n.default })]),
    ),
    env: mask(d.env),
  };
}

const shortDigest = (d: string | undefined): Shown | undefined =>
  d === undefined ? undefined : `sha256:${d.slice(0, 12)}`;

/** The changes behind each reason, attribute by attribute. */
function changesOf(
  reasons: ReadonlySet<ChangeReason>,
  desired: DesiredInstance,
  recorded: RecordedInstance | undefined,
  shown: VmShown,
  mask: (v: unknown) => Shown,
): Change[] {
  const out: Change[] = [];
  const before = recorded?.vm?.shown;
  const attrs = (reason: ChangeReason, prefix: string, b: Shown | undefined, a: Shown) => {
    if (recorded?.vm && b === undefined) {
      out.push({ reason, path: prefix, after: a, beforeUnknown: true });
      return;
    }
    const diffs = diffAttributes(prefix, b, a);
    // The digests differ but the shown values do not (a masked secret changed): say so.
    if (!diffs.length) out.push({ reason, path: prefix, note: 'a masked value changed' });
    for (const d of diffs) out.push({ reason, ...d });
  };
  for (const r of reasons) {
    switch (r) {
      case 'vm_missing':
        out.push({ reason: r, path: 'vm', note: recorded ? 'the instance has no VM' : 'new instance' });
        break;
      case 'recreate':
        out.push({ reason: r, path: 'vm', note: 'recreate requested' });
        break;
      case 'stemcell':
        out.push({
          reason: r,
          path: 'stemcell',
          ...(recorded?.vm ? { before: recorded.vm.stemcell } : {}),
          after: shown.stemcell,
        });
        break;
      case 'cloud_properties':
        attrs(r, 'cloud_properties', before?.cloud_properties, shown.cloud_properties);
        break;
      case 'network':
        attrs(r, 'networks', before?.networks, shown.networks);
        break;
      case 'env':
        attrs(r, 'env', before?.env, shown.env);
        break;
      case 'persistent_disk': {
        const rd = recorded?.disk;
        const a =
          desired.persistentDisk.size > 0
            ? { size: desired.persistentDisk.size, cloud_properties: mask(desired.persistentDisk.cloudProperties) }
            : undefined;
        const b = rd
          ? { size: rd.size, cloud_properties: rd.cloudProperties ? mask(rd.cloudProperties) : undefined }
          : undefined;
        if (!a || !b) {
          out.push({
            reason: r,
            path: 'persistent_disk',
            ...(b ? { before: { size: b.size } } : {}),
            ...(a ? { after: a } : {}),
          });
          break;
        }
        const diffs =
          b.cloud_properties === undefined
            ? diffAttributes('persistent_disk', { size: b.size }, { size: a.size })
            : diffAttributes('persistent_disk', b as Shown, a);
        if (!diffs.length)
          out.push({
            reason: r,
            path: 'persistent_disk.cloud_properties',
            after: a.cloud_properties,
            beforeUnknown: true,
          });
        for (const d of diffs) out.push({ reason: r, ...d });
        break;
      }
      case 'jobs': {
        const a = desired.jobs.map((j) => j.name).sort();
        const b = recorded?.appliedJobs ? Object.keys(recorded.appliedJobs).sort() : undefined;
        out.push({ reason: r, path: 'jobs', ...(b ? { before: b } : {}), after: a });
        break;
      }
      case 'configuration':
        for (const j of desired.jobs) {
          const was = recorded?.appliedJobs?.[j.name];
          if (was !== j.digest)
            out.push({
              reason: r,
              path: `jobs.${j.name}`,
              ...(was ? { before: shortDigest(was)! } : {}),
              after: shortDigest(j.digest)!,
              note: 'rendered templates or packages',
            });
        }
        break;
      case 'state':
        out.push({ reason: r, path: 'state', ...(recorded ? { before: recorded.state } : {}), after: desired.state });
        break;
    }
  }
  return out;
}

/**
 * Compares one desired instance with what is recorded and names every reason it changes.
 * `recreate` forces a new VM (deploy --recreate).
 */
export function planInstance(
  desired: DesiredInstance,
  recorded: RecordedInstance | undefined,
  opts: { recreate?: boolean; mask?: (v: unknown) => Shown } = {},
): InstancePlan {
  const lbl = instanceLabel(desired);
  const mask = opts.mask ?? noMask;
  const shown = vmShown(desired, mask);
  const finish = (action: InstanceAction, reasons: ReadonlySet<ChangeReason>): InstancePlan => {
    const base = { action, reasons, desired, ...(recorded ? { recorded } : {}), label: lbl, vmShown: shown };
    return { ...base, changes: changesOf(reasons, desired, recorded, shown, mask), steps: instanceSteps(base) };
  };
  if (desired.lifecycle === 'errand') {
    // Errand VMs exist only while the errand runs; deploy leaves them alone.
    return finish('unchanged', new Set());
  }
  const reasons = new Set<ChangeReason>();
  if (!recorded || !recorded.vm) {
    reasons.add('vm_missing');
    if (desired.persistentDisk.size > 0 && !recorded?.disk) reasons.add('persistent_disk');
    if (desired.jobs.length) reasons.add('jobs');
    return finish('create', reasons);
  }
  const vm = recorded.vm;
  const d = vmDigests(desired);
  if (vm.stemcell !== stemcellKey(desired.stemcell)) reasons.add('stemcell');
  if (vm.cloudPropertiesDigest !== d.cloudPropertiesDigest) reasons.add('cloud_properties');
  if (vm.networksDigest !== d.networksDigest) reasons.add('network');
  if (vm.envDigest !== d.envDigest) reasons.add('env');
  if (opts.recreate) reasons.add('recreate');
  const diskWanted = desired.persistentDisk.size;
  if (
    diskWanted > 0 !== Boolean(recorded.disk) ||
    (recorded.disk &&
      (recorded.disk.size !== diskWanted ||
        recorded.disk.cloudPropertiesDigest !== digest(desired.persistentDisk.cloudProperties)))
  ) {
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
  // bosh's needs_duplicate_vm?: any reason the VM cannot be changed in place.
  const action: InstanceAction = [...reasons].some(forcesNewVm) ? 'recreate' : reasons.size ? 'update' : 'unchanged';
  return finish(action, reasons);
}

export function planDeletion(recorded: RecordedInstance): InstancePlan {
  const base = {
    action: 'delete' as const,
    reasons: new Set<ChangeReason>(),
    recorded,
    label: instanceLabel(recorded),
  };
  return { ...base, changes: [], steps: instanceSteps(base) };
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
