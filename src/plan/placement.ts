import { DirectorError } from '../errors.js';
import type { CloudConfig, Subnet } from './cloud-config.js';
import type { InstanceGroup } from './deployment-manifest.js';
import { expandRanges, formatIp, parseIp } from './ip.js';

/** What the state remembers of an instance, as far as placement cares. */
export interface RecordedPlacement {
  readonly group: string;
  readonly index: number;
  readonly uuid: string;
  readonly az: string | null;
  readonly bootstrap: boolean;
  /** Network name → IP address the instance holds. */
  readonly ips: Readonly<Record<string, string>>;
}

/** One instance's network address and the subnet settings that go with it. */
export interface PlacedNetwork {
  readonly name: string;
  readonly type: 'manual' | 'dynamic' | 'vip';
  readonly ip: string | null;
  readonly netmask: string | null;
  readonly gateway: string | null;
  readonly dns: readonly string[];
  readonly default: readonly string[];
  readonly static: boolean;
  readonly cloudProperties: Readonly<Record<string, unknown>>;
}

export interface PlacedInstance {
  readonly group: string;
  readonly index: number;
  readonly uuid: string;
  readonly az: string | null;
  readonly bootstrap: boolean;
  readonly networks: readonly PlacedNetwork[];
  /** True when this instance did not exist before. */
  readonly isNew: boolean;
}

export interface GroupPlacement {
  readonly desired: readonly PlacedInstance[];
  /** Recorded instances of the group that are no longer wanted. */
  readonly obsolete: readonly RecordedPlacement[];
}

/**
 * Places a group's instances as the BOSH director does: existing instances keep their uuid,
 * index, az and addresses where those are still valid; instances are balanced across the group's
 * azs (scale-down removes from the fullest az, highest index first; scale-up fills the emptiest
 * az, in the order the azs are listed); static IPs decide their instance's az; dynamic addresses
 * come from the subnet of the instance's az, lowest free first, never from reserved or static
 * ranges nor from addresses that `owners` (network → address → instance uuid, every recorded
 * and already placed instance) gives to another instance. Pure but for `owners`, which it extends
 * with what it places; `newUuid` is the only source of novelty.
 */
