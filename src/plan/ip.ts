/**
 * IPv4 arithmetic for networks as BOSH writes them: CIDR ranges (`10.0.0.0/24`), single addresses
 * and address ranges (`10.0.0.10 - 10.0.0.20`, `10.0.0.10-10.0.0.20`) in `reserved` and `static`.
 * Addresses are unsigned 32-bit numbers internally.
 */
export function parseIp(s: string): number {
  const m = /^\s*(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\s*$/.exec(s);
  if (!m) throw new Error(`'${s}' is not an IPv4 address`);
  const parts = m.slice(1, 5).map(Number);
  if (parts.some((p) => p > 255)) throw new Error(`'${s}' is not an IPv4 address`);
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function formatIp(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export interface Cidr {
  readonly network: number;
  readonly prefix: number;
  /** First and last addresses of the range (network and broadcast addresses included). */
  readonly first: number;
  readonly last: number;
}

export function parseCidr(s: string): Cidr {
  const m = /^\s*([\d.]+)\/(\d{1,2})\s*$/.exec(s);
  if (!m) throw new Error(`'${s}' is not a CIDR range`);
  const prefix = Number(m[2]);
  if (prefix > 32) throw new Error(`'${s}' is not a CIDR range`);
  const size = 2 ** (32 - prefix);
  const ip = parseIp(m[1]!);
  const network = ip - (ip % size);
  return { network, prefix, first: network, last: network + size - 1 };
}

export function netmask(prefix: number): string {
  return formatIp(prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0);
}

/** An inclusive range of addresses. */
export interface IpRange {
  readonly first: number;
  readonly last: number;
}

/** `a.b.c.d`, `a.b.c.d - e.f.g.h` or `a.b.c.d/nn` → a range. */
export function parseIpRange(s: string): IpRange {
  if (s.includes('/')) {
    const c = parseCidr(s);
    return { first: c.first, last: c.last };
  }
  const dash = s.indexOf('-');
  if (dash >= 0) {
    const first = parseIp(s.slice(0, dash));
    const last = parseIp(s.slice(dash + 1));
    if (last < first) throw new Error(`'${s}' is an empty range`);
    return { first, last };
  }
  const ip = parseIp(s);
  return { first: ip, last: ip };
}

/** Every address named by a list of ranges, as a set. */
export function expandRanges(entries: readonly string[]): Set<number> {
  const out = new Set<number>();
  for (const e of entries) {
    const r = parseIpRange(e);
    if (r.last - r.first > 1 << 20) throw new Error(`'${e}' is too large a range`);
    for (let ip = r.first; ip <= r.last; ip++) out.add(ip);
  }
  return out;
}
