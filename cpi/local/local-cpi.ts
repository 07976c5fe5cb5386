import { randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { cp, mkdir, readdir, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { isIPv4 } from 'node:net';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type {
  CloudProperties,
  CpiInfo,
  CreatedVm,
  Cpi,
  DiskHint,
  NetworkSettings,
  Networks,
  VmEnv,
} from '../contract.js';
import type { CpiMethod } from '../cpi-error.js';
import type { LocalCpiConfig } from './config.js';
import { runsEntry, spawnDetached } from './detached.js';
import { LocalFault, notFound, toCpiError } from './error-mapper.js';
import { readJson, writeJson } from './json-file.js';
import { diskMountPath, LocalLayout } from './layout.js';
import type { DiskRecord, HostRecord, SnapshotRecord, StemcellRecord, VmRecord } from './layout.js';
import { LocalLoadBalancers, logTail } from './load-balancers.js';
import { cmdlineOf, findProcesses, isAlive, terminateAll } from './processes.js';
import type { ProcEntry } from './processes.js';
import { checkVmEnv } from '../vm-env.js';

export interface LocalCpiOptions {
  /** Tags stemcells (VMs and disks are tagged from the VM env). */
  readonly directorUuid?: string;
  /** PATH of VM hosts and load balancer proxies (node's own folder is always prepended on VMs). */
  readonly path?: string;
  /** How long a VM host or proxy may take to listen. Default 20 s. */
  readonly readyTimeoutMs?: number;
  /**
   * A network namespace (`ip netns`) the VM hosts and load balancer proxies run in, where their
   * addresses exist: any IPv4 address then, not loopback only (a test world's virtual network).
   */
  readonly netns?: string;
}

const isPlainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown): string => (typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v)));
const invalid = (message: string): LocalFault => new LocalFault('InvalidCloudProperties', message);
const isLoopback = (ip: string): boolean => isIPv4(ip) && ip.startsWith('127.');

let ipLock: Promise<unknown> = Promise.resolve();
const diskLocks = new Map<string, Promise<unknown>>();

async function serialized<T>(work: () => Promise<T>): Promise<T> {
  const run = ipLock.then(work, work);
  ipLock = run.catch(() => undefined);
  return run;
}

async function perDisk<T>(cid: string, work: () => Promise<T>): Promise<T> {
  const run = (diskLocks.get(cid) ?? Promise.resolve()).then(work, work);
  const tail = run.catch(() => undefined);
  diskLocks.set(cid, tail);
  try {
    return await run;
  } finally {
    if (diskLocks.get(cid) === tail) diskLocks.delete(cid);
  }
}

/** The load balancer names a VM's cloud properties ask for (`load_balancer`: name or list). */
function loadBalancersOf(cloudProperties: CloudProperties, configured: readonly string[]): string[] {
  const raw = cloudProperties.load_balancer;
  if (raw === undefined || raw === null) return [];
  const names = Array.isArray(raw) ? raw : [raw];
  return names.map((n, i) => {
    const at = Array.isArray(raw) ? `load_balancer[${i}]` : 'load_balancer';
    if (typeof n !== 'string') throw invalid(`cloud_properties.${at} must be a load balancer name, found ${show(n)}`);
    if (!configured.includes(n)) {
      const known =
        configured.length === 0 ? 'none configured' : `configured: ${configured.map((c) => `'${c}'`).join(', ')}`;
      throw invalid(`cloud_properties.${at}: load balancer '${n}' is not in the CPI config (${known})`);
    }
    return n;
  });
}

/**
 * The embedded local CPI: a VM is a detached `vm-host` process with its own loopback IP and SSH
 * server, a disk is a folder, a load balancer a detached TCP proxy. See ./layout.ts for the
 * files it keeps under `root`.
 */
export class LocalCpi implements Cpi {
  private readonly layout: LocalLayout;
  private readonly lbs: LocalLoadBalancers;
  private readonly baseEnv: Readonly<Record<string, string>>;
  private readonly readyTimeoutMs: number;

  private readonly config: LocalCpiConfig;