export function placeGroup(
  group: InstanceGroup,
  cloud: CloudConfig,
  recorded: readonly RecordedPlacement[],
  owners: Map<string, Map<number, string>>,
  newUuid: () => string,
): GroupPlacement {
  const azs: readonly (string | null)[] = group.azs.length ? group.azs : [null];
  const want = group.instances;
  const mine = recorded.filter((r) => r.group === group.name).sort((a, b) => a.index - b.index);

  // Static IPs pin instances to azs: an az's share is the count of static IPs in its subnets.
  const staticNet = group.networks.find((n) => n.staticIps.length > 0);
  let staticIps: number[] = [];
  let quota: Map<string | null, number>;
  if (staticNet) {
    staticIps = [...expandRanges(staticNet.staticIps)];
    const net = cloud.networks.find((n) => n.name === staticNet.name)!;
    quota = new Map(azs.map((a) => [a, 0]));
    for (const ip of staticIps) {
      // An address in a subnet that spans several azs goes to the least-filled of them.
      const candidates = azs.filter((a) =>
        net.subnets.some((s) => s.static.has(ip) && (a === null || s.azs.length === 0 || s.azs.includes(a))),
      );
      const az = candidates.reduce<string | null | undefined>(
        (best, a) => (best === undefined || quota.get(a)! < quota.get(best)! ? a : best),
        undefined,
      );
      if (az === undefined)
        throw new DirectorError(
          `Placing instance group '${group.name}': static IP ${formatIp(ip)} is in no subnet of its azs`,
        );
      quota.set(az, (quota.get(az) ?? 0) + 1);
    }
  } else {
    quota = balancedQuota(azs, want, mine);
  }

  // Keep existing instances that fit their az's quota; lowest indexes first.
  const kept: RecordedPlacement[] = [];
  const obsolete: RecordedPlacement[] = [];
  const used = new Map<string | null, number>(azs.map((a) => [a, 0]));
  for (const r of mine) {
    const az = azs.includes(r.az) ? r.az : undefined;
    if (az !== undefined && (used.get(az) ?? 0) < (quota.get(az) ?? 0)) {
      kept.push(r);
      used.set(az, (used.get(az) ?? 0) + 1);
    } else {
      obsolete.push(r);
    }
  }
  // New instances fill the remaining quota round-robin over the azs (z1, z2, z3, z1, ...), each
  // taking the lowest free index.
  const indexes = new Set(kept.map((k) => k.index));
  let nextIndex = 0;
  const fresh: { az: string | null; index: number; uuid: string }[] = [];
  for (let placed = true; placed;) {
    placed = false;
    for (const az of azs) {
      if ((used.get(az) ?? 0) >= (quota.get(az) ?? 0)) continue;
      used.set(az, (used.get(az) ?? 0) + 1);
      while (indexes.has(nextIndex)) nextIndex++;
      indexes.add(nextIndex);
      fresh.push({ az, index: nextIndex, uuid: newUuid() });
      placed = true;
    }
  }

  const all = [
    ...kept.map((k) => ({ az: k.az, index: k.index, uuid: k.uuid, recorded: k as RecordedPlacement | undefined })),
    ...fresh.map((f) => ({ ...f, recorded: undefined })),
  ].sort((a, b) => a.index - b.index);

  const keptBootstrap = all.find((i) => i.recorded?.bootstrap);
  const bootstrapUuid = keptBootstrap?.uuid ?? all[0]?.uuid;

  // Addresses: static first (existing holders keep theirs), then dynamic.
  const staticLeft = new Set(staticIps);
  for (const i of all) {
    const ip = staticNet && i.recorded?.ips[staticNet.name];
    if (ip !== undefined && ip !== null && staticLeft.has(parseIp(ip))) staticLeft.delete(parseIp(ip));
  }
  const desired: PlacedInstance[] = all.map((i) => {
    const networks = group.networks.map((gn): PlacedNetwork => {
      const net = cloud.networks.find((n) => n.name === gn.name)!;
      const isDefault = group.networks.length === 1 ? ['dns', 'gateway'] : gn.default;
      if (net.type !== 'manual') {
        return {
          name: net.name,
          type: net.type,
          ip: null,
          netmask: null,
          gateway: null,
          dns: [],
          default: isDefault,
          static: false,
          cloudProperties: net.cloudProperties,
        };
      }
      const subnets = net.subnets.filter((s) => i.az === null || s.azs.length === 0 || s.azs.includes(i.az));
      const ownersHere = owners.get(net.name) ?? new Map<number, string>();
      owners.set(net.name, ownersHere);
      const free = (c: number): boolean => (ownersHere.get(c) ?? i.uuid) === i.uuid;
      let ip: number | undefined;
      const prior = i.recorded?.ips[net.name];
      if (gn.staticIps.length > 0) {
        if (prior !== undefined && staticIps.includes(parseIp(prior))) ip = parseIp(prior);
        else {
          ip = [...staticLeft].find((c) => free(c) && subnets.some((s) => s.static.has(c)));
          if (ip === undefined)
            throw new DirectorError(
              `Placing instance group '${group.name}': no static IP left for '${group.name}/${i.index}' in az '${i.az}'`,
            );
          staticLeft.delete(ip);
        }
      } else {
        const p = prior !== undefined ? parseIp(prior) : undefined;
        if (p !== undefined && subnets.some((s) => dynamicAllowed(s, p)) && free(p)) ip = p;
        else ip = firstFree(subnets, free);
        if (ip === undefined)
          throw new DirectorError(
            `Placing instance group '${group.name}': network '${net.name}' has no free address for '${group.name}/${i.index}' in az '${i.az}'`,
          );
      }
      ownersHere.set(ip, i.uuid);
      const subnet = subnets.find((s) => s.cidr && ip! >= s.cidr.first && ip! <= s.cidr.last) ?? subnets[0]!;
      return {
        name: net.name,
        type: 'manual',
        ip: formatIp(ip),
        netmask: subnet.netmask ?? null,
        gateway: subnet.gateway ?? null,
        dns: subnet.dns,
        default: isDefault,
        static: gn.staticIps.length > 0,
        cloudProperties: subnet.cloudProperties,
      };
    });
    return {
      group: group.name,
      index: i.index,
      uuid: i.uuid,
      az: i.az,
      bootstrap: i.uuid === bootstrapUuid,
      networks,
      isNew: i.recorded === undefined,
    };
  });
  return { desired, obsolete };
}

/** How many instances each az gets: as even as possible, existing instances staying put. */
function balancedQuota(
  azs: readonly (string | null)[],
  want: number,
  existing: readonly RecordedPlacement[],
): Map<string | null, number> {
  const quota = new Map<string | null, number>(azs.map((a) => [a, 0]));
  const have = new Map<string | null, number>(azs.map((a) => [a, existing.filter((e) => e.az === a).length]));
  for (let n = 0; n < want; n++) {
    // The az with the fewest assigned so far; among ties, prefer one that has existing instances
    // left to keep, then the order the azs are listed.
    let best: string | null | undefined;
    for (const az of azs) {
      if (best === undefined) {
        best = az;
        continue;
      }
      const qa = quota.get(az)!;
      const qb = quota.get(best)!;
      if (qa < qb) best = az;
      else if (qa === qb) {
        const spareA = have.get(az)! > qa;
        const spareB = have.get(best)! > qb;
        if (spareA && !spareB) best = az;
      }
    }
    quota.set(best!, quota.get(best!)! + 1);
  }
  return quota;
}

function dynamicAllowed(s: Subnet, ip: number): boolean {
  return !!s.cidr && ip >= s.cidr.first && ip <= s.cidr.last && !s.reserved.has(ip) && !s.static.has(ip);
}

function firstFree(subnets: readonly Subnet[], free: (ip: number) => boolean): number | undefined {
  for (const s of subnets) {
    if (!s.cidr) continue;
    for (let ip = s.cidr.first; ip <= s.cidr.last; ip++) {
      if (!s.reserved.has(ip) && !s.static.has(ip) && free(ip)) return ip;
    }
  }
  return undefined;
}
