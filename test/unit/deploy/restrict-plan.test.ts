import { test } from 'node:test';
import assert from 'node:assert/strict';
import { restrictPlan } from '../../../src/deploy/lifecycle.js';
import type { InstancePlan } from '../../../src/plan/instance-plan.js';
import type { DeploymentPlan } from '../../../src/plan/plan.js';

const p = (uuid: string, action: InstancePlan['action']): InstancePlan => ({
  action,
  reasons: new Set(action === 'unchanged' ? [] : ['recreate']),
  desired: { uuid } as never,
  label: uuid,
  changes: [],
  steps: [],
});

test('restrictPlan keeps the chosen instances as planned, leaves the others unchanged and deletes nothing', () => {
  const plan: DeploymentPlan = {
    deployment: 'd',
    groups: [
      { group: { name: 'master' } as never, plans: [p('a', 'recreate'), p('b', 'recreate')] },
      { group: { name: 'worker' } as never, plans: [p('c', 'update')] },
    ],
    deletions: [{ action: 'delete', reasons: new Set(), label: 'x', changes: [], steps: [] }],
    rendered: new Map(),
  };
  const r = restrictPlan(plan, new Set(['b']));
  assert.deepEqual(
    r.groups.map((g) => g.plans.map((x) => [x.label, x.action, x.reasons.size])),
    [
      [
        ['a', 'unchanged', 0],
        ['b', 'recreate', 1],
      ],
      [['c', 'unchanged', 0]],
    ],
  );
  assert.deepEqual(r.deletions, []);
  assert.equal(plan.groups[0]!.plans[0]!.action, 'recreate', 'the given plan is not changed');
});
