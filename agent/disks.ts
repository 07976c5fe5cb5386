// Persistent disks. A folder hint `{path}` (local CPI) names a folder under the root
// (store-disks/<cid>); mounting makes it visible at <root>/store — or at
// <root>/store_migration_target while another disk is at store/, so that migrate_disk can copy the
// data across, as bosh-agent does. A LUN hint `{lun, host_device_id}` (Azure CPI) is looked for
// first as the folder store-disks/lun<N> (what a local hypervisor gives a VM it boots for the fake
// ARM), then as the device /dev/disk/azure/scsi1/lun<N> (a real Azure VM, where Azure's udev rules
// name data disks by LUN): a device without a filesystem is formatted ext4 and mounted with
// mount(8) at the mount point. The device path needs root and a real data disk; it is not
// exercised by this project's tests. A bare `{device}` hint is reported unsupported.
import { execFileSync } from 'node:child_process';
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
} from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { AgentFailure } from './failure.js';
import { readJsonFile, replaceSymlink, writeFileAtomic } from './files.js';
import type { AgentLayout } from './layout.js';
import type {
  MigrateDiskRequest,
  MigrateDiskValue,
  MountDiskRequest,
  MountDiskValue,
  UnmountDiskRequest,
  UnmountDiskValue,
} from './protocol.js';

type MountPoint = 'store' | 'store_migration_target';
/** `path`: a folder under the root the mount point links to; `device`: a block device mounted there. */
type DiskEntry = { readonly path: string; readonly mountPoint: MountPoint; readonly device?: string };
type DisksFile = Record<string, DiskEntry>;

/** Where Azure's udev rules link the data disks of the SCSI controller by LUN. */
export const AZURE_LUN_DEVICES = '/dev/disk/azure/scsi1';

export function mountedDisks(layout: AgentLayout): DisksFile {
  return readJsonFile<DisksFile>(layout.disksFile) ?? {};
}

function saveDisks(layout: AgentLayout, disks: DisksFile): void {
  writeFileAtomic(layout.disksFile, JSON.stringify(disks));
}

function requireCid(what: string, cid: unknown): string {
  if (typeof cid !== 'string' || cid === '') throw new AgentFailure('bad_request', `${what} is required`);
  return cid;
}

function isDirectory(path: string): boolean {
  try {
    return statSync(path).isDirectory();
  } catch {
    return false;
  }
}

/** Makes `mountPoint` absent again; refuses to hide a non-empty real folder. */
function clearMountPoint(layout: AgentLayout, mountPoint: MountPoint): void {
  const dir = join(layout.root, mountPoint);
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return;
  }
  if (st.isSymbolicLink()) {
    rmSync(dir);
    return;
  }
  if (st.isDirectory()) {
    if (isMountPoint(dir))
      throw new AgentFailure(
        'bad_request',
        `mount_disk: ${mountPoint}/ has another filesystem mounted; unmount it first`,
      );
    if (readdirSync(dir).length > 0)
      throw new AgentFailure(
        'bad_request',
        `mount_disk: ${mountPoint}/ is a non-empty folder; refusing to hide its content`,
      );
    rmSync(dir, { recursive: true });
  }
}

/** The free mount point for disk `cid`: store/, else store_migration_target/. */
function freeMountPoint(disks: DisksFile, cid: string): MountPoint {
  const taken = new Set(
    Object.entries(disks)
      .filter(([c]) => c !== cid)
      .map(([, d]) => d.mountPoint),
  );
  const mountPoint: MountPoint | undefined = !taken.has('store')
    ? 'store'
    : !taken.has('store_migration_target')
      ? 'store_migration_target'
      : undefined;
  if (mountPoint === undefined)
    throw new AgentFailure(
      'bad_request',
      `mount_disk: two disks are mounted already (${Object.keys(disks).join(', ')}); unmount one first`,
    );
  return mountPoint;
}

function parseLun(cid: string, lun: unknown): number {
  const text = typeof lun === 'number' ? String(lun) : lun;
  if (typeof text !== 'string' || !/^\d{1,2}$/.test(text) || Number(text) > 63) {
    throw new AgentFailure(
      'bad_request',
      `mount_disk: disk '${cid}': hint.lun must be a LUN from 0 to 63, found ${JSON.stringify(lun)}`,
    );
  }
  return Number(text);
}

