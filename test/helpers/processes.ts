import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** A live process found by its environment. */
export interface MarkedProcess {
  readonly pid: number;
  readonly cmdline: string;
}

function environOf(pid: string): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0');
  } catch {
    return undefined;
  }
}

function isZombie(pid: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return /^[ZX]/.test(stat.slice(stat.lastIndexOf(')') + 2));
  } catch {
    return true;
  }
}

/**
 * Live processes whose environment has `name` (with `value`, or any value when omitted), read
 * from /proc/<pid>/environ. Zombies are not processes any more and are skipped.
 */
export function findMarkedProcesses(name: string, value?: string): MarkedProcess[] {
  const found: MarkedProcess[] = [];
  for (const pid of readdirSync('/proc')) {
    if (!/^\d+$/.test(pid) || Number(pid) === process.pid) continue;
    const env = environOf(pid);
    if (env === undefined) continue;
    const hit = value === undefined ? env.some((e) => e.startsWith(`${name}=`)) : env.includes(`${name}=${value}`);
    if (!hit || isZombie(pid)) continue;
    let cmdline = '';
    try {
      cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ').trim();
    } catch {
      continue;
    }
    found.push({ pid: Number(pid), cmdline });
  }
  return found;
}

/** Kills (SIGKILL) every process `findMarkedProcesses(name, value)` finds, until none is left. */
export async function killMarkedProcesses(name: string, value?: string): Promise<number> {
  let killed = 0;
  for (let round = 0; round < 50; round++) {
    const procs = findMarkedProcesses(name, value);
    if (procs.length === 0) return killed;
    for (const p of procs) {
      try {
        process.kill(p.pid, 'SIGKILL');
        killed++;
      } catch {
        // gone already
      }
    }
    await sleep(20);
  }
  throw new Error(`could not kill processes marked ${name}${value === undefined ? '' : `=${value}`}`);
}

/** Whether something accepts TCP connections on host:port. */
export async function isListening(host: string, port: number): Promise<boolean> {
  const { connect } = await import('node:net');
  return new Promise((resolve) => {
    const sock = connect({ host, port });
    sock.once('connect', () => {
      sock.destroy();
      resolve(true);
    });
    sock.once('error', () => resolve(false));
  });
}
