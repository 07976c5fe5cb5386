import { z } from 'zod';
import type { Plain } from '../manifest/value.js';
import type { CloudConfig } from './cloud-config.js';
import { dupes } from './cloud-config.js';
import { expandRanges } from './ip.js';
import { checkManifestRoot, checkUpdate, variableProblems } from './manifest-rules.js';
import { itemPath, problemsFromZod, ValidationError, type Problem } from './validation.js';

/** A watch time: milliseconds, or `min-max` in milliseconds as BOSH writes it. */
const watchTime = z.union([
  z.number().int().nonnegative(),
  z.string().regex(/^\s*\d+\s*(-\s*\d+\s*)?$/, 'expected milliseconds or a range such as "1000-30000"'),
]);
const maxInFlight = z.union([
  z.number().int().positive(),
  z.string().regex(/^\s*\d+(\.\d+)?%\s*$|^\s*\d+\s*$/, 'expected a number or a percentage such as "25%"'),
]);

const updateSchema = z.object({
  canaries: z.number().int().nonnegative().optional(),
  max_in_flight: maxInFlight.optional(),
  canary_watch_time: watchTime.optional(),
  update_watch_time: watchTime.optional(),
  serial: z.boolean().optional(),
  vm_strategy: z.enum(['delete-create', 'create-swap-delete']).optional(),
});

const props = z.record(z.string(), z.any());
const name = z.string().min(1);

const jobSchema = z.object({
  name,
  release: name,
  properties: props.optional(),
  consumes: props.optional(),
  provides: props.optional(),
  custom_provider_definitions: z
    .array(z.object({ name, type: name, properties: z.array(z.string()).optional() }))
    .optional(),
});

const instanceGroupSchema = z.object({
  name,
  azs: z.array(name).optional(),
  instances: z.number().int().nonnegative(),
  lifecycle: z.enum(['service', 'errand']).default('service'),
  jobs: z.array(jobSchema),
  vm_type: name.optional(),
  vm_resources: z.object({ cpu: z.number(), ram: z.number(), ephemeral_disk_size: z.number() }).optional(),
  vm_extensions: z.array(name).default([]),
  stemcell: name,
  persistent_disk: z.number().int().nonnegative().optional(),
  persistent_disk_type: z.union([z.string(), z.number()]).transform(String).optional(),
  networks: z
    .array(
      z.object({
        name,
        static_ips: z.array(z.string()).optional(),
        default: z.array(z.enum(['dns', 'gateway', 'addressable'])).optional(),
      }),
    )
    .min(1),
  env: props.default({}),
  update: updateSchema.optional(),
  properties: props.optional(),
});

const manifestSchema = z.object({
  name,
  releases: z.array(
    z.object({
      name,
      version: z.union([z.string(), z.number()]).transform(String),
      url: z.string().optional(),
      sha1: z.string().optional(),
    }),
  ),
  stemcells: z.array(
    z.object({
      alias: name,
      os: z.string().optional(),
      name: z.string().optional(),
      version: z.union([z.string(), z.number()]).transform(String),
    }),
  ),
  update: updateSchema,
  instance_groups: z.array(instanceGroupSchema),
  variables: z
    .array(
      z.object({
        name,
        type: name,
        options: props.optional(),
        consumes: props.optional(),
        update_mode: z.enum(['no-overwrite', 'overwrite', 'converge']).optional(),
      }),
    )
    .default([]),
  features: z
    .object({
      use_dns_addresses: z.boolean().optional(),
      randomize_az_placement: z.boolean().optional(),
      use_short_dns_addresses: z.boolean().optional(),
      use_link_dns_names: z.boolean().optional(),
      use_tmpfs_config: z.boolean().optional(),
    })
    .default({}),
  tags: z.record(z.string(), z.string()).default({}),
  properties: props.optional(),
});

export interface UpdatePolicy {
  readonly canaries: number;
  /** Either a count or a fraction of the group's size (from `25%`). */
  readonly maxInFlight: { readonly count: number } | { readonly percent: number };
  readonly canaryWatchTime: { readonly min: number; readonly max: number };
  readonly updateWatchTime: { readonly min: number; readonly max: number };
  readonly serial: boolean;
  readonly vmStrategy: 'delete-create' | 'create-swap-delete';
}