export function mountDisk(layout: AgentLayout, req: MountDiskRequest): MountDiskValue {
  const cid = requireCid('mount_disk: diskCid', req?.diskCid);
  const hint = req.hint ?? {};
  if (hint.lun !== undefined && hint.path === undefined) {
    const lun = parseLun(cid, hint.lun);
    const folder = `store-disks/lun${lun}`;
    if (isDirectory(join(layout.root, folder))) return mountFolder(layout, cid, folder);
    const device = join(AZURE_LUN_DEVICES, `lun${lun}`);
    if (existsSync(device)) return mountDevice(layout, cid, device);
    throw new AgentFailure(
      'not_found',
      `mount_disk: disk '${cid}' is not attached (no folder at '${folder}', no device at ${device})`,
    );
  }
  if (typeof hint.device === 'string' && hint.path === undefined) {
    throw new AgentFailure(
      'unsupported',
      `mount_disk: disk '${cid}' has a device hint; this agent mounts folder and LUN disks only`,
    );
  }
  if (typeof hint.path !== 'string' || hint.path === '')
    throw new AgentFailure('bad_request', `mount_disk: disk '${cid}': hint.path is required`);
  const abs = resolve(layout.root, hint.path);
  if (!abs.startsWith(layout.root + sep))
    throw new AgentFailure('bad_request', `mount_disk: hint path '${hint.path}' is outside the agent root`);
  if (!isDirectory(abs))
    throw new AgentFailure('not_found', `mount_disk: disk '${cid}' is not attached (no folder at '${hint.path}')`);
  return mountFolder(layout, cid, abs.slice(layout.root.length + 1));
}

/** Links the mount point to `target`, a folder relative to the root. */
function mountFolder(layout: AgentLayout, cid: string, target: string): MountDiskValue {
  const disks = mountedDisks(layout);
  const mine = disks[cid];
  if (mine !== undefined && mine.device === undefined && mine.path === target) {
    const link = join(layout.root, mine.mountPoint);
    if (existsSync(link) && lstatSync(link).isSymbolicLink() && readlinkSync(link) === target)
      return { mountPoint: mine.mountPoint, alreadyMounted: true };
  }
  const mountPoint = freeMountPoint(disks, cid);
  clearMountPoint(layout, mountPoint);
  replaceSymlink(target, join(layout.root, mountPoint));
  saveDisks(layout, { ...disks, [cid]: { path: target, mountPoint } });
  return { mountPoint, alreadyMounted: false };
}

// ---- block devices (a real VM; needs root) ------------------------------------------------

function run(what: string, file: string, args: readonly string[]): string {
  try {
    return execFileSync(file, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 10 * 60 * 1000 });
  } catch (err) {
    const e = err as { stderr?: string; message?: string };
    throw new AgentFailure(
      'internal',
      `${what}: ${file} ${args.join(' ')} failed: ${(e.stderr ?? e.message ?? String(err)).trim().split('\n')[0]}`,
    );
  }
}

