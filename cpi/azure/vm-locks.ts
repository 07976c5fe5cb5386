import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ArmClock } from './arm-requests.js';

/**
 * One operation at a time per VM across processes (two directors' tasks, a deploy and the
 * health monitor): a lock file per VM, made with O_EXCL and holding its owner's pid. A lock
 * whose owner is gone is taken over. ARM itself refuses a second operation on a VM with 409
 * (AnotherOperationInProgress), which the requests wait out too; the lock keeps our own
 * operations from racing for the LUNs and tags they read before they write.
 */
export class VmLocks {
  private readonly dir: string;

  constructor(
    dir: string | undefined,
    private readonly clock: ArmClock,
  ) {
    this.dir = dir ?? join(tmpdir(), 'director-azure-vm-locks');
  }

  private path(key: string): string {
    return join(this.dir, `${createHash('sha256').update(key).digest('hex').slice(0, 32)}.lock`);
  }

  /** Runs `work` holding the lock of `key`. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const path = this.path(key);
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    for (let wait = 20; ; wait = Math.min(wait * 2, 1000)) {
      try {
        writeFileSync(path, String(process.pid), { flag: 'wx', mode: 0o600 });
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
        if (!ownerAlive(path)) {
          rmSync(path, { force: true });
          continue;
        }
        await this.clock.sleep(wait);
      }
    }
    try {
      return await work();
    } finally {
      rmSync(path, { force: true });
    }
  }
}

function ownerAlive(path: string): boolean {
  let pid: number;
  try {
    pid = Number(readFileSync(path, 'utf8'));
  } catch {
    return true; // being written or just removed: look again
  }
  if (!Number.isInteger(pid) || pid <= 0) return false;
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
