import { DirectorError } from '../errors.js';
import { secretMask } from './changes.js';
import type { JobSpec, ProcessSpec } from '../release/job-spec.js';
import type { CloudConfig } from './cloud-config.js';
import type { DeploymentManifest, InstanceGroup } from './deployment-manifest.js';
import {
  deepMerge,
  digest,
  planDeletion,
  planInstance,
  type DesiredInstance,
  type InstancePlan,
  type RecordedInstance,
} from './instance-plan.js';
import { instanceAddress, resolveLinks } from './links.js';
import { parseIp } from './ip.js';
import { placeGroup, type PlacedInstance } from './placement.js';
import { renderJob, type TemplateSpec } from './templates.js';

/** What the planner needs of an uploaded release. */
export interface ReleaseView {
  readonly name: string;
  readonly version: string;
  jobSpec(job: string): JobSpec;
  /** Template source name → text, for one job. */
  jobTemplates(job: string): Readonly<Record<string, string>>;
  /** Digest of each package (name → sha256) the job needs. */
  packageDigests(job: string): Readonly<Record<string, string>>;
}

/** A job as the agent will apply it. */
export interface RenderedJob {
  readonly name: string;
  readonly release: string;
  readonly releaseVersion: string;
  /** Rendered path (relative to the job's folder) → content. May hold secrets: never log. */
  readonly templates: Readonly<Record<string, string>>;
  readonly packages: Readonly<Record<string, string>>;
  readonly processes: readonly ProcessSpec[];
  readonly digest: string;
}

export interface GroupPlan {
  readonly group: InstanceGroup;
  readonly plans: readonly InstancePlan[];
}

/** A printable, executable plan: desired ⊕ recorded → per-instance actions with reasons. */
export interface DeploymentPlan {
  readonly deployment: string;
  readonly groups: readonly GroupPlan[];
  readonly deletions: readonly InstancePlan[];
  /** Instance uuid → its rendered jobs (service and errand instances alike). */
  readonly rendered: ReadonlyMap<string, readonly RenderedJob[]>;
}

export interface PlanInputs {
  readonly manifest: DeploymentManifest;
  readonly cloud: CloudConfig;
  readonly recorded: readonly RecordedInstance[];
  readonly releases: ReadonlyMap<string, ReleaseView>;
  readonly newUuid: () => string;
  readonly recreate?: boolean;
  /** Addresses held by other deployments: network → address → owner. */
  readonly foreignAddresses?: ReadonlyMap<string, ReadonlyMap<string, string>>;
  /** Generated secret values → their variable names: masked as `((name))` wherever a change shows them. */
  readonly secrets?: ReadonlyMap<string, string>;
}

/**
 * Plans a deployment: places instances, resolves links, renders templates, and compares each
 * instance with the record. Pure: no I/O, no clock; `newUuid` is the only novelty.
 */
export function planDeployment(input: PlanInputs): DeploymentPlan {
  const { manifest, cloud } = input;
  const owners = new Map<string, Map<number, string>>();
  const own = (net: string, ip: string, who: string) => {
    let m = owners.get(net);
    if (!m) owners.set(net, (m = new Map()));
    m.set(parseIp(ip), who);
  };
  for (const [net, ips] of input.foreignAddresses ?? []) for (const [ip, who] of ips) own(net, ip, who);
  for (const r of input.recorded) for (const [net, ip] of Object.entries(r.ips)) own(net, ip, r.uuid);

  const placed = new Map<string, readonly PlacedInstance[]>();
  const obsolete: RecordedInstance[] = [];
  for (const g of manifest.instanceGroups) {
    const recordedHere = input.recorded.filter((r) => r.group === g.name);
    const p = placeGroup(g, cloud, recordedHere, owners, input.newUuid);
    placed.set(g.name, p.desired);
    for (const o of p.obsolete) obsolete.push(recordedHere.find((r) => r.uuid === o.uuid)!);
  }
  const groupNames = new Set(manifest.instanceGroups.map((g) => g.name));
  for (const r of input.recorded) if (!groupNames.has(r.group)) obsolete.push(r);

  const releaseOf = (name: string): ReleaseView => {
    const r = input.releases.get(name);
    if (!r) throw new DirectorError(`Release '${name}' has not been uploaded`);
    return r;
  };
  const links = resolveLinks(manifest.name, manifest.instanceGroups, (rel, job) => releaseOf(rel).jobSpec(job), placed);

  const stemcells = new Map(manifest.stemcells.map((s) => [s.alias, s]));
  const azProps = new Map(cloud.azs.map((a) => [a.name, a.cloudProperties]));
  const vmTypeProps = new Map(cloud.vmTypes.map((v) => [v.name, v.cloudProperties]));
  const extProps = new Map(cloud.vmExtensions.map((v) => [v.name, v.cloudProperties]));
  const recordedByUuid = new Map(input.recorded.map((r) => [r.uuid, r]));
  const rendered = new Map<string, readonly RenderedJob[]>();
  const mask = secretMask(input.secrets ?? new Map());

  const groups: GroupPlan[] = manifest.instanceGroups.map((g) => {
    const plans = (placed.get(g.name) ?? []).map((inst) => {
      const address = instanceAddress(inst);
      const jobs = g.jobs.map((j): RenderedJob => {
        const rel = releaseOf(j.release);
        const spec = rel.jobSpec(j.name);
        const tspec: TemplateSpec = {
          deployment: manifest.name,
          name: g.name,
          id: inst.uuid,
          index: inst.index,
          az: inst.az,
          bootstrap: inst.bootstrap,
          address,
          ip: address,
          networks: Object.fromEntries(
            inst.networks.map((n) => [
              n.name,
              { ip: n.ip, netmask: n.netmask, gateway: n.gateway, default: n.default },
            ]),
          ),
          job: { name: j.name },
          release: { name: rel.name, version: rel.version },
        };
        const templates = renderJob(spec, rel.jobTemplates(j.name), {
          spec: tspec,
          properties: j.properties,
          links: links.get(`${g.name}/${j.name}`) ?? {},
        });
        const packages = rel.packageDigests(j.name);
        return {
          name: j.name,
          release: rel.name,
          releaseVersion: rel.version,
          templates,
          packages,
          processes: spec.processes,
          digest: digest({ templates, packages, processes: spec.processes }),
        };
      });
      rendered.set(inst.uuid, jobs);
      const recorded = recordedByUuid.get(inst.uuid);
      const desired: DesiredInstance = {
        ...inst,
        lifecycle: g.lifecycle,
        vmType: g.vmType,
        cloudProperties: deepMerge(
          inst.az !== null ? (azProps.get(inst.az) ?? {}) : {},
          g.vmType ? (vmTypeProps.get(g.vmType) ?? {}) : {},
          ...g.vmExtensions.map((e) => extProps.get(e) ?? {}),
        ),
        vmExtensions: g.vmExtensions,
        stemcell: stemcells.get(g.stemcell)!,
        env: g.env,
        persistentDisk: { size: g.persistentDisk.size, cloudProperties: g.persistentDisk.cloudProperties },
        jobs: jobs.map((j) => ({
          name: j.name,
          release: j.release,
          releaseVersion: j.releaseVersion,
          digest: j.digest,
        })),
        state: recorded?.state === 'stopped' || recorded?.state === 'detached' ? 'stopped' : 'started',
      };
      return planInstance(desired, recorded, { recreate: input.recreate ?? false, mask });
    });
    return { group: g, plans };
  });
  return { deployment: manifest.name, groups, deletions: obsolete.map(planDeletion), rendered };
}
