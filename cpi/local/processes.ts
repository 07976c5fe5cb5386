import { readdirSync, readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';

/** What /proc says about one live (non-zombie) process. */
export interface ProcEntry {
  readonly pid: number;
  readonly sid: number;
  readonly pgid: number;
}

function statOf(pid: number): { state: string; pgid: number; sid: number } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', pgid: Number(rest[2]), sid: Number(rest[3]) };
  } catch {
    return undefined;
  }
}

/** Whether `pid` is a running process (zombies count as gone). */
export function isAlive(pid: number): boolean {
  const st = statOf(pid);
  return st !== undefined && st.state !== 'Z' && st.state !== 'X';
}

/** The argv of a live process, or undefined. */
export function cmdlineOf(pid: number): readonly string[] | undefined {
  try {
    const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return raw.length === 0 ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

function hasEnv(pid: number, entry: string): boolean {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'latin1').split('\0').includes(entry);
  } catch {
    return false;
  }
}

/**
 * Live processes that carry `name=value` in their environment, or belong to one of `sessions`
 * (a process that cleared its environment still cannot leave its session without setsid).
 */
export function findProcesses(name: string, value: string, sessions: readonly number[] = []): ProcEntry[] {
  const found: ProcEntry[] = [];
  const entry = `${name}=${value}`;
  for (const dirent of readdirSync('/proc')) {
    if (!/^\d+$/.test(dirent)) continue;
    const pid = Number(dirent);
    if (pid === process.pid) continue;
    const st = statOf(pid);
    if (st === undefined || st.state === 'Z' || st.state === 'X') continue;
    if (sessions.includes(st.sid) || hasEnv(pid, entry)) found.push({ pid, sid: st.sid, pgid: st.pgid });
  }
  return found;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Stops every process that `find` returns: SIGTERM, a short grace, then SIGKILL, re-scanning
 * until none is left (catching children forked meanwhile). Throws when some survive.
 */
export async function terminateAll(find: () => readonly ProcEntry[], graceMs = 1000): Promise<void> {
  let procs = find();
  if (procs.length === 0) return;
  for (const p of procs) signal(p.pid, 'SIGTERM');
  const graceEnd = Date.now() + graceMs;
  while (Date.now() < graceEnd) {
    procs = procs.filter((p) => isAlive(p.pid));
    if (procs.length === 0) break;
    await sleep(15);
  }
  for (let round = 0; round < 50; round++) {
    procs = find();
    if (procs.length === 0) return;
    for (const p of procs) signal(p.pid, 'SIGKILL');
    await sleep(20);
  }
  throw new Error(
    `processes ${find()
      .map((p) => p.pid)
      .join(', ')} survived SIGKILL`,
  );
}
