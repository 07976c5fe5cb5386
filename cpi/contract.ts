/**
 * The Cloud Provider Interface: what the director asks of an IaaS, modeled on the BOSH CPI API v2
 * (`info`, `create_vm` returning `[vm_cid, networks]`, `attach_disk` returning a disk hint).
 *
 * Every method is async and rejects only with a `CpiError` (see ./cpi-error.ts), built by the
 * CPI's one error mapper. Failure semantics follow pulumi's dynamic providers: a failed create
 * leaves nothing behind; a failed delete means the resource may still exist (call it again);
 * deleting something already gone succeeds, as the BOSH director expects (it ignores
 * `VMNotFound` on delete_vm and `DiskNotFound` on delete_disk).
 *
 * Every resource a CPI creates is tagged with the director uuid, deployment, instance and agent
 * id (see `ResourceTags`) so that orphans can always be found.
 */
export type { CpiError, CpiErrorKind, CpiMethod, CpiResource } from './cpi-error.js';

/** Plain JSON-like cloud properties: the director merges vm_type + vm_extensions + az. */
export type CloudProperties = Readonly<Record<string, unknown>>;

/** One network of a VM, in the BOSH shape the director sends to `create_vm`. */
export interface NetworkSettings {
  /** `manual` networks carry a static `ip`; `dynamic` ones get an IP from the IaaS. */
  readonly type: 'manual' | 'dynamic' | 'vip';
  readonly ip?: string;
  readonly netmask?: string;
  readonly gateway?: string;
  readonly dns?: readonly string[];
  /** Which defaults (`dns`, `gateway`) this network provides. */
  readonly default?: readonly string[];
  readonly cloud_properties?: CloudProperties;
}

/** The networks of a VM by network name: `{ default: { type: 'manual', ip: '10.0.0.5', ... } }`. */
export type Networks = Readonly<Record<string, NetworkSettings>>;

/** Which instance a VM is for; the director's identity for tagging and for the agent. */
export interface InstanceIdentity {
  /** The instance group name, e.g. `master`. */
  readonly group: string;
  readonly index: number;
  /** The instance uuid. */
  readonly id: string;
}

/** What the director passes the CPI for a VM (BOSH `env`, plus the director's SSH material). */
export interface VmEnv {
  /** BOSH's own env block: `group`, `groups` (director, deployment, group names), passwords... */
  readonly bosh?: {
    readonly group?: string;
    readonly groups?: readonly string[];
    readonly [key: string]: unknown;
  };
  readonly director: {
    readonly uuid: string;
    readonly deployment: string;
    readonly instance: InstanceIdentity;
    readonly agentId: string;
  };
  readonly ssh: {
    /** The host key the director generated for this VM (OpenSSH or PEM). A secret. */
    readonly hostPrivateKey: string;
    /** OpenSSH public key lines allowed to log in (the director's key). */
    readonly authorizedKeys: readonly string[];
  };
}

/** The tags every created resource carries, so that orphans can be found. */
export interface ResourceTags {
  readonly director: string;
  readonly deployment: string;
  readonly instance_group: string;
  readonly instance_index: string;
  readonly instance_id: string;
  readonly agent_id: string;
  readonly [key: string]: string;
}

/** BOSH `info`: what the CPI supports. */
export interface CpiInfo {
  readonly api_version: 2;
  readonly stemcell_formats: readonly string[];
}

/** `create_vm` v2 result: the VM's cloud id and the networks as the IaaS assigned them. */
export interface CreatedVm {
  readonly vmCid: string;
  /** The networks with dynamic IPs filled in; absent when unchanged. */
  readonly networks?: Networks;
}

/**
 * Where the agent finds an attached disk (v2 `attach_disk` result). Local: `path` relative to the
 * agent root (the SSH login directory). Azure: `lun` and `host_device_id`.
 */
export type DiskHint = { readonly path: string } | { readonly lun: string; readonly host_device_id: string };

/** The Cloud Provider Interface every IaaS implements. */
export interface Cpi {
  /** What the CPI supports. Never fails except for `Unknown`. */
  info(): Promise<CpiInfo>;

