import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { LockHolder } from './records.js';

/** What the lock table needs to know about processes on this host. */
export interface ProcessProbe {
  /** This process, as it records itself in a lock. */
  self(): LockHolder;
  /**
   * Whether the process `holder` names is still running on this host: `false` when the pid is
   * gone, a zombie, or now belongs to a process started at another time (a reused pid). Only
   * meaningful when `holder.hostname` is this host's name.
   */
  isAlive(holder: LockHolder): boolean;
}

/** The probe for Linux-like hosts: `kill(pid, 0)` plus `/proc/<pid>/stat` when there is one. */
export function systemProcessProbe(): ProcessProbe {
  const host = hostname();
  const hasProcfs = readStat(process.pid) !== undefined;
  const user = currentUser();
  return {
    self: () => ({
      pid: process.pid,
      hostname: host,
      processStart: processStartTime(process.pid),
      ...(user !== undefined ? { user } : {}),
    }),
    isAlive: (holder) => {
      if (!signalable(holder.pid)) return false;
      const stat = readStat(holder.pid);
      if (stat === undefined) return !hasProcfs; // without procfs, kill(0) is all we can know
      if (stat.state === 'Z' || stat.state === 'X') return false;
      return holder.processStart === null || stat.startTime === holder.processStart;
    },
  };
}

/** The login name of this process's user; undefined when the system has none for its uid. */
function currentUser(): string | undefined {
  try {
    return userInfo().username;
  } catch {
    return undefined;
  }
}

/** Field 22 (starttime, clock ticks after boot) of /proc/<pid>/stat, or null without procfs. */
export function processStartTime(pid: number): string | null {
  return readStat(pid)?.startTime ?? null;
}

function signalable(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function readStat(pid: number): { state: string; startTime: string } | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // "pid (comm) state ppid ..." where comm may hold spaces and parentheses: split after the last ')'.
  const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
  // rest[0] is field 3 (state), so field n is rest[n - 3].
  const state = rest[0];
  const startTime = rest[22 - 3];
  if (state === undefined || startTime === undefined) return undefined;
  return { state, startTime };
}