  constructor(
    config: LocalCpiConfig,
    private readonly options: LocalCpiOptions = {},
  ) {
    this.config = { ...config, root: resolve(config.root) };
    this.layout = new LocalLayout(this.config.root);
    this.readyTimeoutMs = options.readyTimeoutMs ?? 20_000;
    this.baseEnv = { PATH: options.path ?? '/usr/local/bin:/usr/bin:/bin', DIRECTOR_CPI_ROOT: this.config.root };
    this.lbs = new LocalLoadBalancers(
      this.layout,
      config.load_balancers,
      this.baseEnv,
      this.readyTimeoutMs,
      options.netns,
    );
  }

  private async call<T>(method: CpiMethod, work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (err) {
      throw toCpiError(method, err);
    }
  }

  info(): Promise<CpiInfo> {
    return this.call('info', async () => ({
      api_version: 2,
      stemcell_formats: ['local', 'warden-tar', 'general-tar'],
    }));
  }

  createStemcell(imagePath: string, cloudProperties: CloudProperties): Promise<string> {
    return this.call('create_stemcell', async () => {
      if (!isPlainObject(cloudProperties))
        throw invalid(`cloud_properties must be a map, found ${show(cloudProperties)}`);
      const { name, version } = cloudProperties;
      const os = cloudProperties.os ?? cloudProperties.operating_system ?? 'local';
      if (typeof name !== 'string' || name === '')
        throw invalid(`cloud_properties.name must be the stemcell name, found ${show(name)}`);
      if (typeof version !== 'string' && typeof version !== 'number')
        throw invalid(`cloud_properties.version must be the stemcell version, found ${show(version)}`);
      if (typeof os !== 'string') throw invalid(`cloud_properties.os must be a string, found ${show(os)}`);
      const cid = `sc-${randomUUID()}`;
      const record: StemcellRecord = {
        cid,
        name,
        version: String(version),
        os,
        image_path: imagePath,
        tags: this.options.directorUuid === undefined ? {} : { director: this.options.directorUuid },
        created_at: new Date().toISOString(),
      };
      await mkdir(this.layout.stemcells(), { recursive: true });
      await writeJson(join(this.layout.stemcells(), `${cid}.json`), record);
      return cid;
    });
  }

  deleteStemcell(stemcellCid: string): Promise<void> {
    return this.call('delete_stemcell', async () => {
      await rm(join(this.layout.stemcells(), `${safeCid(stemcellCid)}.json`), { force: true });
    });
  }

  /** The recorded stemcells (for `stemcells` listings and orphan checks). */
  async listStemcells(): Promise<StemcellRecord[]> {
    return this.readAll<StemcellRecord>(this.layout.stemcells(), (f) => (f.endsWith('.json') ? f : undefined));
  }