  /**
   * Checks cloud properties without calling the IaaS, so a bad vm_type or disk_type is refused
   * when the deployment is planned instead of half way through it: `vm` as create_vm gets them
   * (az, vm_type and vm_extensions merged), `disk` as create_disk gets the instances' disk_type.
   * Throws an Error whose one-line message names the property and the value found. Optional:
   * a CPI without it is checked by create_vm and create_disk only.
   */
  checkCloudProperties?(vm: CloudProperties, disk: CloudProperties | undefined): void;

  /**
   * Imports a stemcell (image file and its stemcell.MF `cloud_properties`) and returns its cid.
   * Fails with `InvalidCloudProperties` on unusable properties; a failure leaves nothing behind.
   */
  createStemcell(imagePath: string, cloudProperties: CloudProperties): Promise<string>;

  /** Deletes a stemcell. A missing stemcell succeeds. A failure means it may still exist. */
  deleteStemcell(stemcellCid: string): Promise<void>;

  /**
   * Creates and starts a VM for `agentId` from a stemcell, on `networks`, near `diskCids` (a
   * locality hint: the disks are NOT attached), tagged from `env.director`. Resolves once the VM
   * runs (for local VMs: SSH accepts connections). Fails with `NotFound` (stemcell),
   * `InvalidCloudProperties` (the message names the property), `VmCreationFailed` (with
   * `okToRetry`) or `Throttled`; a failed create leaves no VM, process or folder behind.
   */
  createVm(
    agentId: string,
    stemcellCid: string,
    cloudProperties: CloudProperties,
    networks: Networks,
    diskCids: readonly string[],
    env: VmEnv,
  ): Promise<CreatedVm>;

  /**
   * Deletes a VM and everything running on it; attached persistent disks are detached (kept).
   * Resolves only when the deletion is certain. A VM already gone succeeds. A failure means the
   * VM may still exist: call again.
   */
  deleteVm(vmCid: string): Promise<void>;

  /** Whether the VM exists (and, for local VMs, runs). Never fails with `NotFound`. */
  hasVm(vmCid: string): Promise<boolean>;

  /**
   * Reboots a VM: same cid, IPs, host key and attached disks. Fails with `NotFound` for a missing
   * VM. After a failure the VM may be stopped.
   */
  rebootVm(vmCid: string): Promise<void>;

  /** Merges `metadata` into the VM's tags. Fails with `NotFound` for a missing VM. */
  setVmMetadata(vmCid: string, metadata: Readonly<Record<string, string>>): Promise<void>;

  /**
   * Creates a persistent disk of `sizeMiB` (near `vmCid` if given, tagged with its tags). Fails
   * with `InvalidCloudProperties`, `NoDiskSpace`, `NotFound` (the VM) or `Throttled`; a failed
   * create leaves no disk.
   */
  createDisk(sizeMiB: number, cloudProperties: CloudProperties, vmCid?: string): Promise<string>;

  /** Deletes a detached disk. A missing disk succeeds. Fails if still attached. */
  deleteDisk(diskCid: string): Promise<void>;

  /**
   * Attaches a disk to a VM and returns where the agent finds it. Attaching a disk already
   * attached to that VM returns the same hint. Fails with `NotFound` (`resource` says VM or
   * disk) or `Unknown` when attached to another VM; a failure leaves it detached.
   */
  attachDisk(vmCid: string, diskCid: string): Promise<DiskHint>;

  /**
   * Detaches a disk from a VM. Fails with `NotFound` (VM or disk) or `DiskNotAttached` when the
   * disk is not attached to that VM (the director treats that as done).
   */
  detachDisk(vmCid: string, diskCid: string): Promise<void>;

  /** Whether the disk exists. Never fails with `NotFound`. */
  hasDisk(diskCid: string): Promise<boolean>;

  /** The cids of the disks attached to a VM. Fails with `NotFound` for a missing VM. */
  getDisks(vmCid: string): Promise<readonly string[]>;

  /**
   * Grows a disk to `newSizeMiB`; the disk must be detached (as for Azure managed disks). Fails
   * with `NotFound`, or `Unknown` when shrinking or attached; a failure leaves the old size.
   */
  resizeDisk(diskCid: string, newSizeMiB: number): Promise<void>;

  /** Snapshots a disk and returns the snapshot cid, tagged with `metadata`. `NotFound` for a missing disk. */
  snapshotDisk(diskCid: string, metadata: Readonly<Record<string, string>>): Promise<string>;

  /** Deletes a snapshot. A missing snapshot succeeds. */
  deleteSnapshot(snapshotCid: string): Promise<void>;
}
