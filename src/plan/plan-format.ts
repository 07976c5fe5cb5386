import { diffLines } from 'diff';
import type { ChangeReason, InstancePlan } from './instance-plan.js';
import type { DeploymentPlan } from './plan.js';

const SIGN: Record<InstancePlan['action'], string> = { create: '+', recreate: '-/+', update: '~', delete: '-', unchanged: ' ' };

function describeReasons(reasons: ReadonlySet<ChangeReason>): string {
  return reasons.size ? ` (${[...reasons].map((r) => r.replace('_', ' ')).join(', ')})` : '';
}

function line(p: InstancePlan): string {
  const d = p.desired;
  const where = d ? `  ${d.az ?? '-'}  ${d.networks.map((n) => n.ip ?? 'dynamic').join(', ')}` : '';
  return `  ${SIGN[p.action].padEnd(3)} ${p.label}  ${p.action}${describeReasons(p.reasons)}${where}`;
}

/**
 * The plan as the user confirms it, terraform-style: `+` create, `-/+` recreate, `~` update,
 * `-` delete, each with the reasons; unchanged instances are counted, not listed.
 */
export function formatPlan(plan: DeploymentPlan): string {
  const out: string[] = [];
  const counts = { create: 0, recreate: 0, update: 0, delete: 0, unchanged: 0 };
  for (const g of plan.groups) {
    const changed = g.plans.filter((p) => p.action !== 'unchanged');
    for (const p of g.plans) counts[p.action]++;
    if (!changed.length) continue;
    out.push(`instance_group ${g.group.name}${g.group.lifecycle === 'errand' ? ' (errand)' : ''}:`);
    for (const p of changed) out.push(line(p));
  }
  if (plan.deletions.length) {
    out.push('instances no longer wanted:');
    for (const p of plan.deletions) {
      counts.delete++;
      out.push(line(p));
    }
  }
  const summary = `Plan: ${counts.create} to create, ${counts.recreate} to recreate, ${counts.update} to update, ${counts.delete} to delete, ${counts.unchanged} unchanged.`;
  return `${out.length ? `${out.join('\n')}\n\n` : 'No instance changes.\n\n'}${summary}\n`;
}

/**
 * A line diff of two manifests as bosh-cli shows it before a deploy (`+`/`-` lines with a few
 * lines of context). Both sides are the manifests before variables are resolved, so no
 * credential is ever shown.
 */
export function formatManifestDiff(before: string, after: string, context = 3): string {
  const parts = diffLines(before, after);
  const lines: { sign: ' ' | '+' | '-'; text: string }[] = [];
  for (const p of parts) {
    const sign = p.added ? '+' : p.removed ? '-' : ' ';
    for (const t of p.value.replace(/\n$/, '').split('\n')) lines.push({ sign, text: t });
  }
  const keep = new Set<number>();
  lines.forEach((l, i) => {
    if (l.sign !== ' ') for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep.add(j);
  });
  if (!keep.size) return '';
  const out: string[] = [];
  let last = -1;
  for (const i of [...keep].sort((a, b) => a - b)) {
    if (last !== -1 && i > last + 1) out.push('  ...');
    out.push(`${lines[i]!.sign} ${lines[i]!.text}`);
    last = i;
  }
  return `${out.join('\n')}\n`;
}
