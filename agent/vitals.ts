// Vitals in bosh-agent's shape: load, cpu (user/sys/wait %), mem and swap (kB, %), disk use
// (% blocks and inodes) of the system, ephemeral (the root) and persistent (store/) disks.
import { readdirSync, readFileSync, statfsSync } from 'node:fs';
import { loadavg, totalmem, freemem, uptime } from 'node:os';
import type { AgentLayout } from './layout.js';
import type { DiskUse, Vitals } from './protocol.js';

const pct = (n: number): string => (Number.isFinite(n) ? n.toFixed(1) : '0.0');

function cpuTimes(): number[] | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? '';
    return line.trim().split(/\s+/).slice(1).map(Number);
  } catch {
    return undefined;
  }
}

async function cpu(): Promise<Vitals['cpu']> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, 100));
  const b = cpuTimes();
  if (a === undefined || b === undefined) return { user: '0.0', sys: '0.0', wait: '0.0' };
  const d = b.map((v, i) => v - (a[i] ?? 0));
  const total = d.reduce((s, v) => s + v, 0) || 1;
  // /proc/stat: user nice system idle iowait irq softirq steal ...
  return {
    user: pct((100 * ((d[0] ?? 0) + (d[1] ?? 0))) / total),
    sys: pct((100 * ((d[2] ?? 0) + (d[5] ?? 0) + (d[6] ?? 0))) / total),
    wait: pct((100 * (d[4] ?? 0)) / total),
  };
}

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  try {
    for (const line of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
      const m = /^(\w+):\s+(\d+)/.exec(line);
      if (m?.[1] !== undefined) out[m[1]] = Number(m[2]);
    }
  } catch {
    // not Linux
  }
  return out;
}

export function diskUse(path: string): DiskUse | undefined {
  try {
    const s = statfsSync(path);
    const blocks = s.blocks > 0 ? (100 * (s.blocks - s.bfree)) / s.blocks : 0;
    const inodes = s.files > 0 ? (100 * (s.files - s.ffree)) / s.files : 0;
    return { percent: pct(blocks), inode_percent: pct(inodes) };
  } catch {
    return undefined;
  }
}

/** One process of this VM, from /proc/<pid>/stat: CPU ticks (user, system), start (ticks after boot), state; RSS from status. */
interface ProcSample {
  readonly utime: number;
  readonly stime: number;
  readonly start: number;
  readonly state: string;
  readonly rssKb: number;
}

/**
 * The processes of the VM this agent serves, when the VM is a local one (a set of processes on a
 * shared host that carry DIRECTOR_VM_ID in their environment): pid → sample. Undefined on a
 * real VM, where the whole machine is the VM.
 */
function vmProcesses(): Map<number, ProcSample> | undefined {
  const id = process.env['DIRECTOR_VM_ID'];
  if (!id) return undefined;
  const marker = `DIRECTOR_VM_ID=${id}\0`;
  const out = new Map<number, ProcSample>();
  let pids: string[];
  try {
    pids = readdirSync('/proc').filter((d) => /^\d+$/.test(d));
  } catch {
    return undefined;
  }
  for (const pid of pids) {
    try {
      if (!`${readFileSync(`/proc/${pid}/environ`, 'latin1')}\0`.includes(marker)) continue;
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const f = stat.slice(stat.lastIndexOf(')') + 2).split(' '); // fields from 3 (state) on
      const rss = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1];
      out.set(Number(pid), {
        state: f[0] ?? '?',
        utime: Number(f[11]),
        stime: Number(f[12]),
        start: Number(f[19]),
        rssKb: Number(rss ?? 0),
      });
    } catch {
      // gone, or not ours to read
    }
  }
  return out;
}

const CLOCK_TICKS = 100; // USER_HZ on Linux

function bootTime(): number | undefined {
  try {
    const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Vitals of a local VM: its own processes' CPU (share of the host's over 100 ms), memory (their
 * resident size), load (how many of them are runnable now, for all three figures: a process set
 * has no kernel load average) and uptime (since its oldest process started), not the host's.
 */
async function localVmVitals(): Promise<Pick<Vitals, 'cpu' | 'mem' | 'load' | 'uptime'> | undefined> {
  const a = vmProcesses();
  const ta = cpuTimes();
  if (a === undefined || a.size === 0 || ta === undefined) return undefined;
  await new Promise((r) => setTimeout(r, 100));
  const b = vmProcesses() ?? new Map<number, ProcSample>();
  const tb = cpuTimes() ?? ta;
  const total = tb.reduce((s, v) => s + v, 0) - ta.reduce((s, v) => s + v, 0) || 1;
  let user = 0;
  let sys = 0;
  for (const [pid, now] of b) {
    const was = a.get(pid);
    user += now.utime - (was?.utime ?? now.utime);
    sys += now.stime - (was?.stime ?? now.stime);
  }
  const mem = meminfo();
  const memTotalKb = mem.MemTotal ?? totalmem() / 1024;
  const rssKb = [...b.values()].reduce((s, p) => s + p.rssKb, 0);
  const runnable = [...b.values()].filter((p) => p.state === 'R' || p.state === 'D').length.toFixed(2);
  const boot = bootTime();
  const oldest = Math.min(...[...b.values()].map((p) => p.start));
  const secs =
    boot !== undefined && Number.isFinite(oldest)
      ? Math.max(0, Math.floor(Date.now() / 1000 - (boot + oldest / CLOCK_TICKS)))
      : Math.floor(uptime());
  return {
    cpu: { user: pct((100 * user) / total), sys: pct((100 * sys) / total), wait: '0.0' },
    mem: { kb: String(rssKb), percent: pct((100 * rssKb) / memTotalKb) },
    load: [runnable, runnable, runnable],
    uptime: { secs },
  };
}

export async function collectVitals(layout: AgentLayout, persistentMounted: boolean): Promise<Vitals> {
  const host = await hostVitals(layout, persistentMounted);
  const own = await localVmVitals();
  return own === undefined ? host : { ...host, ...own };
}

async function hostVitals(layout: AgentLayout, persistentMounted: boolean): Promise<Vitals> {
  const mem = meminfo();
  const memTotalKb = mem.MemTotal ?? totalmem() / 1024;
  const memAvailKb = mem.MemAvailable ?? freemem() / 1024;
  const memUsedKb = memTotalKb - memAvailKb;
  const swapTotal = mem.SwapTotal ?? 0;
  const swapUsed = swapTotal - (mem.SwapFree ?? 0);
  const [l1, l5, l15] = loadavg();
  const zero: DiskUse = { percent: '0.0', inode_percent: '0.0' };
  const persistent = persistentMounted ? diskUse(layout.storeDir) : undefined;
  return {
    load: [(l1 ?? 0).toFixed(2), (l5 ?? 0).toFixed(2), (l15 ?? 0).toFixed(2)],
    cpu: await cpu(),
    mem: { kb: String(Math.round(memUsedKb)), percent: pct((100 * memUsedKb) / memTotalKb) },
    swap: { kb: String(Math.round(swapUsed)), percent: pct(swapTotal > 0 ? (100 * swapUsed) / swapTotal : 0) },
    disk: {
      system: diskUse('/') ?? zero,
      ephemeral: diskUse(layout.root) ?? zero,
      ...(persistent === undefined ? {} : { persistent }),
    },
    uptime: { secs: Math.floor(uptime()) },
  };
}