export interface JobRef {
  readonly name: string;
  readonly release: string;
  readonly properties: Record<string, Plain>;
  readonly consumes: Record<string, Plain>;
  readonly provides: Record<string, Plain>;
  readonly customProviderDefinitions: readonly { name: string; type: string; properties?: string[] }[];
}

export interface InstanceGroupNetwork {
  readonly name: string;
  readonly staticIps: readonly string[];
  readonly default: readonly string[];
}

export interface InstanceGroup {
  readonly name: string;
  readonly azs: readonly string[];
  readonly instances: number;
  readonly lifecycle: 'service' | 'errand';
  readonly jobs: readonly JobRef[];
  readonly vmType: string | undefined;
  readonly vmExtensions: readonly string[];
  readonly stemcell: string;
  /** Persistent disk size in MiB (0: none) and the disk type it came from, if any. */
  readonly persistentDisk: {
    readonly size: number;
    readonly type: string | undefined;
    readonly cloudProperties: Record<string, Plain>;
  };
  readonly networks: readonly InstanceGroupNetwork[];
  readonly env: Record<string, Plain>;
  readonly update: UpdatePolicy;
}

export interface VariableDefinition {
  readonly name: string;
  readonly type: string;
  readonly options: Record<string, Plain>;
}

/** A deployment manifest (v2), validated against itself and the cloud-config. */
export interface DeploymentManifest {
  readonly name: string;
  readonly releases: readonly { name: string; version: string; url?: string; sha1?: string }[];
  readonly stemcells: readonly { alias: string; os?: string; name?: string; version: string }[];
  readonly update: UpdatePolicy;
  readonly instanceGroups: readonly InstanceGroup[];
  readonly variables: readonly VariableDefinition[];
  readonly features: Record<string, boolean | undefined>;
  readonly tags: Record<string, string>;
}

const DEFAULT_UPDATE: UpdatePolicy = {
  canaries: 1,
  maxInFlight: { count: 1 },
  canaryWatchTime: { min: 1000, max: 30000 },
  updateWatchTime: { min: 1000, max: 30000 },
  serial: true,
  vmStrategy: 'delete-create',
};

function watch(w: string | number | undefined, fallback: { min: number; max: number }): { min: number; max: number } {
  if (w === undefined) return fallback;
  if (typeof w === 'number') return { min: w, max: w };
  const [a, b] = w.split('-').map((x) => Number(x.trim()));
  return b === undefined ? { min: a!, max: a! } : { min: a!, max: b };
}

function mergeUpdate(base: UpdatePolicy, u: z.infer<typeof updateSchema> | undefined): UpdatePolicy {
  if (!u) return base;
  let maxInFlight = base.maxInFlight;
  if (u.max_in_flight !== undefined) {
    const s = String(u.max_in_flight).trim();
    maxInFlight = s.endsWith('%') ? { percent: Number(s.slice(0, -1)) } : { count: Number(s) };
  }
  return {
    canaries: u.canaries ?? base.canaries,
    maxInFlight,
    canaryWatchTime: watch(u.canary_watch_time, base.canaryWatchTime),
    updateWatchTime: watch(u.update_watch_time, base.updateWatchTime),
    serial: u.serial ?? base.serial,
    vmStrategy: u.vm_strategy ?? base.vmStrategy,
  };
}

/** How many instances of a group of `size` may update at once under `policy` (at least 1). */
export function maxInFlightFor(policy: UpdatePolicy, size: number): number {
  const m = policy.maxInFlight;
  const n = 'count' in m ? m.count : Math.floor((size * m.percent) / 100);
  return Math.max(1, n);
}

const policiesSchema = z.object({
  update: updateSchema,
  instance_groups: z.array(
    z.object({
      name,
      instances: z.number().int().nonnegative(),
      lifecycle: z.enum(['service', 'errand']).default('service'),
      update: updateSchema.optional(),
    }),
  ),
});

/** An instance group's update policy and size, as `updatePolicies` reads them. */
export interface GroupUpdatePolicy {
  readonly name: string;
  readonly instances: number;
  readonly lifecycle: 'service' | 'errand';
  readonly update: UpdatePolicy;
}