  createVm(
    agentId: string,
    stemcellCid: string,
    cloudProperties: CloudProperties,
    networks: Networks,
    diskCids: readonly string[],
    env: VmEnv,
  ): Promise<CreatedVm> {
    return this.call('create_vm', async () => {
      if ((await readJson(join(this.layout.stemcells(), `${safeCid(stemcellCid)}.json`))) === undefined)
        throw notFound('stemcell', stemcellCid);
      if (!isPlainObject(cloudProperties))
        throw invalid(`cloud_properties must be a map, found ${show(cloudProperties)}`);
      const lbNames = loadBalancersOf(cloudProperties, this.lbs.names());
      const { tags, authorizedKeys } = checkVmEnv(env, agentId);
      if (!isPlainObject(networks) || Object.keys(networks).length === 0)
        throw invalid('networks must name at least one network');

      const cid = `vm-${randomUUID()}`;
      const vmDir = this.layout.vmDir(cid);
      const { record, assigned } = await serialized(async () => {
        const taken = new Map((await this.listVms()).flatMap((vm) => vm.ips.map((ip) => [ip, vm.cid] as const)));
        const assigned: Record<string, NetworkSettings> = {};
        const ips: string[] = [];
        for (const [name, net] of Object.entries(networks)) {
          if (!isPlainObject(net)) throw invalid(`networks.${name} must be a map, found ${show(net)}`);
          if (net.type === 'vip') {
            assigned[name] = net;
            continue;
          }
          let ip = net.ip;
          if (net.type === 'dynamic' && ip === undefined) ip = freeLoopbackIp(taken, ips);
          if (typeof ip !== 'string' || !(this.options.netns === undefined ? isLoopback(ip) : isIPv4(ip))) {
            throw invalid(`networks.${name}.ip must be a static IP in 127.0.0.0/8 for a local VM, found ${show(ip)}`);
          }
          const holder = taken.get(ip);
          if (holder !== undefined || ips.includes(ip)) {
            throw new LocalFault(
              'VmCreationFailed',
              `networks.${name}.ip ${ip} is already used by VM '${holder ?? cid}'`,
              undefined,
              false,
            );
          }
          ips.push(ip);
          assigned[name] = { ...net, ip };
        }
        if (ips.length === 0) throw invalid('networks: a local VM needs at least one manual or dynamic network');
        const record: VmRecord = {
          cid,
          agent_id: agentId,
          stemcell: stemcellCid,
          ips,
          ssh_port: this.config.ssh_port,
          networks: assigned,
          cloud_properties: cloudProperties,
          load_balancers: lbNames,
          disk_locality: [...diskCids],
          tags,
          metadata: {},
          created_at: new Date().toISOString(),
        };
        await mkdir(join(vmDir, 'root', 'store-disks'), { recursive: true });
        await writeJson(join(vmDir, 'vm.json'), record); // claims the IPs
        return { record, assigned };
      });

      try {
        await writeFile(join(vmDir, 'ssh_host_key'), env.ssh.hostPrivateKey, { mode: 0o600 });
        await writeFile(join(vmDir, 'authorized_keys'), authorizedKeys.join('\n') + '\n', { mode: 0o600 });
        await mkdir(join(vmDir, 'root', 'bosh'), { recursive: true });
        await this.writeAgentSettings(record, env, {});
        await this.startHost(record);
        for (const lb of lbNames) await this.lbs.addMember(lb, { vm: cid, ip: record.ips[0] as string });
      } catch (err) {
        await this.destroyVm(cid).catch(() => undefined);
        throw err;
      }
      const changed = JSON.stringify(assigned) !== JSON.stringify(networks);
      return changed ? { vmCid: cid, networks: assigned } : { vmCid: cid };
    });
  }

  deleteVm(vmCid: string): Promise<void> {
    return this.call('delete_vm', () => this.destroyVm(vmCid));
  }

  hasVm(vmCid: string): Promise<boolean> {
    return this.call('has_vm', async () => {
      if (!isCid(vmCid)) return false;
      const vmDir = this.layout.vmDir(safeCid(vmCid));
      if (!existsSync(join(vmDir, 'vm.json'))) return false;
      return this.hostPid(vmCid) !== undefined;
    });
  }

  rebootVm(vmCid: string): Promise<void> {
    return this.call('reboot_vm', async () => {
      const vm = await this.vm(vmCid);
      await this.stopVmProcesses(vm.cid);
      await this.startHost(vm);
      // back in its pools (and a proxy that died meanwhile runs again)
      for (const lb of vm.load_balancers.filter((n) => this.lbs.names().includes(n)))
        await this.lbs.addMember(lb, { vm: vm.cid, ip: vm.ips[0] as string });
    });
  }

  setVmMetadata(vmCid: string, metadata: Readonly<Record<string, string>>): Promise<void> {
    return this.call('set_vm_metadata', async () => {
      if (!isPlainObject(metadata)) throw invalid(`metadata must be a map of strings, found ${show(metadata)}`);
      await serialized(async () => {
        const vm = await this.vm(vmCid);
        const merged = {
          ...vm.metadata,
          ...Object.fromEntries(Object.entries(metadata).map(([k, v]) => [k, String(v)])),
        };
        await writeJson(join(this.layout.vmDir(vm.cid), 'vm.json'), { ...vm, metadata: merged });
      });
    });
  }

  createDisk(sizeMiB: number, cloudProperties: CloudProperties, vmCid?: string): Promise<string> {
    return this.call('create_disk', async () => {
      if (!Number.isInteger(sizeMiB) || sizeMiB <= 0)
        throw invalid(`size must be a positive whole number of MiB, found ${show(sizeMiB)}`);
      if (!isPlainObject(cloudProperties))
        throw invalid(`cloud_properties must be a map, found ${show(cloudProperties)}`);
      const vm = vmCid === undefined || vmCid === null ? undefined : await this.vm(vmCid);
      const cid = `disk-${randomUUID()}`;
      const dir = this.layout.diskDir(cid);
      try {
        await mkdir(join(dir, 'data'), { recursive: true });
        const record: DiskRecord = {
          cid,
          size_mib: sizeMiB,
          cloud_properties: cloudProperties,
          vm: null,
          tags: vm === undefined ? {} : { ...vm.tags },
          created_at: new Date().toISOString(),
        };
        await writeJson(join(dir, 'disk.json'), record);
      } catch (err) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      return cid;
    });
  }

