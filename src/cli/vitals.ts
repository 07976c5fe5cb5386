/** A VM's vitals (bosh-agent's shape) as bosh-cli's vms/instances --vitals columns print them. */
const num = (v: unknown): number | undefined =>
  typeof v === 'number'
    ? v
    : typeof v === 'string' && v.trim() !== '' && !Number.isNaN(Number(v))
      ? Number(v)
      : undefined;
/** `12.3%`, as bosh-cli prints a vitals percentage. */
const pct = (v: unknown) => (num(v) === undefined ? '' : `${num(v)!.toFixed(1)}%`);
/** `12% (1.2 GB)` for memory and swap, from the agent's percent and kB. */
const memUse = (m: Record<string, unknown> | undefined) =>
  m && num(m['percent']) !== undefined
    ? `${Math.round(num(m['percent'])!)}% (${((num(m['kb']) ?? 0) / 1024 / 1024).toFixed(1)} GB)`
    : '';
/** `35% (12i%)` for a disk, from the agent's percent and inode percent. */
const diskUse = (d: unknown) => {
  const o = d as Record<string, unknown> | undefined;
  return o && num(o['percent']) !== undefined
    ? `${Math.round(num(o['percent'])!)}% (${Math.round(num(o['inode_percent']) ?? 0)}i%)`
    : '';
};
const uptime = (u: unknown) => {
  const secs = num((u as Record<string, unknown> | undefined)?.['secs']);
  if (secs === undefined) return '';
  const d = Math.floor(secs / 86400);
  const h = Math.floor(secs / 3600) % 24;
  const m = Math.floor(secs / 60) % 60;
  return `${d}d ${h}h ${m}m ${Math.floor(secs % 60)}s`;
};

/** The vitals columns of `vms --vitals` and `instances --vitals`, after the listing's own. */
export const VITALS_HEADER: readonly [string, string][] = [
  ['uptime', 'Uptime'],
  ['load_1m_5m_15m', 'Load (1m, 5m, 15m)'],
  ['cpu_total', 'CPU Total'],
  ['cpu_user', 'CPU User'],
  ['cpu_sys', 'CPU Sys'],
  ['cpu_wait', 'CPU Wait'],
  ['memory_usage', 'Memory Usage'],
  ['swap_usage', 'Swap Usage'],
  ['system_disk_usage', 'System Disk Usage'],
  ['ephemeral_disk_usage', 'Ephemeral Disk Usage'],
  ['persistent_disk_usage', 'Persistent Disk Usage'],
];

/** The cells of VITALS_HEADER from an agent's vitals (empty cells when there are none). */
export function vitalsCells(vitals: unknown): Record<string, string> {
  const vt = (vitals ?? {}) as Record<string, Record<string, unknown> | undefined>;
  const load = vt['load'] as unknown as unknown[] | undefined;
  const cpu = vt['cpu'];
  const disk = vt['disk'];
  return {
    uptime: uptime(vt['uptime']),
    load_1m_5m_15m: Array.isArray(load) ? load.map((x) => (num(x) ?? 0).toFixed(2)).join(', ') : '',
    cpu_total: cpu ? pct((num(cpu['user']) ?? 0) + (num(cpu['sys']) ?? 0)) : '',
    cpu_user: pct(cpu?.['user']),
    cpu_sys: pct(cpu?.['sys']),
    cpu_wait: pct(cpu?.['wait']),
    memory_usage: memUse(vt['mem']),
    swap_usage: memUse(vt['swap']),
    system_disk_usage: diskUse(disk?.['system']),
    ephemeral_disk_usage: diskUse(disk?.['ephemeral']),
    persistent_disk_usage: diskUse(disk?.['persistent']),
  };
}