/**
 * Each instance group's update policy (its `update` merged over the deployment's), in manifest
 * order, reading nothing else of the manifest: what stop, start and restart take from the
 * recorded manifest, with the same merge a deploy uses.
 */
export function updatePolicies(doc: unknown, what = 'deployment manifest'): GroupUpdatePolicy[] {
  const r = policiesSchema.safeParse(doc ?? {});
  if (!r.success) throw new ValidationError(`Validating ${what}`, problemsFromZod(r.error.issues, [], doc));
  const update = mergeUpdate(DEFAULT_UPDATE, r.data.update);
  return r.data.instance_groups.map((g) => ({
    name: g.name,
    instances: g.instances,
    lifecycle: g.lifecycle,
    update: mergeUpdate(update, g.update),
  }));
}

/**
 * Validates a deployment manifest (already interpolated) against its own references and the
 * cloud-config. Every problem is reported at once, each with its path.
 */
export function parseDeploymentManifest(
  doc: unknown,
  cloud: CloudConfig,
  what = 'deployment manifest',
): DeploymentManifest {
  checkManifestRoot(doc, what);
  const r = manifestSchema.safeParse(doc);
  if (!r.success) throw new ValidationError(`Validating ${what}`, problemsFromZod(r.error.issues, [], doc));
  const m = r.data;
  const problems: Problem[] = [];
  checkUpdate(m.update, 'update', problems);
  problems.push(...variableProblems((doc as Record<string, unknown>)['variables']));
  dupes(
    m.releases.map((x) => x.name),
    'releases',
    problems,
  );
  dupes(
    m.stemcells.map((x) => x.alias),
    'stemcells',
    problems,
  );
  dupes(
    m.instance_groups.map((x) => x.name),
    'instance_groups',
    problems,
  );
  dupes(
    m.variables.map((x) => x.name),
    'variables',
    problems,
  );
  m.stemcells.forEach((s, i) => {
    if (!s.os && !s.name) problems.push({ path: `stemcells[${i}]`, message: "must name either 'os' or 'name'" });
  });

  const releases = new Set(m.releases.map((x) => x.name));
  const stemcells = new Set(m.stemcells.map((x) => x.alias));
  const azs = new Set(cloud.azs.map((x) => x.name));
  const vmTypes = new Set(cloud.vmTypes.map((x) => x.name));
  const vmExtensions = new Map(cloud.vmExtensions.map((x) => [x.name, x]));
  const diskTypes = new Map(cloud.diskTypes.map((x) => [x.name, x]));
  const networks = new Map(cloud.networks.map((x) => [x.name, x]));
  const update = mergeUpdate(DEFAULT_UPDATE, m.update);

  const groups: InstanceGroup[] = m.instance_groups.map((g, gi) => {
    const at = itemPath('instance_groups', gi, g.name);
    if (g.update) checkUpdate(g.update, `${at}.update`, problems);
    dupes(
      g.jobs.map((j) => j.name),
      `${at}.jobs`,
      problems,
    );
    g.jobs.forEach((j, ji) => {
      if (!releases.has(j.release))
        problems.push({
          path: `${at}.${itemPath('jobs', ji, j.name)}.release`,
          message: `unknown release '${j.release}' (releases: ${[...releases].map((x) => `'${x}'`).join(', ') || 'none'})`,
        });
    });
    if (!stemcells.has(g.stemcell))
      problems.push({ path: `${at}.stemcell`, message: `unknown stemcell alias '${g.stemcell}'` });
    if (g.vm_type === undefined && g.vm_resources === undefined)
      problems.push({ path: `${at}.vm_type`, message: 'is required' });
    if (g.vm_type !== undefined && !vmTypes.has(g.vm_type))
      problems.push({ path: `${at}.vm_type`, message: `unknown vm_type '${g.vm_type}' in the cloud-config` });
    g.vm_extensions.forEach((e, ei) => {
      if (!vmExtensions.has(e))
        problems.push({
          path: `${at}.vm_extensions[${ei}]`,
          message: `unknown vm_extension '${e}' in the cloud-config`,
        });
    });
    const groupAzs = g.azs ?? [];
    if (azs.size > 0 && groupAzs.length === 0)
      problems.push({ path: `${at}.azs`, message: 'is required when the cloud-config has azs' });
    groupAzs.forEach((a, ai) => {
      if (!azs.has(a)) problems.push({ path: `${at}.azs[${ai}]`, message: `unknown az '${a}' in the cloud-config` });
    });
    if (g.persistent_disk !== undefined && g.persistent_disk_type !== undefined)
      problems.push({ path: `${at}`, message: "use either 'persistent_disk' or 'persistent_disk_type', not both" });
    let disk = {
      size: g.persistent_disk ?? 0,
      type: undefined as string | undefined,
      cloudProperties: {} as Record<string, Plain>,
    };
    if (g.persistent_disk_type !== undefined) {
      const dt = diskTypes.get(g.persistent_disk_type);
      if (!dt)
        problems.push({
          path: `${at}.persistent_disk_type`,
          message: `unknown disk_type '${g.persistent_disk_type}' in the cloud-config`,
        });
      else disk = { size: dt.diskSize, type: dt.name, cloudProperties: dt.cloudProperties };
    }
    g.networks.forEach((n, ni) => {
      const net = networks.get(n.name);
      if (!net) {
        problems.push({
          path: `${at}.${itemPath('networks', ni, n.name)}.name`,
          message: `unknown network '${n.name}' in the cloud-config`,
        });
        return;
      }
      if (net.type === 'manual') {
        for (const az of groupAzs.filter((a) => azs.has(a))) {
          if (!net.subnets.some((s) => s.azs.length === 0 || s.azs.includes(az)))
            problems.push({
              path: `${at}.${itemPath('networks', ni, n.name)}`,
              message: `network '${n.name}' has no subnet in az '${az}'`,
            });
        }
      }
      if (n.static_ips) {
        let ips: Set<number>;
        try {
          ips = expandRanges(n.static_ips);
        } catch (e) {
          problems.push({
            path: `${at}.${itemPath('networks', ni, n.name)}.static_ips`,
            message: (e as Error).message,
          });
          return;
        }
        if (g.lifecycle === 'service' && ips.size !== g.instances) {
          problems.push({
            path: `${at}.${itemPath('networks', ni, n.name)}.static_ips`,
            message: `instance group '${g.name}' has ${g.instances} instances but was allocated ${ips.size} static IPs`,
          });
        }
        for (const ip of ips) {
          if (!net.subnets.some((s) => s.static.has(ip))) {
            problems.push({
              path: `${at}.${itemPath('networks', ni, n.name)}.static_ips`,
              message: `static IPs must be in a subnet's 'static' range of network '${n.name}'`,
            });
            break;
          }
        }
      }
    });
    if (g.networks.length > 1) {
      for (const d of ['dns', 'gateway']) {
        const n = g.networks.filter((x) => x.default?.includes(d as 'dns')).length;
        if (n !== 1)
          problems.push({
            path: `${at}.networks`,
            message: `exactly one network must be the default for '${d}' when there are several`,
          });
      }
    }
    return {
      name: g.name,
      azs: groupAzs,
      instances: g.instances,
      lifecycle: g.lifecycle,
      jobs: g.jobs.map((j) => ({
        name: j.name,
        release: j.release,
        // As the BOSH director: a job's own properties replace (not merge with) the group's and the
        // deployment's deprecated global ones.
        properties: (j.properties ?? g.properties ?? m.properties ?? {}) as Record<string, Plain>,
        consumes: (j.consumes ?? {}) as Record<string, Plain>,
        provides: (j.provides ?? {}) as Record<string, Plain>,
        customProviderDefinitions: j.custom_provider_definitions ?? [],
      })),
      vmType: g.vm_type,
      vmExtensions: g.vm_extensions,
      stemcell: g.stemcell,
      persistentDisk: disk,
      networks: g.networks.map((n) => ({ name: n.name, staticIps: n.static_ips ?? [], default: n.default ?? [] })),
      env: g.env as Record<string, Plain>,
      update: mergeUpdate(update, g.update),
    };
  });
  if (problems.length) throw new ValidationError(`Validating ${what}`, problems);
  return {
    name: m.name,
    releases: m.releases,
    stemcells: m.stemcells,
    update,
    instanceGroups: groups,
    variables: m.variables.map((v) => ({
      name: v.name,
      type: v.type,
      options: (v.options ?? {}) as Record<string, Plain>,
    })),
    features: m.features,
    tags: m.tags,
  };
}