  deleteDisk(diskCid: string): Promise<void> {
    return this.call('delete_disk', () =>
      perDisk(diskCid, async () => {
        const disk = await this.diskOrUndefined(diskCid);
        if (disk === undefined) return;
        if (disk.vm !== null && existsSync(join(this.layout.vmDir(disk.vm), 'vm.json'))) {
          throw new LocalFault('Unknown', `Disk '${diskCid}' is attached to VM '${disk.vm}'`);
        }
        await rm(this.layout.diskDir(disk.cid), { recursive: true, force: true });
      }),
    );
  }

  attachDisk(vmCid: string, diskCid: string): Promise<DiskHint> {
    return this.call('attach_disk', () =>
      perDisk(diskCid, async () => {
        const vm = await this.vm(vmCid);
        const disk = await this.disk(diskCid);
        const hint = { path: diskMountPath(disk.cid) };
        if (disk.vm === vm.cid) return hint;
        if (disk.vm !== null && existsSync(join(this.layout.vmDir(disk.vm), 'vm.json'))) {
          throw new LocalFault('Unknown', `Disk '${diskCid}' is already attached to VM '${disk.vm}'`);
        }
        const link = join(this.layout.vmRoot(vm.cid), hint.path);
        await rm(link, { force: true });
        await symlink(join(this.layout.diskDir(disk.cid), 'data'), link);
        try {
          await writeJson(join(this.layout.diskDir(disk.cid), 'disk.json'), { ...disk, vm: vm.cid });
          await this.updatePersistentSettings(vm.cid);
        } catch (err) {
          await unlink(link).catch(() => undefined);
          await writeJson(join(this.layout.diskDir(disk.cid), 'disk.json'), disk).catch(() => undefined);
          throw err;
        }
        return hint;
      }),
    );
  }

  detachDisk(vmCid: string, diskCid: string): Promise<void> {
    return this.call('detach_disk', () =>
      perDisk(diskCid, async () => {
        const vm = await this.vm(vmCid);
        const disk = await this.disk(diskCid);
        if (disk.vm !== vm.cid)
          throw new LocalFault('DiskNotAttached', `Disk '${diskCid}' is not attached to VM '${vmCid}'`, 'disk');
        await rm(join(this.layout.vmRoot(vm.cid), diskMountPath(disk.cid)), { force: true });
        await writeJson(join(this.layout.diskDir(disk.cid), 'disk.json'), { ...disk, vm: null });
        await this.updatePersistentSettings(vm.cid);
      }),
    );
  }

  hasDisk(diskCid: string): Promise<boolean> {
    return this.call('has_disk', async () => isCid(diskCid) && (await this.diskOrUndefined(diskCid)) !== undefined);
  }

  getDisks(vmCid: string): Promise<readonly string[]> {
    return this.call('get_disks', async () => {
      const vm = await this.vm(vmCid);
      return (await this.listDisks()).filter((d) => d.vm === vm.cid).map((d) => d.cid);
    });
  }

  resizeDisk(diskCid: string, newSizeMiB: number): Promise<void> {
    return this.call('resize_disk', () =>
      perDisk(diskCid, async () => {
        if (!Number.isInteger(newSizeMiB) || newSizeMiB <= 0)
          throw invalid(`new size must be a positive whole number of MiB, found ${show(newSizeMiB)}`);
        const disk = await this.disk(diskCid);
        if (disk.vm !== null && existsSync(join(this.layout.vmDir(disk.vm), 'vm.json'))) {
          throw new LocalFault(
            'Unknown',
            `Disk '${diskCid}' must be detached to be resized (attached to VM '${disk.vm}')`,
          );
        }
        if (newSizeMiB < disk.size_mib)
          throw new LocalFault(
            'Unknown',
            `Disk '${diskCid}' cannot shrink from ${disk.size_mib} MiB to ${newSizeMiB} MiB`,
          );
        if (newSizeMiB === disk.size_mib) return;
        await writeJson(join(this.layout.diskDir(disk.cid), 'disk.json'), { ...disk, size_mib: newSizeMiB });
      }),
    );
  }

