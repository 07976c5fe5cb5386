// Persistent disks. On a local VM the CPI's hint is a folder under the root (store-disks/<cid>)
// and mounting makes it visible at <root>/store — or at <root>/store_migration_target while
// another disk is at store/, so that migrate_disk can copy the data across, as bosh-agent does.
// A device hint (a real VM) would need mkfs and mount(8) as root; it is reported unsupported.
import { cpSync, existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve, sep } from 'node:path';
import { AgentFailure } from './failure.js';
import { readJsonFile, replaceSymlink, writeFileAtomic } from './files.js';
import type { AgentLayout } from './layout.js';
import type { MigrateDiskRequest, MigrateDiskValue, MountDiskRequest, MountDiskValue, UnmountDiskRequest, UnmountDiskValue } from './protocol.js';

type MountPoint = 'store' | 'store_migration_target';
type DisksFile = Record<string, { readonly path: string; readonly mountPoint: MountPoint }>;

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

/** Makes `mountPoint` an (empty) folder again; refuses to hide a non-empty real folder. */
function clearMountPoint(layout: AgentLayout, mountPoint: MountPoint): string | undefined {
  const dir = join(layout.root, mountPoint);
  let st;
  try {
    st = lstatSync(dir);
  } catch {
    return undefined;
  }
  if (st.isSymbolicLink()) return readlinkSync(dir);
  if (st.isDirectory()) {
    if (readdirSync(dir).length > 0) throw new AgentFailure('bad_request', `mount_disk: ${mountPoint}/ is a non-empty folder; refusing to hide its content`);
    rmSync(dir, { recursive: true });
  }
  return undefined;
}

export function mountDisk(layout: AgentLayout, req: MountDiskRequest): MountDiskValue {
  const cid = requireCid('mount_disk: diskCid', req?.diskCid);
  const hint = req.hint ?? {};
  if (typeof hint.device === 'string' && hint.path === undefined) {
    throw new AgentFailure('unsupported', `mount_disk: disk '${cid}' has a device hint; this agent mounts folder disks only`);
  }
  if (typeof hint.path !== 'string' || hint.path === '') throw new AgentFailure('bad_request', `mount_disk: disk '${cid}': hint.path is required`);
  const abs = resolve(layout.root, hint.path);
  if (!abs.startsWith(layout.root + sep)) throw new AgentFailure('bad_request', `mount_disk: hint path '${hint.path}' is outside the agent root`);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new AgentFailure('not_found', `mount_disk: disk '${cid}' is not attached (no folder at '${hint.path}')`);
  const target = abs.slice(layout.root.length + 1);
  const disks = mountedDisks(layout);
  const mine = disks[cid];
  if (mine !== undefined && mine.path === target) {
    const link = join(layout.root, mine.mountPoint);
    if (existsSync(link) && lstatSync(link).isSymbolicLink() && readlinkSync(link) === target) return { mountPoint: mine.mountPoint, alreadyMounted: true };
  }
  const taken = new Set(Object.entries(disks).filter(([c]) => c !== cid).map(([, d]) => d.mountPoint));
  const mountPoint: MountPoint | undefined = !taken.has('store') ? 'store' : !taken.has('store_migration_target') ? 'store_migration_target' : undefined;
  if (mountPoint === undefined) throw new AgentFailure('bad_request', `mount_disk: two disks are mounted already (${Object.keys(disks).join(', ')}); unmount one first`);
  clearMountPoint(layout, mountPoint);
  replaceSymlink(target, join(layout.root, mountPoint));
  saveDisks(layout, { ...disks, [cid]: { path: target, mountPoint } });
  return { mountPoint, alreadyMounted: false };
}

export function unmountDisk(layout: AgentLayout, req: UnmountDiskRequest): UnmountDiskValue {
  const cid = requireCid('unmount_disk: diskCid', req?.diskCid);
  const disks = mountedDisks(layout);
  const disk = disks[cid];
  if (disk === undefined) return { unmounted: false };
  const link = join(layout.root, disk.mountPoint);
  try {
    if (lstatSync(link).isSymbolicLink()) rmSync(link);
  } catch {
    // already gone
  }
  if (disk.mountPoint === 'store' && !existsSync(link)) mkdirSync(link, { recursive: true });
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
  if (disks[from]?.mountPoint !== 'store') throw new AgentFailure('bad_request', `migrate_disk: disk '${from}' is not mounted at store/`);
  const target = disks[to];
  if (target?.mountPoint !== 'store_migration_target') throw new AgentFailure('bad_request', `migrate_disk: disk '${to}' is not mounted at store_migration_target/`);
  const entries = readdirSync(layout.storeDir);
  const dest = join(layout.root, 'store_migration_target');
  for (const name of entries) cpSync(join(layout.storeDir, name), join(dest, name), { recursive: true, force: true, preserveTimestamps: true, verbatimSymlinks: true });
  rmSync(layout.storeDir);
  renameSync(dest, layout.storeDir);
  saveDisks(layout, { [to]: { path: target.path, mountPoint: 'store' } });
  return { copiedEntries: entries.length };
}
