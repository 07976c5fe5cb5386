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

let nextCid = 1;

/** One CPI call as the fake saw it: the method and the cid (or agent id) it was about. */
export interface CpiCall {
  readonly method: CpiMethod;
  readonly subject: string;
}

/**
 * A CPI in memory that records every call, for tests of the engine that must not start a VM: a
 * VM is an entry with its agent id and attached disks, a disk an entry with its size. Faults are
 * injected by method and subject (`failWhen`); `during` runs inside a call, before it answers,
 * so a test can look at what the state says while the cloud is working (the intent rule).
 * Failure semantics follow the contract: a failed create leaves nothing behind.
 */
export class RecordingCpi implements Cpi {
  readonly calls: CpiCall[] = [];
  readonly vms = new Map<
    string,
    { readonly agentId: string; readonly disks: Set<string>; readonly cloudProperties: CloudProperties }
  >();
  readonly disks = new Map<string, { readonly size: number }>();
  private readonly faults: { method: CpiMethod; when: (subject: string) => boolean; message: string }[] = [];
  /** Runs inside each call before it answers (after the fault check). */
  during?: (call: CpiCall) => void | Promise<void>;

  /** Makes `method` fail (with `message`) for the subjects `when` picks (every subject by default). */
  failWhen(method: CpiMethod, message: string, when: (subject: string) => boolean = () => true): this {
    this.faults.push({ method, when, message });
    return this;
  }

  /** `method subject` of every call, in order; `methods` keeps only those. */
  log(...methods: CpiMethod[]): string[] {
    return this.calls
      .filter((c) => !methods.length || methods.includes(c.method))
      .map((c) => `${c.method} ${c.subject}`);
  }

  private async call<T>(method: CpiMethod, subject: string, work: () => T): Promise<T> {
    const c = { method, subject };
    this.calls.push(c);
    const fault = this.faults.find((f) => f.method === method && f.when(subject));
    if (fault) throw new Error(fault.message);
    await this.during?.(c);
    return work();
  }

  private cid(prefix: string): string {
    // Unique across fakes, so that fakes made one after another can share one state file.
    return `${prefix}-${nextCid++}`;
  }

  info(): Promise<CpiInfo> {
    return this.call('info', '', () => ({ api_version: 2, stemcell_formats: ['local'] }));
  }
  createStemcell(_imagePath: string, _cloudProperties: CloudProperties): Promise<string> {
    return this.call('create_stemcell', '', () => this.cid('sc'));
  }
  deleteStemcell(stemcellCid: string): Promise<void> {
    return this.call('delete_stemcell', stemcellCid, () => undefined);
  }
  createVm(
    agentId: string,
    _stemcellCid: string,
    cloudProperties: CloudProperties,
    _networks: Networks,
    _diskCids: readonly string[],
    _env: VmEnv,
  ): Promise<CreatedVm> {
    return this.call('create_vm', agentId, () => {
      const vmCid = this.cid('vm');
      this.vms.set(vmCid, { agentId, disks: new Set(), cloudProperties });
      return { vmCid };
    });
  }
  deleteVm(vmCid: string): Promise<void> {
    return this.call('delete_vm', vmCid, () => void this.vms.delete(vmCid));
  }
  hasVm(vmCid: string): Promise<boolean> {
    return this.call('has_vm', vmCid, () => this.vms.has(vmCid));
  }
  rebootVm(vmCid: string): Promise<void> {
    return this.call('reboot_vm', vmCid, () => undefined);
  }
  setVmMetadata(vmCid: string, _metadata: Readonly<Record<string, string>>): Promise<void> {
    return this.call('set_vm_metadata', vmCid, () => undefined);
  }
  createDisk(sizeMiB: number, _cloudProperties: CloudProperties, _vmCid?: string): Promise<string> {
    return this.call('create_disk', String(sizeMiB), () => {
      const cid = this.cid('disk');
      this.disks.set(cid, { size: sizeMiB });
      return cid;
    });
  }
  deleteDisk(diskCid: string): Promise<void> {
    return this.call('delete_disk', diskCid, () => void this.disks.delete(diskCid));
  }
  attachDisk(vmCid: string, diskCid: string): Promise<DiskHint> {
    return this.call('attach_disk', diskCid, () => {
      const vm = this.vms.get(vmCid);
      if (!vm || !this.disks.has(diskCid)) throw new Error(`attach_disk: no VM '${vmCid}' or disk '${diskCid}'`);
      vm.disks.add(diskCid);
      return { path: `/dev/${diskCid}` };
    });
  }
  detachDisk(vmCid: string, diskCid: string): Promise<void> {
    return this.call('detach_disk', diskCid, () => void this.vms.get(vmCid)?.disks.delete(diskCid));
  }
  hasDisk(diskCid: string): Promise<boolean> {
    return this.call('has_disk', diskCid, () => this.disks.has(diskCid));
  }
  getDisks(vmCid: string): Promise<readonly string[]> {
    return this.call('get_disks', vmCid, () => [...(this.vms.get(vmCid)?.disks ?? [])]);
  }
  resizeDisk(diskCid: string, _newSizeMiB: number): Promise<void> {
    return this.call('resize_disk', diskCid, () => undefined);
  }
  snapshotDisk(diskCid: string, _metadata: Readonly<Record<string, string>>): Promise<string> {
    return this.call('snapshot_disk', diskCid, () => this.cid('snap'));
  }
  deleteSnapshot(snapshotCid: string): Promise<void> {
    return this.call('delete_snapshot', snapshotCid, () => undefined);
  }
}