/** What `blkid -p` probes on `device`: TYPE (a filesystem) and PTTYPE (a partition table). */
function probe(device: string): { type?: string; ptType?: string } {
  let out = '';
  try {
    out = execFileSync('blkid', ['-p', '-o', 'export', device], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
  } catch (err) {
    // exit 2: nothing found on the device
    if ((err as { status?: number }).status === 2) return {};
    throw new AgentFailure(
      'internal',
      `mount_disk: probing ${device} failed: ${String((err as Error).message).split('\n')[0]}`,
    );
  }
  const field = (name: string) => new RegExp(`^${name}=(.*)$`, 'm').exec(out)?.[1];
  const type = field('TYPE');
  const ptType = field('PTTYPE');
  return { ...(type ? { type } : {}), ...(ptType ? { ptType } : {}) };
}

/** Mount points (decoded) of `device` in /proc/mounts. */
function mountsOf(device: string): string[] {
  let table = '';
  try {
    table = readFileSync('/proc/mounts', 'utf8');
  } catch {
    return [];
  }
  const decode = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
  return table
    .split('\n')
    .map((l) => l.split(' '))
    .filter((f) => f.length > 1 && decode(f[0] as string) === device)
    .map((f) => decode(f[1] as string));
}

function isMountPoint(dir: string): boolean {
  try {
    return readFileSync('/proc/mounts', 'utf8')
      .split('\n')
      .some((l) => l.split(' ')[1] === dir);
  } catch {
    return false;
  }
}

/**
 * The block device holding the disk's filesystem: the device itself when it has one (this agent
 * formats whole devices), partition 1 when the disk carries a partition table with a filesystem on
 * it (a disk bosh-agent formatted), or the device after formatting it when it holds nothing at all.
 * A partition table without a filesystem is never formatted over.
 */
function filesystemDevice(cid: string, device: string): string {
  const whole = probe(device);
  if (whole.type !== undefined) return device;
  if (whole.ptType !== undefined) {
    const part = existsSync(`${device}-part1`) ? realpathSync(`${device}-part1`) : undefined;
    if (part !== undefined && probe(part).type !== undefined) return part;
    throw new AgentFailure(
      'bad_request',
      `mount_disk: disk '${cid}' at ${device} has a partition table but no filesystem on partition 1; refusing to format it`,
    );
  }
  run(`mount_disk: formatting disk '${cid}'`, 'mkfs.ext4', ['-q', device]);
  return device;
}

function mountDevice(layout: AgentLayout, cid: string, lunDevice: string): MountDiskValue {
  const device = filesystemDevice(cid, realpathSync(lunDevice));
  const disks = mountedDisks(layout);
  const mine = disks[cid];
  if (mine !== undefined && mine.device === device && mountsOf(device).includes(join(layout.root, mine.mountPoint))) {
    return { mountPoint: mine.mountPoint, alreadyMounted: true };
  }
  const mountPoint = freeMountPoint(disks, cid);
  const dir = join(layout.root, mountPoint);
  clearMountPoint(layout, mountPoint);
  mkdirSync(dir, { recursive: true });
  run(`mount_disk: mounting disk '${cid}'`, 'mount', [device, dir]);
  saveDisks(layout, { ...disks, [cid]: { path: mountPoint, mountPoint, device } });
  return { mountPoint, alreadyMounted: false };
}

/** Takes the disk off its mount point (umount or unlink), leaving the mount point absent. */
function release(layout: AgentLayout, cid: string, disk: DiskEntry): void {
  const dir = join(layout.root, disk.mountPoint);
  if (disk.device !== undefined) {
    if (mountsOf(disk.device).includes(dir)) run(`unmounting disk '${cid}'`, 'umount', [dir]);
    if (isDirectory(dir) && readdirSync(dir).length === 0) rmSync(dir, { recursive: true });
    return;
  }
  try {
    if (lstatSync(dir).isSymbolicLink()) rmSync(dir);
  } catch {
    // already gone
  }
}

export function unmountDisk(layout: AgentLayout, req: UnmountDiskRequest): UnmountDiskValue {
  const cid = requireCid('unmount_disk: diskCid', req?.diskCid);
  const disks = mountedDisks(layout);
  const disk = disks[cid];
  if (disk === undefined) return { unmounted: false };
  release(layout, cid, disk);
  const dir = join(layout.root, disk.mountPoint);
  if (disk.mountPoint === 'store' && !existsSync(dir)) mkdirSync(dir, { recursive: true });
  const rest = { ...disks };
  delete rest[cid];
  saveDisks(layout, rest);
  return { unmounted: true };
}

/** Copies the data of the disk at store/ onto the one at store_migration_target/, then swaps them. */
export function migrateDisk(layout: AgentLayout, req: MigrateDiskRequest): MigrateDiskValue {
  const from = requireCid('migrate_disk: fromCid', req?.fromCid);
  const to = requireCid('migrate_disk: toCid', req?.toCid);
  const disks = mountedDisks(layout);
  const source = disks[from];
  if (source?.mountPoint !== 'store')
    throw new AgentFailure('bad_request', `migrate_disk: disk '${from}' is not mounted at store/`);
  const target = disks[to];
  if (target?.mountPoint !== 'store_migration_target')
    throw new AgentFailure('bad_request', `migrate_disk: disk '${to}' is not mounted at store_migration_target/`);
  const entries = readdirSync(layout.storeDir);
  const dest = join(layout.root, 'store_migration_target');
  for (const name of entries)
    cpSync(join(layout.storeDir, name), join(dest, name), {
      recursive: true,
      force: true,
      preserveTimestamps: true,
      verbatimSymlinks: true,
    });
  release(layout, from, source);
  if (target.device !== undefined) {
    release(layout, to, target);
    mkdirSync(layout.storeDir, { recursive: true });
    run(`migrate_disk: mounting disk '${to}' at store/`, 'mount', [target.device, layout.storeDir]);
    saveDisks(layout, { [to]: { path: 'store', mountPoint: 'store', device: target.device } });
  } else {
    renameSync(dest, layout.storeDir);
    saveDisks(layout, { [to]: { path: target.path, mountPoint: 'store' } });
  }
  return { copiedEntries: entries.length };
}