  snapshotDisk(diskCid: string, metadata: Readonly<Record<string, string>>): Promise<string> {
    return this.call('snapshot_disk', () =>
      perDisk(diskCid, async () => {
        const disk = await this.disk(diskCid);
        const cid = `snap-${randomUUID()}`;
        const dir = this.layout.snapshotDir(cid);
        try {
          await mkdir(dir, { recursive: true });
          await cp(join(this.layout.diskDir(disk.cid), 'data'), join(dir, 'data'), {
            recursive: true,
            verbatimSymlinks: true,
          });
          const record: SnapshotRecord = {
            cid,
            disk: disk.cid,
            size_mib: disk.size_mib,
            metadata: { ...disk.tags, ...(isPlainObject(metadata) ? metadata : {}) },
            created_at: new Date().toISOString(),
          };
          await writeJson(join(dir, 'snapshot.json'), record);
        } catch (err) {
          await rm(dir, { recursive: true, force: true });
          throw err;
        }
        return cid;
      }),
    );
  }

  deleteSnapshot(snapshotCid: string): Promise<void> {
    return this.call('delete_snapshot', async () => {
      await rm(this.layout.snapshotDir(safeCid(snapshotCid)), { recursive: true, force: true });
    });
  }

  /** Stops every load balancer proxy and forgets the pools (used by delete-env). */
  async deleteLoadBalancers(): Promise<void> {
    try {
      await this.lbs.deleteAll();
    } catch (err) {
      throw toCpiError('delete_vm', err);
    }
  }

  /** The recorded VMs, running or not (orphan checks, delete-env). */
  async listVms(): Promise<VmRecord[]> {
    return this.readAll<VmRecord>(this.layout.vms(), (f) => join(f, 'vm.json'));
  }

  /** The recorded disks. */
  async listDisks(): Promise<DiskRecord[]> {
    return this.readAll<DiskRecord>(this.layout.disks(), (f) => join(f, 'disk.json'));
  }

  /** The recorded snapshots. */
  async listSnapshots(): Promise<SnapshotRecord[]> {
    return this.readAll<SnapshotRecord>(join(this.config.root, 'snapshots'), (f) => join(f, 'snapshot.json'));
  }

  /** A VM's record, tags and metadata included. */
  async vmRecord(vmCid: string): Promise<VmRecord | undefined> {
    return readJson<VmRecord>(join(this.layout.vmDir(safeCid(vmCid)), 'vm.json'));
  }

  /** A disk's record (size, attachment, tags). */
  async diskRecord(diskCid: string): Promise<DiskRecord | undefined> {
    return this.diskOrUndefined(diskCid);
  }

  /** The pid of a VM's host process if it runs, else undefined. */
  hostPid(vmCid: string): number | undefined {
    const vmDir = this.layout.vmDir(safeCid(vmCid));
    try {
      const host = JSON.parse(readFileSync(join(vmDir, 'host.json'), 'utf8')) as HostRecord;
      return isAlive(host.pid) && runsEntry(cmdlineOf(host.pid), 'vm-host', vmDir) ? host.pid : undefined;
    } catch {
      return undefined;
    }
  }

  private async readAll<T>(dir: string, file: (entry: string) => string | undefined): Promise<T[]> {
    let entries: string[];
    try {
      entries = await readdir(dir);
    } catch {
      return [];
    }
    const out: T[] = [];
    for (const entry of entries) {
      const f = file(entry);
      if (f === undefined) continue;
      const rec = await readJson<T>(join(dir, f)).catch(() => undefined);
      if (rec !== undefined) out.push(rec);
    }
    return out;
  }

  private async vm(vmCid: string): Promise<VmRecord> {
    const vm = await this.vmRecord(vmCid);
    if (vm === undefined) throw notFound('vm', vmCid);
    return vm;
  }

  private async diskOrUndefined(diskCid: string): Promise<DiskRecord | undefined> {
    return readJson<DiskRecord>(join(this.layout.diskDir(safeCid(diskCid)), 'disk.json'));
  }

