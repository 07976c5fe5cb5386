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
}
