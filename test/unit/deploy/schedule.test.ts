import { test } from 'node:test';
import assert from 'node:assert/strict';
import { criticalPathBound, scheduleDeployment, scheduleGroup } from '../../../src/deploy/schedule.js';
import type { UpdatePolicy } from '../../../src/plan/deployment-manifest.js';
import type { InstancePlan, InstanceAction } from '../../../src/plan/instance-plan.js';

const policy = (over: Partial<UpdatePolicy> = {}): UpdatePolicy => ({
  canaries: 1,
  maxInFlight: { count: 2 },
  canaryWatchTime: { min: 0, max: 0 },
  updateWatchTime: { min: 0, max: 0 },
  serial: true,
  vmStrategy: 'delete-create',
  ...over,
});

function plans(group: string, actions: InstanceAction[]): InstancePlan[] {
  return actions.map((action, index) => ({
    action,
    reasons: new Set(),
    label: `${group}/${index}`,
    desired: { index } as never,
    changes: [],
    steps: [],
  }));
}
const labels = (bs: readonly (readonly InstancePlan[])[]) => bs.map((b) => b.map((p) => p.label));

test('canaries first, then batches of max_in_flight; unchanged instances take no turn', () => {
  const s = scheduleGroup(
    'w',
    policy(),
    plans('w', ['create', 'unchanged', 'update', 'create', 'recreate', 'create']),
    6,
  );
  assert.deepEqual(labels(s.canaries), [['w/0']]);
  assert.deepEqual(labels(s.batches), [
    ['w/2', 'w/3'],
    ['w/4', 'w/5'],
  ]);
});

test('percentages are of the group size, at least one', () => {
  const s = scheduleGroup(
    'w',
    policy({ canaries: 2, maxInFlight: { percent: 50 } }),
    plans('w', ['create', 'create', 'create', 'create', 'create']),
    5,
  );
  assert.deepEqual(labels(s.canaries), [['w/0', 'w/1']]);
  assert.deepEqual(labels(s.batches), [['w/2', 'w/3'], ['w/4']]);
  const one = scheduleGroup(
    'w',
    policy({ canaries: 0, maxInFlight: { percent: 10 } }),
    plans('w', ['create', 'create']),
    2,
  );
  assert.deepEqual(labels(one.batches), [['w/0'], ['w/1']]);
});

test('non-serial neighbours share a stage; serial groups stand alone', () => {
  const s = scheduleDeployment([
    { name: 'a', policy: policy(), size: 1, plans: plans('a', ['create']) },
    { name: 'b', policy: policy({ serial: false }), size: 1, plans: plans('b', ['create']) },
    { name: 'c', policy: policy({ serial: false }), size: 1, plans: plans('c', ['create']) },
    { name: 'd', policy: policy(), size: 1, plans: plans('d', ['unchanged']) },
    { name: 'e', policy: policy(), size: 1, plans: plans('e', ['update']) },
  ]);
  assert.deepEqual(
    s.stages.map((st) => st.map((g) => g.group)),
    [['a'], ['b', 'c'], ['e']],
  );
});

test('the critical-path bound follows the schedule', () => {
  const s = scheduleDeployment([
    {
      name: 'm',
      policy: policy({ maxInFlight: { count: 1 } }),
      size: 3,
      plans: plans('m', ['create', 'create', 'create']),
    },
    {
      name: 'w',
      policy: policy({ maxInFlight: { count: 10 } }),
      size: 20,
      plans: plans('w', Array(20).fill('create')),
    },
  ]);
  // 23 VMs in a pool of 8 → 3 rounds of 2 s; masters 3 turns, workers canary + 2 batches, 1 s each.
  assert.equal(criticalPathBound(s, 23, 8, { createVm: 2000, updateInstance: () => 1000 }), 6000 + 3000 + 3000);
});
