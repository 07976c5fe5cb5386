import { diffLines } from 'diff';
import { formatShown, type Shown } from './changes.js';
import { forcesNewVm, type Change, type ChangeReason, type InstancePlan } from './instance-plan.js';
import type { DeploymentPlan } from './plan.js';
import type { Step } from './steps.js';

const SIGN: Record<InstancePlan['action'], string> = {
  create: '+',
  recreate: '-/+',
  update: '~',
  delete: '-',
  unchanged: ' ',
};

function describeReasons(reasons: ReadonlySet<ChangeReason>): string {
  return reasons.size ? ` (${[...reasons].map((r) => r.replace('_', ' ')).join(', ')})` : '';
}

function line(p: InstancePlan): string {
  const d = p.desired;
  const where = d ? `  ${d.az ?? '-'}  ${d.networks.map((n) => n.ip ?? 'dynamic').join(', ')}` : '';
  return `  ${SIGN[p.action].padEnd(3)} ${p.label}  ${p.action}${describeReasons(p.reasons)}${where}`;
}

/**
 * One change as terraform prints an attribute: `~ cloud_properties.instance_type: "a" → "b"`,
 * `+` for an attribute that appears, `-` for one that goes, with what it forces.
 */
export function formatChange(c: Change): string {
  const sign = c.beforeUnknown
    ? '~'
    : c.before === undefined && c.after !== undefined
      ? '+'
      : c.after === undefined && c.before !== undefined
        ? '-'
        : '~';
  const value =
    c.before === undefined && c.after === undefined
      ? ''
      : `: ${c.beforeUnknown ? '(not recorded)' : formatShown(c.before)} → ${formatShown(c.after)}`;
  const notes = [...(c.note ? [c.note] : []), ...(forcesNewVm(c.reason) ? ['forces a new VM'] : [])];
  return `${sign} ${c.path}${value}${notes.length ? `  # ${notes.join('; ')}` : ''}`;
}

/**
 * The plan as the user confirms it, terraform-style: `+` create, `-/+` recreate, `~` update,
 * `-` delete, each instance with its reasons and, beneath it, every attribute that changes from
 * what to what (secrets masked) and whether it forces a new VM; unchanged instances are counted,
 * not listed.
 */
export function formatPlan(plan: DeploymentPlan): string {
  const out: string[] = [];
  const counts = planCounts(plan);
  for (const g of plan.groups) {
    const changed = g.plans.filter((p) => p.action !== 'unchanged');
    if (!changed.length) continue;
    out.push(`instance_group ${g.group.name}${g.group.lifecycle === 'errand' ? ' (errand)' : ''}:`);
    for (const p of changed) {
      out.push(line(p));
      for (const c of p.changes) out.push(`        ${formatChange(c)}`);
    }
  }
  if (plan.deletions.length) {
    out.push('instances no longer wanted:');
    for (const p of plan.deletions) out.push(line(p));
  }
  const summary = `Plan: ${counts.create} to create, ${counts.recreate} to recreate, ${counts.update} to update, ${counts.delete} to delete, ${counts.unchanged} unchanged.`;
  return `${out.length ? `${out.join('\n')}\n\n` : 'No instance changes.\n\n'}${summary}\n`;
}

function planCounts(plan: DeploymentPlan): Record<InstancePlan['action'], number> {
  const counts = { create: 0, recreate: 0, update: 0, delete: 0, unchanged: 0 };
  for (const g of plan.groups) for (const p of g.plans) counts[p.action]++;
  counts.delete += plan.deletions.length;
  return counts;
}

/** One instance of the plan as `deploy --json` prints it. */
export interface InstancePlanJson {
  readonly instance: string;
  readonly group: string;
  readonly action: InstancePlan['action'];
  readonly reasons: readonly ChangeReason[];
  readonly changes: readonly {
    readonly reason: ChangeReason;
    readonly path: string;
    readonly before?: Shown;
    readonly after?: Shown;
    readonly forces_new_vm: boolean;
    readonly note?: string;
  }[];
  readonly steps: readonly Step[];
}

/** The plan as data (`deploy --json`, `deploy --dry-run --json`): every instance that changes, its changes and steps. */
export function planJson(plan: DeploymentPlan): {
  readonly deployment: string;
  readonly instances: readonly InstancePlanJson[];
  readonly summary: Record<InstancePlan['action'], number>;
} {
  const one = (p: InstancePlan): InstancePlanJson => ({
    instance: p.label,
    group: p.desired?.group ?? p.recorded!.group,
    action: p.action,
    reasons: [...p.reasons],
    changes: p.changes.map((c) => ({
      reason: c.reason,
      path: c.path,
      ...(c.before === undefined || c.beforeUnknown ? {} : { before: c.before }),
      ...(c.after === undefined ? {} : { after: c.after }),
      forces_new_vm: forcesNewVm(c.reason),
      ...(c.note ? { note: c.note } : c.beforeUnknown ? { note: 'value before not recorded' } : {}),
    })),
    steps: p.steps,
  });
  const instances = [
    ...plan.groups.flatMap((g) => g.plans.filter((p) => p.action !== 'unchanged')),
    ...plan.deletions,
  ].map(one);
  return { deployment: plan.deployment, instances, summary: planCounts(plan) };
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
    if (l.sign !== ' ')
      for (let j = Math.max(0, i - context); j <= Math.min(lines.length - 1, i + context); j++) keep.add(j);
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
