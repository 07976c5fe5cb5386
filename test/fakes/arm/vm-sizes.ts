/**
 * What each VM size can do, as the fake ARM knows it: every size the ops-files, manifests and
 * tests use, plus their close relatives. Figures are those of the size pages on Learn
 * (https://learn.microsoft.com/azure/virtual-machines/sizes/overview and the per-series pages
 * named beside each row); `premiumIO` is "Premium Storage: Supported" there, which is also the
 * 's' of the size name (https://learn.microsoft.com/azure/virtual-machines/vm-naming-conventions).
 * Zones are those `GET /subscriptions/{s}/providers/Microsoft.Compute/skus` reports for a
 * three-zone region (locationInfo[].zones): every size here is offered in zones 1, 2 and 3.
 */
export interface VmSizeCapabilities {
  readonly name: string;
  readonly vCPUs: number;
  readonly memoryInMB: number;
  /** Temporary (resource) disk. */
  readonly resourceDiskSizeInMB: number;
  /** "Max data disks" of the size page: more attached is refused (OperationNotAllowed). */
  readonly maxDataDiskCount: number;
  /** Premium SSD (Premium_LRS/Premium_ZRS) OS and data disks allowed. */
  readonly premiumIO: boolean;
  readonly zones: readonly string[];
}

const Z = ['1', '2', '3'] as const;

export const VM_SIZE_CAPABILITIES: readonly VmSizeCapabilities[] = [
  // B-series: .../sizes/general-purpose/bv1-series
  {
    name: 'Standard_B1s',
    vCPUs: 1,
    memoryInMB: 1024,
    resourceDiskSizeInMB: 4096,
    maxDataDiskCount: 2,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_B1ms',
    vCPUs: 1,
    memoryInMB: 2048,
    resourceDiskSizeInMB: 4096,
    maxDataDiskCount: 2,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_B2s',
    vCPUs: 2,
    memoryInMB: 4096,
    resourceDiskSizeInMB: 8192,
    maxDataDiskCount: 4,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_B2ms',
    vCPUs: 2,
    memoryInMB: 8192,
    resourceDiskSizeInMB: 16384,
    maxDataDiskCount: 4,
    premiumIO: true,
    zones: Z,
  },
  // Av2-series: .../sizes/general-purpose/av2-series (no premium storage)
  {
    name: 'Standard_A1_v2',
    vCPUs: 1,
    memoryInMB: 2048,
    resourceDiskSizeInMB: 10240,
    maxDataDiskCount: 2,
    premiumIO: false,
    zones: Z,
  },
  {
    name: 'Standard_A2_v2',
    vCPUs: 2,
    memoryInMB: 4096,
    resourceDiskSizeInMB: 20480,
    maxDataDiskCount: 4,
    premiumIO: false,
    zones: Z,
  },
  // Dv2-series: .../sizes/general-purpose/dv2-series (no premium storage)
  {
    name: 'Standard_D1_v2',
    vCPUs: 1,
    memoryInMB: 3584,
    resourceDiskSizeInMB: 51200,
    maxDataDiskCount: 4,
    premiumIO: false,
    zones: Z,
  },
  {
    name: 'Standard_D2_v2',
    vCPUs: 2,
    memoryInMB: 7168,
    resourceDiskSizeInMB: 102400,
    maxDataDiskCount: 8,
    premiumIO: false,
    zones: Z,
  },
  {
    name: 'Standard_D3_v2',
    vCPUs: 4,
    memoryInMB: 14336,
    resourceDiskSizeInMB: 204800,
    maxDataDiskCount: 16,
    premiumIO: false,
    zones: Z,
  },
  // DSv2-series: .../sizes/general-purpose/dsv2-series
  {
    name: 'Standard_DS1_v2',
    vCPUs: 1,
    memoryInMB: 3584,
    resourceDiskSizeInMB: 7168,
    maxDataDiskCount: 4,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_DS2_v2',
    vCPUs: 2,
    memoryInMB: 7168,
    resourceDiskSizeInMB: 14336,
    maxDataDiskCount: 8,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_DS3_v2',
    vCPUs: 4,
    memoryInMB: 14336,
    resourceDiskSizeInMB: 28672,
    maxDataDiskCount: 16,
    premiumIO: true,
    zones: Z,
  },
  // Dsv3-series: .../sizes/general-purpose/dsv3-series
  {
    name: 'Standard_D2s_v3',
    vCPUs: 2,
    memoryInMB: 8192,
    resourceDiskSizeInMB: 16384,
    maxDataDiskCount: 4,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_D4s_v3',
    vCPUs: 4,
    memoryInMB: 16384,
    resourceDiskSizeInMB: 32768,
    maxDataDiskCount: 8,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_D8s_v3',
    vCPUs: 8,
    memoryInMB: 32768,
    resourceDiskSizeInMB: 65536,
    maxDataDiskCount: 16,
    premiumIO: true,
    zones: Z,
  },
  // Esv3-series: .../sizes/memory-optimized/esv3-series
  {
    name: 'Standard_E2s_v3',
    vCPUs: 2,
    memoryInMB: 16384,
    resourceDiskSizeInMB: 32768,
    maxDataDiskCount: 4,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_E4s_v3',
    vCPUs: 4,
    memoryInMB: 32768,
    resourceDiskSizeInMB: 65536,
    maxDataDiskCount: 8,
    premiumIO: true,
    zones: Z,
  },
  // Fsv2-series: .../sizes/compute-optimized/fsv2-series
  {
    name: 'Standard_F2s_v2',
    vCPUs: 2,
    memoryInMB: 4096,
    resourceDiskSizeInMB: 16384,
    maxDataDiskCount: 4,
    premiumIO: true,
    zones: Z,
  },
  {
    name: 'Standard_F4s_v2',
    vCPUs: 4,
    memoryInMB: 8192,
    resourceDiskSizeInMB: 32768,
    maxDataDiskCount: 8,
    premiumIO: true,
    zones: Z,
  },
];

/** A size by name (ARM compares size names case-insensitively). */
export function vmSize(name: unknown): VmSizeCapabilities | undefined {
  const n = String(name).toLowerCase();
  return VM_SIZE_CAPABILITIES.find((s) => s.name.toLowerCase() === n);
}
