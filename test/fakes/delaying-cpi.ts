import { CallLog } from './call-log.js';
import type {
  CloudProperties,
  Cpi,
  CpiInfo,
  CpiMethod,
  CreatedVm,
  DiskHint,
  Networks,
  VmEnv,
} from '../../cpi/contract.js';

/** Injected latency per CPI method (ms); a method not named takes `other`. */
export interface CpiDelays {
  readonly other: number;
  readonly [method: string]: number;
}

/** The CPI methods that change the cloud (a no-op redeploy should call none of them). */
export const MUTATING_CPI_METHODS: readonly CpiMethod[] = [
  'create_stemcell',
  'delete_stemcell',
  'create_vm',
  'delete_vm',
  'reboot_vm',
  'set_vm_metadata',
  'create_disk',
  'delete_disk',
  'attach_disk',
  'detach_disk',
  'resize_disk',
  'snapshot_disk',
  'delete_snapshot',
];

/**
 * A CPI that answers like `inner`, `delays[method]` later (as a remote IaaS would), and counts
 * its calls by BOSH method name. The delay comes after the inner call, so a failure is as late
 * as a success.
 */
export class DelayingCpi implements Cpi {
  /** Every call, with the time the inner CPI took (the delay excluded). */
  readonly log = new CallLog<CpiMethod>();

  constructor(
    private readonly inner: Cpi,
    private readonly delays: CpiDelays,
    private readonly sleep: (ms: number) => Promise<void>,
  ) {}

  private call<T>(method: CpiMethod, work: () => Promise<T>): Promise<T> {
    return this.log.call(method, work, this.delays[method] ?? this.delays.other, this.sleep);
  }

  info(): Promise<CpiInfo> {
    return this.call('info', () => this.inner.info());
  }
  createStemcell(imagePath: string, cloudProperties: CloudProperties): Promise<string> {
    return this.call('create_stemcell', () => this.inner.createStemcell(imagePath, cloudProperties));
  }
  deleteStemcell(stemcellCid: string): Promise<void> {
    return this.call('delete_stemcell', () => this.inner.deleteStemcell(stemcellCid));
  }
  createVm(
    agentId: string,
    stemcellCid: string,
    cloudProperties: CloudProperties,
    networks: Networks,
    diskCids: readonly string[],
    env: VmEnv,
  ): Promise<CreatedVm> {
    return this.call('create_vm', () =>
      this.inner.createVm(agentId, stemcellCid, cloudProperties, networks, diskCids, env),
    );
  }
  deleteVm(vmCid: string): Promise<void> {
    return this.call('delete_vm', () => this.inner.deleteVm(vmCid));
  }
  hasVm(vmCid: string): Promise<boolean> {
    return this.call('has_vm', () => this.inner.hasVm(vmCid));
  }
  rebootVm(vmCid: string): Promise<void> {
    return this.call('reboot_vm', () => this.inner.rebootVm(vmCid));
  }
  setVmMetadata(vmCid: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    return this.call('set_vm_metadata', () => this.inner.setVmMetadata(vmCid, metadata));
  }
  createDisk(sizeMiB: number, cloudProperties: CloudProperties, vmCid?: string): Promise<string> {
    return this.call('create_disk', () => this.inner.createDisk(sizeMiB, cloudProperties, vmCid));
  }
  deleteDisk(diskCid: string): Promise<void> {
    return this.call('delete_disk', () => this.inner.deleteDisk(diskCid));
  }
  attachDisk(vmCid: string, diskCid: string): Promise<DiskHint> {
    return this.call('attach_disk', () => this.inner.attachDisk(vmCid, diskCid));
  }
  detachDisk(vmCid: string, diskCid: string): Promise<void> {
    return this.call('detach_disk', () => this.inner.detachDisk(vmCid, diskCid));
  }
  hasDisk(diskCid: string): Promise<boolean> {
    return this.call('has_disk', () => this.inner.hasDisk(diskCid));
  }
  getDisks(vmCid: string): Promise<readonly string[]> {
    return this.call('get_disks', () => this.inner.getDisks(vmCid));
  }
  resizeDisk(diskCid: string, newSizeMiB: number): Promise<void> {
    return this.call('resize_disk', () => this.inner.resizeDisk(diskCid, newSizeMiB));
  }
  snapshotDisk(diskCid: string, metadata: Readonly<Record<string, string>>): Promise<string> {
    return this.call('snapshot_disk', () => this.inner.snapshotDisk(diskCid, metadata));
  }
  deleteSnapshot(snapshotCid: string): Promise<void> {
    return this.call('delete_snapshot', () => this.inner.deleteSnapshot(snapshotCid));
  }
}
