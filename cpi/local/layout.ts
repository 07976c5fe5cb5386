import { join } from 'node:path';
import type { CloudProperties, Networks, ResourceTags } from '../contract.js';

/**
 * Where the local CPI keeps everything under its root:
 *
 *   vms/<cid>/vm.json           the VM record (no secrets)
 *   vms/<cid>/ssh_host_key      the director-generated host key (0600)
 *   vms/<cid>/authorized_keys
 *   vms/<cid>/host.json         written by the host process once SSH listens (pid, addresses)
 *   vms/<cid>/host.log          the host process's output
 *   vms/<cid>/root/             the VM's own filesystem: HOME, cwd of commands, SFTP '/'
 *   vms/<cid>/root/store-disks/<disk cid> -> disks/<disk cid>/data   attached disks
 *   disks/<cid>/disk.json, disks/<cid>/data/
 *   snapshots/<cid>/snapshot.json, snapshots/<cid>/data/
 *   stemcells/<cid>.json
 *   load-balancers/<name>/{config.json, members.json, proxy.json, proxy.log}
 */
export class LocalLayout {
  constructor(readonly root: string) {}
  vms(): string {
    return join(this.root, 'vms');
  }
  vmDir(cid: string): string {
    return join(this.root, 'vms', cid);
  }
  vmRoot(cid: string): string {
    return join(this.vmDir(cid), 'root');
  }
  disks(): string {
    return join(this.root, 'disks');
  }
  diskDir(cid: string): string {
    return join(this.root, 'disks', cid);
  }
  snapshotDir(cid: string): string {
    return join(this.root, 'snapshots', cid);
  }
  stemcells(): string {
    return join(this.root, 'stemcells');
  }
  loadBalancers(): string {
    return join(this.root, 'load-balancers');
  }
  lbDir(name: string): string {
    return join(this.root, 'load-balancers', name);
  }
}

/** The store-disks path of an attached disk, relative to the VM root (the disk hint). */
export function diskMountPath(diskCid: string): string {
  return `store-disks/${diskCid}`;
}

export interface VmRecord {
  readonly cid: string;
  readonly agent_id: string;
  readonly stemcell: string;
  /** Every IP the VM's SSH server listens on (one per network). */
  readonly ips: readonly string[];
  readonly ssh_port: number;
  readonly networks: Networks;
  readonly cloud_properties: CloudProperties;
  readonly load_balancers: readonly string[];
  readonly disk_locality: readonly string[];
  readonly tags: ResourceTags;
  readonly metadata: Readonly<Record<string, string>>;
  readonly created_at: string;
}

export interface HostRecord {
  readonly pid: number;
  readonly addresses: readonly string[];
  readonly port: number;
}

export interface DiskRecord {
  readonly cid: string;
  readonly size_mib: number;
  readonly cloud_properties: CloudProperties;
  readonly vm: string | null;
  readonly tags: Readonly<Record<string, string>>;
  readonly created_at: string;
}

export interface SnapshotRecord {
  readonly cid: string;
  readonly disk: string;
  readonly size_mib: number;
  readonly metadata: Readonly<Record<string, string>>;
  readonly created_at: string;
}

export interface StemcellRecord {
  readonly cid: string;
  readonly name: string;
  readonly version: string;
  readonly os: string;
  readonly image_path: string;
  readonly tags: Readonly<Record<string, string>>;
  readonly created_at: string;
}

export interface LbMember {
  readonly vm: string;
  readonly ip: string;
}

export interface LbConfigRecord {
  readonly name: string;
  readonly address: string;
  readonly ports: readonly { readonly frontend: number; readonly backend: number }[];
}
