/** What a VM hook learns about the VM the fake "boots", "stops" or "restarts". */
export interface VmHookInfo {
  readonly id: string;
  readonly name: string;
  readonly resourceGroup: string;
  readonly location: string;
  readonly vmSize: string;
  /** Private IP of the primary NIC's primary IP configuration. */
  readonly privateIp: string | undefined;
  /** Every private IP of every NIC, primary first. */
  readonly privateIps: readonly string[];
  /** osProfile.customData, base64-decoded (what cloud-init / the Azure agent would read). */
  readonly customData: string | undefined;
  /** linuxConfiguration.ssh.publicKeys[].keyData. */
  readonly sshKeys: readonly string[];
  readonly adminUsername: string | undefined;
  readonly tags: Readonly<Record<string, string>>;
  readonly zones: readonly string[];
  /** The VM's data disks (storageProfile.dataDisks), by LUN. */
  readonly dataDisks: readonly VmHookDataDisk[];
}

/** A data disk as the VM sees it: at a LUN of its SCSI controller. */
export interface VmHookDataDisk {
  readonly lun: number;
  /** The managed disk's resource id. */
  readonly diskId: string;
  readonly name: string;
}

/**
 * Called where a real VM would boot, be torn down or reboot. The long-running operation that
 * triggered the hook completes only after the hook's promise settles; a rejected promise makes it
 * end with status Failed.
 */
export interface VmHooks {
  /** After a VM create is accepted (the VM "boots"). */
  onVmCreated?: (vm: VmHookInfo) => Promise<void> | void;
  /** When a VM delete is accepted (the VM "stops for good"); the VM is removed after it settles. */
  onVmDeleted?: (vm: VmHookInfo) => Promise<void> | void;
  /** When a restart is accepted. */
  onVmRestarted?: (vm: VmHookInfo) => Promise<void> | void;
  /**
   * When a VM's data disks change (attachDetachDataDisks, or an update that sets them), with the
   * VM as it is now. Called before the operation starts, since the change is made whether or not
   * the operation then reports failure; a rejected promise fails the request.
   */
  onDataDisksChanged?: (vm: VmHookInfo) => Promise<void> | void;
}
