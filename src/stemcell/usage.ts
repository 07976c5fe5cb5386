import { toPlain } from '../manifest/value.js';
import { parseYaml } from '../manifest/yaml.js';
import type { DeploymentRecord, ReleaseRecord, StemcellRecord, VmRecord } from '../state/index.js';

/** The part of the state the usage rules read. */
export interface UsageState {
  readonly stemcells: { list(): readonly StemcellRecord[] };
  readonly releases: { list(): readonly ReleaseRecord[] };
  readonly deployments: { list(): readonly DeploymentRecord[] };
  readonly vms: { list(): readonly VmRecord[] };
  readonly instances: { get(uuid: string): { readonly deployment: string } | undefined };
}

const byVersion = (a: string, b: string) => a.localeCompare(b, undefined, { numeric: true });

interface ManifestRefs {
  readonly stemcells: readonly { readonly os?: string; readonly name?: string; readonly version: string }[];
  readonly releases: readonly { readonly name: string; readonly version: string }[];
}

/** The `stemcells:` and `releases:` a recorded deployment manifest names. */
function refsOf(manifest: string, deployment: string): ManifestRefs {
  const doc = toPlain(parseYaml(manifest, `deployment '${deployment}' manifest`));
  const list = (key: string) =>
    doc && typeof doc === 'object' && !Array.isArray(doc) && Array.isArray(doc[key]) ? (doc[key] as unknown[]) : [];
  const str = (v: unknown) => (typeof v === 'string' ? v : typeof v === 'number' ? String(v) : undefined);
  const stemcells = list('stemcells').flatMap((s) => {
    const o = (s ?? {}) as Record<string, unknown>;
    const version = str(o['version']);
    return version === undefined
      ? []
      : [
          {
            ...(str(o['os']) ? { os: str(o['os'])! } : {}),
            ...(str(o['name']) ? { name: str(o['name'])! } : {}),
            version,
          },
        ];
  });
  const releases = list('releases').flatMap((r) => {
    const o = (r ?? {}) as Record<string, unknown>;
    const name = str(o['name']);
    const version = str(o['version']);
    return name === undefined || version === undefined ? [] : [{ name, version }];
  });
  return { stemcells, releases };
}

/**
 * Which deployments use each stemcell of `cpi`, by cid: those whose VMs were created from it
 * (a deployment keeps running on the stemcell it was deployed with after a newer one is
 * uploaded) and those whose recorded manifest names it (`latest` resolved as a deploy would).
 */
export function stemcellUsage(state: UsageState, cpi: string): Map<string, Set<string>> {
  const all = state.stemcells.list().filter((s) => s.cpi === cpi);
  const usage = new Map<string, Set<string>>(all.map((s) => [s.cid, new Set<string>()]));
  for (const vm of state.vms.list()) {
    if (!vm.stemcellCid || !usage.has(vm.stemcellCid)) continue;
    const deployment = vm.instance ? state.instances.get(vm.instance)?.deployment : undefined;
    usage.get(vm.stemcellCid)!.add(deployment ?? '(a VM of no deployment)');
  }
  for (const d of state.deployments.list()) {
    if (!d.manifest) continue;
    for (const ref of refsOf(d.manifest, d.name).stemcells) {
      const candidates = all.filter((s) => (ref.name ? s.name === ref.name : s.os === ref.os));
      const match =
        ref.version === 'latest'
          ? [...candidates].sort((a, b) => byVersion(a.version, b.version)).pop()
          : candidates.find((s) => s.version === ref.version);
      if (match) usage.get(match.cid)!.add(d.name);
    }
  }
  return usage;
}

/** Which deployments use each release version (`name/version`), from their recorded manifests. */
export function releaseUsage(state: UsageState): Map<string, Set<string>> {
  const all = state.releases.list();
  const usage = new Map<string, Set<string>>(all.map((r) => [`${r.name}/${r.version}`, new Set<string>()]));
  for (const d of state.deployments.list()) {
    if (!d.manifest) continue;
    for (const ref of refsOf(d.manifest, d.name).releases) {
      const versions = all.filter((r) => r.name === ref.name).map((r) => r.version);
      const version = ref.version === 'latest' ? versions.sort(byVersion).pop() : ref.version;
      const key = `${ref.name}/${version}`;
      if (version !== undefined && usage.has(key)) usage.get(key)!.add(d.name);
    }
  }
  return usage;
}

/**
 * bosh-director's clean-up rule (its ReleasesToDeletePicker and StemcellsToDeletePicker): per
 * name, the versions no deployment uses, oldest first, except the `keep` newest of them. Plain
 * `clean-up` keeps 2; `clean-up --all` keeps none. Versions in use are never picked.
 */
export function pickUnused<T extends { readonly name: string; readonly version: string }>(
  items: readonly T[],
  inUse: (item: T) => boolean,
  keep: number,
): T[] {
  const byName = new Map<string, T[]>();
  for (const item of items) {
    if (inUse(item)) continue;
    byName.set(item.name, [...(byName.get(item.name) ?? []), item]);
  }
  const picked: T[] = [];
  for (const name of [...byName.keys()].sort()) {
    const versions = byName.get(name)!.sort((a, b) => byVersion(a.version, b.version));
    picked.push(...versions.slice(0, Math.max(0, versions.length - keep)));
  }
  return picked;
}
