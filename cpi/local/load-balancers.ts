import { readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { runsEntry, spawnDetached } from './detached.js';
import { readJson, writeJson } from './json-file.js';
import type { LbConfigRecord, LbMember, LocalLayout } from './layout.js';
import { cmdlineOf, findProcesses, isAlive, terminateAll } from './processes.js';

const locks = new Map<string, Promise<unknown>>();

/** Runs `work` alone for `key` within this process (membership updates are read-modify-write). */
async function exclusive<T>(key: string, work: () => Promise<T>): Promise<T> {
  const before = locks.get(key) ?? Promise.resolve();
  const run = before.then(work, work);
  const tail = run.catch(() => undefined);
  locks.set(key, tail);
  try {
    return await run;
  } finally {
    if (locks.get(key) === tail) locks.delete(key);
  }
}

interface MembersFile {
  readonly version: number;
  readonly members: readonly LbMember[];
}

/**
 * The local load balancers: one detached `lb-proxy` process per load balancer that has members,
 * reading its backend pool from members.json. Membership follows createVm/deleteVm.
 */
export class LocalLoadBalancers {
  constructor(
    private readonly layout: LocalLayout,
    private readonly configs: Readonly<Record<string, Omit<LbConfigRecord, 'name'>>>,
    private readonly env: Readonly<Record<string, string>>,
    private readonly readyTimeoutMs: number,
    private readonly netns?: string,
  ) {}

  /** The configured load balancer names. */
  names(): string[] {
    return Object.keys(this.configs);
  }

  /** The current members of a load balancer's pool. */
  async members(name: string): Promise<readonly LbMember[]> {
    return (await readJson<MembersFile>(join(this.layout.lbDir(name), 'members.json')))?.members ?? [];
  }

  /** Adds a VM to a pool and makes sure the proxy runs and serves the new pool. */
  async addMember(name: string, member: LbMember): Promise<void> {
    const config = this.configs[name];
    if (config === undefined) throw new Error(`load balancer '${name}' is not configured`);
    const dir = this.layout.lbDir(name);
    await exclusive(dir, async () => {
      await mkdir(dir, { recursive: true });
      const record: LbConfigRecord = { name, address: config.address, ports: config.ports };
      const current = await readJson<LbConfigRecord>(join(dir, 'config.json'));
      const changed = JSON.stringify(current) !== JSON.stringify(record);
      if (changed) {
        await this.stopProxy(name);
        await writeJson(join(dir, 'config.json'), record);
      }
      const old = await readJson<MembersFile>(join(dir, 'members.json'));
      const members = [...(old?.members ?? []).filter((m) => m.vm !== member.vm), member];
      const version = (old?.version ?? 0) + 1;
      await writeJson(join(dir, 'members.json'), { version, members });
      if (!this.proxyRunning(name)) await this.startProxy(name);
      await this.waitApplied(name, version);
    });
  }

  /** Removes a VM from every pool; a pool left empty stops its proxy. */
  async removeMember(vmCid: string): Promise<void> {
    for (const name of await this.existing()) {
      const dir = this.layout.lbDir(name);
      await exclusive(dir, async () => {
        const old = await readJson<MembersFile>(join(dir, 'members.json'));
        if (old === undefined || !old.members.some((m) => m.vm === vmCid)) return;
        const members = old.members.filter((m) => m.vm !== vmCid);
        const version = old.version + 1;
        await writeJson(join(dir, 'members.json'), { version, members });
        if (members.length === 0) return this.stopProxy(name);
        if (!this.proxyRunning(name)) await this.startProxy(name); // it died: serve the others again
        await this.waitApplied(name, version);
      });
    }
  }

  /** Stops every proxy and forgets every pool (delete-env). */
  async deleteAll(): Promise<void> {
    for (const name of await this.existing()) {
      const dir = this.layout.lbDir(name);
      await exclusive(dir, async () => {
        await this.stopProxy(name);
        await rm(dir, { recursive: true, force: true });
      });
    }
  }

  /** Whether the proxy of `name` is alive and really that proxy. */
  proxyRunning(name: string): boolean {
    const pid = this.proxyPid(name);
    return pid !== undefined && isAlive(pid) && runsEntry(cmdlineOf(pid), 'lb-proxy', this.layout.lbDir(name));
  }

  private proxyPid(name: string): number | undefined {
    try {
      // sync read: small file, and callers need the answer inside a critical section
      return (JSON.parse(readFileSync(join(this.layout.lbDir(name), 'proxy.json'), 'utf8')) as { pid: number }).pid;
    } catch {
      return undefined;
    }
  }

  private async existing(): Promise<string[]> {
    try {
      return await readdir(this.layout.loadBalancers());
    } catch {
      return [];
    }
  }

  private async startProxy(name: string): Promise<void> {
    const dir = this.layout.lbDir(name);
    await rm(join(dir, 'proxy.json'), { force: true });
    await rm(join(dir, 'applied.json'), { force: true });
    const proc = spawnDetached('lb-proxy', [dir], {
      logFile: join(dir, 'proxy.log'),
      cwd: dir,
      env: { ...this.env, DIRECTOR_LB: name },
      ...(this.netns === undefined ? {} : { netns: this.netns }),
    });
    let exitCode: number | null | undefined;
    void proc.exited.then((code) => {
      exitCode = code;
    });
    try {
      const deadline = Date.now() + this.readyTimeoutMs;
      while ((await readJson(join(dir, 'proxy.json'))) === undefined) {
        if (exitCode !== undefined)
          throw new Error(
            `load balancer '${name}' proxy exited (code ${exitCode}): ${await logTail(join(dir, 'proxy.log'))}`,
          );
        if (Date.now() > deadline)
          throw new Error(`load balancer '${name}' proxy did not start within ${this.readyTimeoutMs} ms`);
        await sleep(10);
      }
    } catch (err) {
      await terminateAll(() => (isAlive(proc.pid) ? [{ pid: proc.pid, sid: proc.pid, pgid: proc.pid }] : []));
      throw err;
    } finally {
      proc.release();
    }
  }

  private async stopProxy(name: string): Promise<void> {
    const dir = this.layout.lbDir(name);
    const pid = this.proxyPid(name);
    await terminateAll(() => {
      const procs = findProcesses('DIRECTOR_LB', name).filter((p) => runsEntry(cmdlineOf(p.pid), 'lb-proxy', dir));
      if (
        pid !== undefined &&
        isAlive(pid) &&
        runsEntry(cmdlineOf(pid), 'lb-proxy', dir) &&
        !procs.some((p) => p.pid === pid)
      ) {
        procs.push({ pid, sid: pid, pgid: pid });
      }
      return procs;
    });
    await rm(join(dir, 'proxy.json'), { force: true });
  }

  private async waitApplied(name: string, version: number): Promise<void> {
    const file = join(this.layout.lbDir(name), 'applied.json');
    const deadline = Date.now() + this.readyTimeoutMs;
    for (;;) {
      const applied = await readJson<{ version: number }>(file);
      if (applied !== undefined && applied.version >= version) return;
      if (!this.proxyRunning(name)) throw new Error(`load balancer '${name}' proxy is not running`);
      if (Date.now() > deadline)
        throw new Error(`load balancer '${name}' did not take its new pool within ${this.readyTimeoutMs} ms`);
      await sleep(10);
    }
  }
}

/** The last lines of a log, for error messages (our processes never log secrets). */
export async function logTail(path: string, lines = 5): Promise<string> {
  try {
    return (await readFile(path, 'utf8')).trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '(no log)';
  }
}
