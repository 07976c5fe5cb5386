// Vitals in bosh-agent's shape: load, cpu (user/sys/wait %), mem and swap (kB, %), disk use
// (% blocks and inodes) of the system, ephemeral (the root) and persistent (store/) disks.
import { readFileSync, statfsSync } from 'node:fs';
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
  return { user: pct((100 * ((d[0] ?? 0) + (d[1] ?? 0))) / total), sys: pct((100 * ((d[2] ?? 0) + (d[5] ?? 0) + (d[6] ?? 0))) / total), wait: pct((100 * (d[4] ?? 0)) / total) };
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

export async function collectVitals(layout: AgentLayout, persistentMounted: boolean): Promise<Vitals> {
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
