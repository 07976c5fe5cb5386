import type { Plain } from '../manifest/value.js';
import type { JobSpec, LinkSpec } from '../release/job-spec.js';
import type { InstanceGroup } from './deployment-manifest.js';
import type { PlacedInstance } from './placement.js';
import { effectiveProperties, lookup, type ResolvedLink } from './templates.js';
import { itemPath, ValidationError, type Problem } from './validation.js';

interface Provider {
  readonly alias: string;
  readonly type: string;
  readonly group: string;
  readonly job: string;
  readonly link: ResolvedLink;
}

/** The address of an instance as links and `spec.address` give it: its default-gateway network's IP. */
export function instanceAddress(i: PlacedInstance): string | null {
  const net = i.networks.find((n) => n.default.includes('gateway')) ?? i.networks[0];
  return net?.ip ?? null;
}

/**
 * Resolves every job's consumed links in a deployment, as the BOSH director does: an explicit
 * `consumes: {name: {from: alias}}` picks the provider with that alias (`provides: {name: {as:
 * alias}}`, else the spec's link name); otherwise the one provider of the consumer's type; `nil`
 * blocks a link; an optional link without provider is null. Every problem is reported at once.
 *
 * Returns `group/job` → consumed link name → link.
 */
export function resolveLinks(
  deployment: string,
  groups: readonly InstanceGroup[],
  specOf: (release: string, job: string) => JobSpec,
  placed: ReadonlyMap<string, readonly PlacedInstance[]>,
): Map<string, Record<string, ResolvedLink | null>> {
  const providers: Provider[] = [];
  const problems: Problem[] = [];
  const linkInstances = (group: string) =>
    (placed.get(group) ?? []).map((i) => ({
      name: group,
      id: i.uuid,
      index: i.index,
      az: i.az,
      address: instanceAddress(i),
      bootstrap: i.bootstrap,
    }));
  for (const g of groups) {
    for (const j of g.jobs) {
      const spec = specOf(j.release, j.name);
      const props = effectiveProperties(spec, j.properties);
      for (const p of spec.provides) {
        const opt = j.provides[p.name];
        if (opt === null) continue; // provides: {name: nil} disables it
        const alias =
          opt && typeof opt === 'object' && !Array.isArray(opt) && typeof opt['as'] === 'string' ? opt['as'] : p.name;
        const linkProps: Record<string, Plain> = {};
        for (const name of p.properties) {
          const v = lookup(props, name);
          if (v === undefined) continue;
          let cur = linkProps;
          const segs = name.split('.');
          for (const s of segs.slice(0, -1)) cur = (cur[s] ??= {}) as Record<string, Plain>;
          cur[segs[segs.length - 1]!] = v;
        }
        const instances = linkInstances(g.name);
        providers.push({
          alias,
          type: p.type,
          group: g.name,
          job: j.name,
          link: {
            name: alias,
            type: p.type,
            group: g.name,
            deployment,
            instances,
            properties: linkProps,
            address: instances[0]?.address ?? null,
          },
        });
      }
      for (const cp of j.customProviderDefinitions) {
        // Custom providers declared in the manifest share the listed properties of the job.
        const linkProps: Record<string, Plain> = {};
        for (const name of cp.properties ?? []) {
          const v = lookup(j.properties, name);
          if (v !== undefined) linkProps[name] = v;
        }
        const instances = linkInstances(g.name);
        providers.push({
          alias: cp.name,
          type: cp.type,
          group: g.name,
          job: j.name,
          link: {
            name: cp.name,
            type: cp.type,
            group: g.name,
            deployment,
            instances,
            properties: linkProps,
            address: instances[0]?.address ?? null,
          },
        });
      }
    }
  }

  const out = new Map<string, Record<string, ResolvedLink | null>>();
  groups.forEach((g, gi) => {
    g.jobs.forEach((j, ji) => {
      const spec = specOf(j.release, j.name);
      const links: Record<string, ResolvedLink | null> = {};
      const job = `${itemPath('instance_groups', gi, g.name)}.${itemPath('jobs', ji, j.name)}`;
      const at = `${job}.consumes`;
      // As the BOSH director: a manifest may only wire the links the job's release spec declares.
      undeclared(j.consumes, spec.consumes, at, `job '${j.name}' (release '${j.release}') does not consume`, problems);
      undeclared(
        j.provides,
        spec.provides,
        `${job}.provides`,
        `job '${j.name}' (release '${j.release}') does not provide`,
        problems,
      );
      for (const c of spec.consumes) {
        const opt = j.consumes[c.name];
        if (opt === null) {
          links[c.name] = null;
          continue;
        }
        const from =
          opt && typeof opt === 'object' && !Array.isArray(opt) && typeof opt['from'] === 'string'
            ? opt['from']
            : undefined;
        let candidates =
          from !== undefined ? providers.filter((p) => p.alias === from) : providers.filter((p) => p.type === c.type);
        if (from !== undefined && candidates.length > 1) candidates = candidates.filter((p) => p.type === c.type);
        if (candidates.length === 1) {
          const p = candidates[0]!;
          if (p.type !== c.type)
            problems.push({
              path: `${at}.${c.name}`,
              message: `link '${c.name}' of job '${j.name}' wants type '${c.type}' but provider '${from}' (job '${p.job}' in '${p.group}') is of type '${p.type}'`,
            });
          else links[c.name] = p.link;
        } else if (candidates.length === 0) {
          if (c.optional && from === undefined) links[c.name] = null;
          else if (from !== undefined)
            problems.push({
              path: `${at}.${c.name}.from`,
              message: `no link provider named '${from}' for link '${c.name}' of job '${j.name}' in instance group '${g.name}'`,
            });
          else
            problems.push({
              path: `${at}.${c.name}`,
              message: `no link provider of type '${c.type}' for link '${c.name}' of job '${j.name}' in instance group '${g.name}'`,
            });
        } else {
          problems.push({
            path: `${at}.${c.name}`,
            message: `multiple link providers of type '${c.type}' for link '${c.name}' of job '${j.name}' in instance group '${g.name}': ${candidates.map((p) => `'${p.group}.${p.job}.${p.alias}'`).join(', ')}`,
          });
        }
      }
      out.set(`${g.name}/${j.name}`, links);
    });
  });
  if (problems.length) throw new ValidationError('Resolving links', problems);
  return out;
}

/** A problem for each link named in the manifest (`consumes:`/`provides:`) that the spec does not declare. */
function undeclared(
  given: Readonly<Record<string, unknown>>,
  declared: readonly LinkSpec[],
  at: string,
  says: string,
  problems: Problem[],
): void {
  const names = declared.map((l) => l.name);
  for (const name of Object.keys(given)) {
    if (names.includes(name)) continue;
    problems.push({
      path: `${at}.${name}`,
      message: `${says} a link '${name}' (its spec declares: ${names.map((n) => `'${n}'`).join(', ') || 'none'})`,
    });
  }
}
