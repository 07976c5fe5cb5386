import { randomInt } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findProcesses, terminateAll } from '../cpi/local/processes.js';

/**
 * A private place for a bench's local VMs: a temp folder and a random loopback /24 and SSH port,
 * so a bench never meets the tests or environments other people run on this machine.
 */
export interface Sandbox {
  readonly dir: string;
  /** The local CPI's root (`<dir>/local`): every process it starts carries it in DIRECTOR_CPI_ROOT. */
  readonly root: string;
  /** `127.a.b` — append `.N` for an address. */
  readonly net: string;
  readonly sshPort: number;
  /** Stops what is left of the local CPI's processes (VM hosts, agents, jobs, proxies) and removes the folder. */
  cleanup(): Promise<void>;
}

export async function openSandbox(prefix: string): Promise<Sandbox> {
  const dir = await mkdtemp(join(tmpdir(), `${prefix}-`));
  const net = `127.${randomInt(100, 250)}.${randomInt(1, 250)}`;
  const sshPort = randomInt(20_000, 40_000);
  const root = join(dir, 'local');
  const killAll = (graceMs: number) => terminateAll(() => findProcesses('DIRECTOR_CPI_ROOT', root), graceMs);
  // Interrupted (Ctrl-C), the bench still leaves nothing running: every VM, agent and job
  // process of the sandbox carries DIRECTOR_CPI_ROOT under `dir`.
  const onSignal = (signal: NodeJS.Signals): void => {
    void killAll(500)
      .catch(() => undefined)
      .then(() => rm(dir, { recursive: true, force: true }))
      .finally(() => process.kill(process.pid, signal));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  return {
    dir,
    net,
    root,
    sshPort,
    cleanup: async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await killAll(1500);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** The resident set size of a live process in KiB (VmRSS in /proc/<pid>/status). */
export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+)\s+kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  if (!m) throw new Error(`process ${pid} reports no VmRSS`);
  return Number(m[1]);
}

/** The median of some numbers. */
export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

/** VmRSS once the process has settled (two reads 250 ms apart within 2%, at most 5 s). */
export async function settledRssKb(pid: number): Promise<number> {
  let last = rssKb(pid);
  for (let i = 0; i < 20; i++) {
    await new Promise((r) => setTimeout(r, 250));
    const now = rssKb(pid);
    if (Math.abs(now - last) <= last * 0.02) return now;
    last = now;
  }
  return last;
}
