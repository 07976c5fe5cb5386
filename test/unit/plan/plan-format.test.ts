import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatManifestDiff, formatPlan } from '../../../src/plan/plan-format.js';
import type { DeploymentPlan } from '../../../src/plan/plan.js';
import type { InstancePlan } from '../../../src/plan/instance-plan.js';

const net = [
  {
    name: 'default',
    type: 'manual' as const,
    ip: '10.0.0.20',
    netmask: null,
    gateway: null,
    dns: [],
    default: [],
    static: false,
    cloudProperties: {},
  },
];
const p = (action: InstancePlan['action'], label: string, reasons: string[] = []): InstancePlan =>
  ({
    action,
    label,
    reasons: new Set(reasons),
    changes: [],
    steps: [],
    ...(action === 'delete' ? {} : { desired: { az: 'z1', networks: net } }),
  }) as unknown as InstancePlan;

test('the plan prints each change with its reasons and a summary', () => {
  const plan = {
    deployment: 'd',
    groups: [
      {
        group: { name: 'master', lifecycle: 'service' },
        plans: [p('unchanged', 'master/a (0)'), p('update', 'master/b (1)', ['configuration'])],
      },
      {
        group: { name: 'worker', lifecycle: 'service' },
        plans: [
          p('recreate', 'worker/c (0)', ['stemcell', 'cloud_properties']),
          p('create', 'worker/d (1)', ['vm_missing']),
        ],
      },
    ],
    deletions: [p('delete', 'worker/e (2)')],
    rendered: new Map(),
  } as unknown as DeploymentPlan;
  assert.equal(
    formatPlan(plan),
    [
      'instance_group master:',
      '  ~   master/b (1)  update (configuration)  z1  10.0.0.20',
      'instance_group worker:',
      '  -/+ worker/c (0)  recreate (stemcell, cloud properties)  z1  10.0.0.20',
      '  +   worker/d (1)  create (vm missing)  z1  10.0.0.20',
      'instances no longer wanted:',
      '  -   worker/e (2)  delete',
      '',
      'Plan: 1 to create, 1 to recreate, 1 to update, 1 to delete, 1 unchanged.',
      '',
    ].join('\n'),
  );
});

test('the manifest diff shows changed lines with context', () => {
  const before = 'a: 1\nb: 2\nc: 3\nd: 4\ne: 5\nf: 6\ng: 7\nh: 8\n';
  const after = 'a: 1\nb: 2\nc: 3\nd: 40\ne: 5\nf: 6\ng: 7\nh: 8\n';
  assert.equal(formatManifestDiff(before, after, 1), '  c: 3\n- d: 4\n+ d: 40\n  e: 5\n');
  assert.equal(formatManifestDiff(before, before), '');
});
