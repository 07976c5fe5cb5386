import { spawnSync } from 'node:child_process';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
/** The repository root (benches run from dist/bench). */
export const repoRoot = here.includes(join('dist', 'bench')) ? join(here, '..', '..') : join(here, '..');
export const reference = join(repoRoot, '..', 'shared', 'reference');

export interface Timing {
  readonly medianMs: number;
  readonly minMs: number;
  readonly maxRssMb: number;
}

/** Runs a node command `runs` times; wall time per run and the child's peak RSS (from /proc via a preload). */
export function timeNode(args: readonly string[], runs: number, env: Record<string, string> = {}): Timing {
  const times: number[] = [];
  let rss = 0;
  for (let i = 0; i < runs; i++) {
    const t0 = process.hrtime.bigint();
    const r = spawnSync(process.execPath, ['--import', join(here, 'rss-report.js'), ...args], {
      cwd: repoRoot,
      env: { ...process.env, ...env },
      encoding: 'utf8',
      maxBuffer: 64 * 1024 * 1024,
    });
    const ms = Number(process.hrtime.bigint() - t0) / 1e6;
    if (r.status !== 0) throw new Error(`bench command failed (${r.status}): ${args.join(' ')}\n${r.stderr}`);
    const m = /^RSS_KB=(\d+)$/m.exec(r.stderr);
    if (m) rss = Math.max(rss, Number(m[1]) / 1024);
    times.push(ms);
  }
  times.sort((a, b) => a - b);
  return { medianMs: times[Math.floor(times.length / 2)]!, minMs: times[0]!, maxRssMb: rss };
}

export function fmt(n: number, digits = 1): string {
  return n.toFixed(digits);
}