  private async disk(diskCid: string): Promise<DiskRecord> {
    const disk = await this.diskOrUndefined(diskCid);
    if (disk === undefined) throw notFound('disk', diskCid);
    return disk;
  }

  private async startHost(vm: VmRecord): Promise<void> {
    const vmDir = this.layout.vmDir(vm.cid);
    await rm(join(vmDir, 'host.json'), { force: true });
    const proc = spawnDetached('vm-host', [vmDir], {
      logFile: join(vmDir, 'host.log'),
      cwd: vmDir,
      env: { ...this.baseEnv, DIRECTOR_VM_ID: vm.cid },
      ...(this.options.netns === undefined ? {} : { netns: this.options.netns }),
    });
    let exitCode: number | null | undefined;
    void proc.exited.then((code) => {
      exitCode = code;
    });
    try {
      const deadline = Date.now() + this.readyTimeoutMs;
      while (!existsSync(join(vmDir, 'host.json'))) {
        if (exitCode !== undefined)
          throw new Error(`VM host exited (code ${exitCode}): ${await logTail(join(vmDir, 'host.log'), 3)}`);
        if (Date.now() > deadline)
          throw new LocalFault(
            'VmCreationFailed',
            `VM host did not listen within ${this.readyTimeoutMs} ms`,
            undefined,
            true,
          );
        await sleep(10);
      }
    } finally {
      proc.release();
    }
  }

  /** Every process of a VM: its host's session and anything carrying DIRECTOR_VM_ID. */
  private vmProcesses(vmCid: string, hostPid: number | undefined): ProcEntry[] {
    return findProcesses('DIRECTOR_VM_ID', vmCid, hostPid === undefined ? [] : [hostPid]);
  }

  private async stopVmProcesses(vmCid: string): Promise<void> {
    const hostPid = this.hostPid(vmCid);
    await terminateAll(() => this.vmProcesses(vmCid, hostPid));
  }

  private async destroyVm(vmCid: string): Promise<void> {
    const cid = safeCid(vmCid);
    await this.lbs.removeMember(cid);
    await this.stopVmProcesses(cid);
    for (const disk of await this.listDisks()) {
      if (disk.vm === cid) {
        await perDisk(disk.cid, () =>
          writeJson(join(this.layout.diskDir(disk.cid), 'disk.json'), { ...disk, vm: null }),
        );
      }
    }
    await rm(this.layout.vmDir(cid), { recursive: true, force: true });
  }

  private async writeAgentSettings(
    vm: VmRecord,
    env: VmEnv | undefined,
    persistent: Record<string, DiskHint>,
  ): Promise<void> {
    const file = join(this.layout.vmRoot(vm.cid), 'bosh', 'settings.json');
    const old = await readJson<{ env?: unknown }>(file);
    await writeJson(file, {
      agent_id: vm.agent_id,
      vm: { name: vm.cid },
      networks: vm.networks,
      disks: { system: '', ephemeral: null, persistent },
      env: env?.bosh ?? old?.env ?? {},
    });
  }

  private async updatePersistentSettings(vmCid: string): Promise<void> {
    const vm = await this.vm(vmCid);
    const persistent: Record<string, DiskHint> = {};
    for (const d of await this.listDisks()) if (d.vm === vm.cid) persistent[d.cid] = { path: diskMountPath(d.cid) };
    await this.writeAgentSettings(vm, undefined, persistent);
  }
}

const isCid = (cid: unknown): cid is string => typeof cid === 'string' && /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(cid);

/** A cid never names a path outside its folder. */
function safeCid(cid: string): string {
  if (!isCid(cid)) throw new LocalFault('NotFound', `Malformed cid ${show(cid)}`);
  return cid;
}

/** A free address in 127.100.0.0/16 for a dynamic network. */
function freeLoopbackIp(taken: ReadonlyMap<string, string>, also: readonly string[]): string {
  for (let i = 1; i < 65535; i++) {
    const ip = `127.100.${i >> 8}.${i & 255}`;
    if ((i & 255) !== 0 && (i & 255) !== 255 && !taken.has(ip) && !also.includes(ip)) return ip;
  }
  throw new LocalFault('VmCreationFailed', 'no free address left in 127.100.0.0/16', undefined, false);
}
