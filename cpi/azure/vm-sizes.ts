/**
 * What the Azure CPI knows of VM sizes without asking ARM: the name grammar and the premium
 * storage letter of Azure's naming conventions
 * (https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions: `[Family] +
 * [Sub-family] + [# of vCPUs] + [Additive features] + [Version]`, where the additive feature `s`
 * and the families DS/GS mean premium storage), and the data disk limits of the sizes the
 * ops-files use (the size pages' "Max data disks"). ARM stays the judge of sizes it does not list.
 */

/** A size name's parts. */
export interface SizeName {
  readonly family: string;
  readonly vCPUs: number;
  readonly features: string;
  readonly version: number | undefined;
}

const SIZE = /^(?:Standard|Basic)_([A-Z]+)(\d+)(?:-\d+)?([a-z]*)(?:_[A-Za-z0-9]+)*?(?:_v(\d+))?$/;

/** Parses `Standard_D2s_v3` into its parts; undefined when it is not a size name. */
export function parseSizeName(name: string): SizeName | undefined {
  const m = SIZE.exec(name);
  if (m === null) return undefined;
  return {
    family: m[1] as string,
    vCPUs: Number(m[2]),
    features: m[3] as string,
    version: m[4] === undefined ? undefined : Number(m[4]),
  };
}

/** Whether a size takes Premium SSD disks: the `s` feature letter, or the DS/GS families. */
export function premiumStorageCapable(name: string): boolean {
  const p = parseSizeName(name);
  if (p === undefined) return true; // not ours to judge: ARM answers
  return p.features.includes('s') || /^(DS|GS)$/.test(p.family) || p.family.endsWith('S');
}

/** Max data disks of the sizes the ops-files and tests use (the size pages on Learn). */
const MAX_DATA_DISKS: Readonly<Record<string, number>> = {
  standard_b1s: 2,
  standard_b1ms: 2,
  standard_b2s: 4,
  standard_b2ms: 4,
  standard_a1_v2: 2,
  standard_a2_v2: 4,
  standard_d1_v2: 4,
  standard_d2_v2: 8,
  standard_d3_v2: 16,
  standard_ds1_v2: 4,
  standard_ds2_v2: 8,
  standard_ds3_v2: 16,
  standard_d2s_v3: 4,
  standard_d4s_v3: 8,
  standard_d8s_v3: 16,
  standard_e2s_v3: 4,
  standard_e4s_v3: 8,
  standard_f2s_v2: 4,
  standard_f4s_v2: 8,
};

/** The data disk limit of a size, when the CPI knows it. */
export function maxDataDisks(name: string): number | undefined {
  return MAX_DATA_DISKS[name.toLowerCase()];
}
