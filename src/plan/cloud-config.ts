import { z } from 'zod';
import type { Plain } from '../manifest/value.js';
import { expandRanges, netmask, parseCidr, parseIp, type Cidr } from './ip.js';
import { itemPath, problemsFromZod, ValidationError, type Problem } from './validation.js';

const cloudProperties = z.record(z.string(), z.any()).default({});
const name = z.string().min(1);

const subnetSchema = z.object({
  range: z.string().optional(),
  gateway: z.string().optional(),
  dns: z.array(z.string()).optional(),
  reserved: z.array(z.string()).default([]),
  static: z.array(z.string()).default([]),
  az: z.string().optional(),
  azs: z.array(z.string()).optional(),
  cloud_properties: cloudProperties,
});

const networkSchema = z.object({
  name,
  type: z.enum(['manual', 'dynamic', 'vip']).default('manual'),
  subnets: z.array(subnetSchema).default([]),
  cloud_properties: cloudProperties,
  dns: z.array(z.string()).optional(),
});

const cloudConfigSchema = z.object({
  azs: z.array(z.object({ name, cloud_properties: cloudProperties })).default([]),
  networks: z.array(networkSchema).min(1),
  vm_types: z.array(z.object({ name, cloud_properties: cloudProperties })).default([]),
  vm_extensions: z.array(z.object({ name, cloud_properties: cloudProperties })).default([]),
  disk_types: z
    .array(
      z.object({
        name: z.union([z.string(), z.number()]).transform(String),
        disk_size: z.number().int().positive(),
        cloud_properties: cloudProperties,
      }),
    )
    .default([]),
  compilation: z
    .object({
      workers: z.number().int().positive().default(1),
      network: z.string(),
      az: z.string().optional(),
      vm_type: z.string().optional(),
      reuse_compilation_vms: z.boolean().default(false),
      cloud_properties: cloudProperties,
    })
    .optional(),
});

export interface Subnet {
  readonly cidr: Cidr | undefined;
  readonly range: string | undefined;
  readonly gateway: string | undefined;
  readonly netmask: string | undefined;
  readonly dns: readonly string[];
  readonly azs: readonly string[];
  /** Addresses never handed out: reserved ranges, network, gateway and broadcast. */
  readonly reserved: ReadonlySet<number>;
  /** Addresses that only static_ips may take. */
  readonly static: ReadonlySet<number>;
  readonly cloudProperties: Record<string, Plain>;
}

export interface Network {
  readonly name: string;
  readonly type: 'manual' | 'dynamic' | 'vip';
  readonly subnets: readonly Subnet[];
  readonly cloudProperties: Record<string, Plain>;
}

export interface Named {
  readonly name: string;
  readonly cloudProperties: Record<string, Plain>;
}

export interface DiskType extends Named {
  readonly diskSize: number;
}

/** The cloud-config, validated and with its address ranges expanded. */
export interface CloudConfig {
  readonly azs: readonly Named[];
  readonly networks: readonly Network[];
  readonly vmTypes: readonly Named[];
  readonly vmExtensions: readonly Named[];
  readonly diskTypes: readonly DiskType[];
  readonly compilation?: {
    readonly workers: number;
    readonly network: string;
    readonly az?: string;
    readonly vmType?: string;
    readonly reuseCompilationVms: boolean;
    readonly cloudProperties: Record<string, Plain>;
  };
}

