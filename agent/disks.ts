// Persistent disks. On a local VM the CPI's hint is a folder under the root (store-disks/<cid>)
// and mounting makes it visible at <root>/store. A device hint (a real VM) would need mkfs and
// mount(8) as root; this agent reports it as unsupported.
import { existsSync, lstatSync, mkdirSync, readdirSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { resolve, sep } from 'node:path';
import { AgentFailure } from './failure.js';
import { readJsonFile, replaceSymlink, writeFileAtomic } from './files.js';
import type { AgentLayout } from './layout.js';
import type { MountDiskRequest, MountDiskValue, UnmountDiskRequest, UnmountDiskValue } from './protocol.js';

type DisksFile = Record<string, { readonly path: string }>;

export function mountedDisks(layout: AgentLayout): DisksFile {
  return readJsonFile<DisksFile>(layout.disksFile) ?? {};
}

export function mountDisk(layout: AgentLayout, req: MountDiskRequest): MountDiskValue {
  if (typeof req?.diskCid !== 'string' || req.diskCid === '') throw new AgentFailure('bad_request', 'mount_disk: diskCid is required');
  const hint = req.hint ?? {};
  if (typeof hint.device === 'string' && hint.path === undefined) {
    throw new AgentFailure('unsupported', `mount_disk: disk '${req.diskCid}' has a device hint; this agent mounts folder disks only`);
  }
  if (typeof hint.path !== 'string' || hint.path === '') throw new AgentFailure('bad_request', `mount_disk: disk '${req.diskCid}': hint.path is required`);
  const abs = resolve(layout.root, hint.path);
  if (!abs.startsWith(layout.root + sep)) throw new AgentFailure('bad_request', `mount_disk: hint path '${hint.path}' is outside the agent root`);
  let isDir = false;
  try {
    isDir = statSync(abs).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new AgentFailure('not_found', `mount_disk: disk '${req.diskCid}' is not attached (no folder at '${hint.path}')`);
  const disks = mountedDisks(layout);
  const target = abs.slice(layout.root.length + 1);
  const others = Object.keys(disks).filter((cid) => cid !== req.diskCid);
  if (others.length > 0) throw new AgentFailure('bad_request', `mount_disk: disk '${others[0]}' is already mounted at store/; unmount it first`);
  let current: string | undefined;
  try {
    const st = lstatSync(layout.storeDir);
    if (st.isSymbolicLink()) current = readlinkSync(layout.storeDir);
    else if (st.isDirectory()) {
      if (readdirSync(layout.storeDir).length > 0) throw new AgentFailure('bad_request', 'mount_disk: store/ is a non-empty folder; refusing to hide its content');
      rmSync(layout.storeDir, { recursive: true });
    }
  } catch (err) {
    if (err instanceof AgentFailure) throw err;
  }
  const already = current === target && disks[req.diskCid] !== undefined;
  replaceSymlink(target, layout.storeDir);
  writeFileAtomic(layout.disksFile, JSON.stringify({ [req.diskCid]: { path: target } }));
  return { mountPoint: layout.storeDir, alreadyMounted: already };
}

export function unmountDisk(layout: AgentLayout, req: UnmountDiskRequest): UnmountDiskValue {
  if (typeof req?.diskCid !== 'string' || req.diskCid === '') throw new AgentFailure('bad_request', 'unmount_disk: diskCid is required');
  const disks = mountedDisks(layout);
  if (disks[req.diskCid] === undefined) return { unmounted: false };
  try {
    if (lstatSync(layout.storeDir).isSymbolicLink()) rmSync(layout.storeDir);
  } catch {
    // already gone
  }
  if (!existsSync(layout.storeDir)) mkdirSync(layout.storeDir, { recursive: true });
  const rest = { ...disks };
  delete rest[req.diskCid];
  writeFileAtomic(layout.disksFile, JSON.stringify(rest));
  return { unmounted: true };
}