/** Validates a cloud-config document; every problem is reported at once, each with its path. */
export function parseCloudConfig(doc: unknown, what = 'cloud-config'): CloudConfig {
  const r = cloudConfigSchema.safeParse(doc ?? {});
  if (!r.success) throw new ValidationError(`Validating ${what}`, problemsFromZod(r.error.issues, [], doc));
  const c = r.data;
  const problems: Problem[] = [];
  dupes(
    c.azs.map((a) => a.name),
    'azs',
    problems,
  );
  dupes(
    c.networks.map((a) => a.name),
    'networks',
    problems,
  );
  dupes(
    c.vm_types.map((a) => a.name),
    'vm_types',
    problems,
  );
  dupes(
    c.vm_extensions.map((a) => a.name),
    'vm_extensions',
    problems,
  );
  dupes(
    c.disk_types.map((a) => a.name),
    'disk_types',
    problems,
  );
  const azNames = new Set(c.azs.map((a) => a.name));

  const networks: Network[] = c.networks.map((n, ni) => ({
    name: n.name,
    type: n.type,
    cloudProperties: n.cloud_properties as Record<string, Plain>,
    subnets: n.subnets.map((s, si): Subnet => {
      const at = `${itemPath('networks', ni, n.name)}.subnets[${si}]`;
      const azs = s.azs ?? (s.az !== undefined ? [s.az] : []);
      for (const az of azs) if (!azNames.has(az)) problems.push({ path: `${at}.azs`, message: `unknown az '${az}'` });
      let cidr: Cidr | undefined;
      const reserved = new Set<number>();
      let statics = new Set<number>();
      if (n.type === 'manual') {
        if (!s.range) problems.push({ path: `${at}.range`, message: 'is required for a manual network' });
        else {
          try {
            cidr = parseCidr(s.range);
            reserved.add(cidr.first).add(cidr.last);
          } catch (e) {
            problems.push({ path: `${at}.range`, message: (e as Error).message });
          }
        }
        if (s.gateway) {
          try {
            const gw = parseIp(s.gateway);
            reserved.add(gw);
            if (cidr && (gw < cidr.first || gw > cidr.last))
              problems.push({ path: `${at}.gateway`, message: `'${s.gateway}' is outside range '${s.range}'` });
          } catch (e) {
            problems.push({ path: `${at}.gateway`, message: (e as Error).message });
          }
        }
        try {
          const own = expandRanges(s.reserved);
          if (cidr) {
            // As the BOSH director: a reserved range outside its subnet is a mistake, not a no-op.
            const outside = s.reserved.find((r) =>
              [...expandRanges([r])].some((ip) => ip < cidr!.first || ip > cidr!.last),
            );
            if (outside !== undefined)
              problems.push({ path: `${at}.reserved`, message: `'${outside}' is outside range '${s.range}'` });
          }
          for (const ip of own) reserved.add(ip);
        } catch (e) {
          problems.push({ path: `${at}.reserved`, message: (e as Error).message });
        }
        try {
          statics = expandRanges(s.static);
          if (cidr) {
            for (const ip of statics) {
              if (ip < cidr.first || ip > cidr.last || reserved.has(ip)) {
                problems.push({
                  path: `${at}.static`,
                  message: 'static IPs must be inside the range and outside the reserved IPs',
                });
                break;
              }
            }
          }
        } catch (e) {
          problems.push({ path: `${at}.static`, message: (e as Error).message });
        }
      }
      return {
        cidr,
        range: s.range,
        gateway: s.gateway,
        netmask: cidr ? netmask(cidr.prefix) : undefined,
        dns: s.dns ?? n.dns ?? [],
        azs,
        reserved,
        static: statics,
        cloudProperties: s.cloud_properties as Record<string, Plain>,
      };
    }),
  }));

  networks.forEach((n, ni) => {
    n.subnets.forEach((a, ai) => {
      const b = n.subnets.findIndex(
        (o, oi) => oi < ai && o.cidr && a.cidr && o.cidr.first <= a.cidr.last && a.cidr.first <= o.cidr.last,
      );
      if (b >= 0)
        problems.push({
          path: `${itemPath('networks', ni, n.name)}.subnets[${ai}].range`,
          message: `'${a.range}' overlaps subnets[${b}] '${n.subnets[b]!.range}'`,
        });
    });
  });

  if (c.compilation) {
    if (!c.networks.some((n) => n.name === c.compilation!.network))
      problems.push({ path: 'compilation.network', message: `unknown network '${c.compilation.network}'` });
    if (c.compilation.az !== undefined && !azNames.has(c.compilation.az))
      problems.push({ path: 'compilation.az', message: `unknown az '${c.compilation.az}'` });
    if (c.compilation.vm_type !== undefined && !c.vm_types.some((v) => v.name === c.compilation!.vm_type))
      problems.push({ path: 'compilation.vm_type', message: `unknown vm_type '${c.compilation.vm_type}'` });
  }
  if (problems.length) throw new ValidationError(`Validating ${what}`, problems);

  const named = (xs: readonly { name: string; cloud_properties: unknown }[]): Named[] =>
    xs.map((x) => ({ name: x.name, cloudProperties: x.cloud_properties as Record<string, Plain> }));
  return {
    azs: named(c.azs),
    networks,
    vmTypes: named(c.vm_types),
    vmExtensions: named(c.vm_extensions),
    diskTypes: c.disk_types.map((d) => ({
      name: d.name,
      diskSize: d.disk_size,
      cloudProperties: d.cloud_properties as Record<string, Plain>,
    })),
    ...(c.compilation
      ? {
          compilation: {
            workers: c.compilation.workers,
            network: c.compilation.network,
            ...(c.compilation.az !== undefined ? { az: c.compilation.az } : {}),
            ...(c.compilation.vm_type !== undefined ? { vmType: c.compilation.vm_type } : {}),
            reuseCompilationVms: c.compilation.reuse_compilation_vms,
            cloudProperties: c.compilation.cloud_properties as Record<string, Plain>,
          },
        }
      : {}),
  };
}

export function dupes(names: readonly string[], path: string, problems: Problem[]): void {
  const seen = new Set<string>();
  names.forEach((n, i) => {
    if (seen.has(n)) problems.push({ path: `${path}[${i}].name`, message: `duplicate name '${n}'` });
    seen.add(n);
  });
}
