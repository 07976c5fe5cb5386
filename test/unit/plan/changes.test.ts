// What an instance plan says changes, attribute by attribute, and the steps it implies: derived in
// the pure planner from the reasons (as bosh's instance_plan derives needs_duplicate_vm?), printed
// terraform-style, secrets masked. No fakes: plain data in, plain data out.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { diffAttributes, secretLeaves, secretMask } from '../../../src/plan/changes.js';
import {
  digest,
  planInstance,
  stemcellKey,
  vmDigests,
  vmShown,
  type DesiredInstance,
  type RecordedInstance,
} from '../../../src/plan/instance-plan.js';
import { formatChange, formatPlan, planJson } from '../../../src/plan/plan-format.js';
import type { DeploymentPlan } from '../../../src/plan/plan.js';

const desired: DesiredInstance = {
  group: 'worker',
  index: 2,
  uuid: 'u2',
  az: 'z1',
  bootstrap: false,
  isNew: false,
  lifecycle: 'service',
  networks: [
    {
      name: 'default',
      type: 'manual',
      ip: '10.0.0.22',
      netmask: '255.255.255.0',
      gateway: '10.0.0.1',
      dns: [],
      default: ['dns', 'gateway'],
      static: false,
      cloudProperties: {},
    },
  ],
  vmType: 'small',
  cloudProperties: { instance_type: 'a', tags: { team: 'k8s' } },
  vmExtensions: [],
  stemcell: { os: 'ubuntu-jammy', version: '1.0' },
  env: {},
  persistentDisk: { size: 1024, cloudProperties: { type: 'ssd' } },
  jobs: [{ name: 'kubelet', release: 'kubo', releaseVersion: '1', digest: 'aaaaaaaaaaaaaaaa' }],
  state: 'started',
};

/** What a deploy of `d` records, as recorded.ts reads it back. */
function recordedAs(d: DesiredInstance, over: Partial<RecordedInstance> = {}): RecordedInstance {
  return {
    uuid: d.uuid,
    group: d.group,
    index: d.index,
    az: d.az,
    bootstrap: d.bootstrap,
    state: 'started',
    ips: { default: '10.0.0.22' },
    vm: { cid: 'vm-1', stemcell: stemcellKey(d.stemcell), ...vmDigests(d), shown: vmShown(d) },
    disk: {
      cid: 'disk-1',
      size: 1024,
      cloudPropertiesDigest: vmDigestsOfDisk(d),
      cloudProperties: d.persistentDisk.cloudProperties,
    },
    appliedJobs: { kubelet: 'aaaaaaaaaaaaaaaa' },
    ...over,
  };
}

/** The planner compares disk cloud properties by digest, as recorded.ts computes it. */
function vmDigestsOfDisk(d: DesiredInstance): string {
  return digest(d.persistentDisk.cloudProperties);
}

test('a vm_type change is one attribute line, before → after, forcing a new VM; the disk is carried over', () => {
  const recorded = recordedAs(desired);
  const p = planInstance({ ...desired, cloudProperties: { instance_type: 'b', tags: { team: 'k8s' } } }, recorded);
  assert.equal(p.action, 'recreate');
  assert.deepEqual(p.changes, [
    { reason: 'cloud_properties', path: 'cloud_properties.instance_type', before: 'a', after: 'b' },
  ]);
  assert.equal(formatChange(p.changes[0]!), '~ cloud_properties.instance_type: "a" → "b"  # forces a new VM');
  assert.deepEqual(
    p.steps.map((s) => s.kind),
    [
      'drain',
      'stop',
      'detach_disks',
      'delete_vm',
      'create_vm',
      'attach_disk',
      'apply',
      'pre_start',
      'start',
      'watch',
      'post_start',
      'record_state',
    ],
  );
});

test('an unchanged instance has no changes and no steps', () => {
  const p = planInstance(desired, recordedAs(desired));
  assert.equal(p.action, 'unchanged');
  assert.deepEqual(p.changes, []);
  assert.deepEqual(p.steps, []);
});

test('a bigger disk is made, the data migrated, on the same VM; a new job configuration shows short digests', () => {
  const p = planInstance(
    {
      ...desired,
      persistentDisk: { size: 2048, cloudProperties: { type: 'ssd' } },
      jobs: [{ ...desired.jobs[0]!, digest: 'bbbbbbbbbbbbbbbb' }],
    },
    recordedAs(desired),
  );
  assert.equal(p.action, 'update');
  assert.deepEqual(
    p.steps.map((s) => s.kind),
    [
      'drain',
      'stop',
      'create_disk',
      'migrate_disk',
      'apply',
      'pre_start',
      'start',
      'watch',
      'post_start',
      'record_state',
    ],
  );
  assert.deepEqual(p.changes.map(formatChange), [
    '~ persistent_disk.size: 1024 → 2048',
    '~ jobs.kubelet: "sha256:aaaaaaaaaaaa" → "sha256:bbbbbbbbbbbb"  # rendered templates or packages',
  ]);
});

test('a disk no longer wanted is orphaned; a new instance is created with a disk', () => {
  const gone = planInstance({ ...desired, persistentDisk: { size: 0, cloudProperties: {} } }, recordedAs(desired));
  assert.deepEqual(
    gone.steps.map((s) => s.kind),
    ['drain', 'stop', 'orphan_disk', 'apply', 'pre_start', 'start', 'watch', 'post_start', 'record_state'],
  );
  assert.deepEqual(gone.changes.map(formatChange), ['- persistent_disk: {"size":1024} → (none)']);
  const fresh = planInstance(desired, undefined);
  assert.equal(fresh.action, 'create');
  assert.deepEqual(
    fresh.steps.map((s) => s.kind),
    ['create_vm', 'create_disk', 'apply', 'pre_start', 'start', 'watch', 'post_start', 'record_state'],
  );
  assert.equal(formatChange(fresh.changes[0]!), '~ vm  # new instance; forces a new VM');
});

test('a stopped instance is recreated without starting it; a deletion drains, deletes and forgets', () => {
  const stopped = recordedAs({ ...desired, state: 'stopped' }, { state: 'stopped' });
  const p = planInstance({ ...desired, state: 'stopped', stemcell: { os: 'ubuntu-jammy', version: '2.0' } }, stopped);
  assert.deepEqual(p.changes.map(formatChange), [
    '~ stemcell: "ubuntu-jammy/1.0" → "ubuntu-jammy/2.0"  # forces a new VM',
  ]);
  assert.deepEqual(p.steps.at(-1), { kind: 'record_state', state: 'stopped' });
  assert.ok(!p.steps.some((s) => s.kind === 'start'));
});

test('secrets are masked as the ((variable)) they came from, in values and inside strings, before and after', () => {
  const secrets = new Map<string, string>();
  secretLeaves('admin_password', 'Zq8cRrT3yv0YtFsq2x9w', secrets);
  secretLeaves(
    'tls',
    { ca: 'CA-PEM', certificate: '-----BEGIN CERT----- xyz', private_key: '-----BEGIN KEY----- abc' },
    secrets,
  );
  const mask = secretMask(secrets);
  assert.deepEqual(
    mask({
      bosh: { password: 'Zq8cRrT3yv0YtFsq2x9w', url: 'https://admin:Zq8cRrT3yv0YtFsq2x9w@host' },
      key: '-----BEGIN KEY----- abc',
      n: 3,
    }),
    {
      bosh: { password: '((admin_password))', url: 'https://admin:((admin_password))@host' },
      key: '((tls.private_key))',
      n: 3,
    },
  );
  const before = recordedAs(desired);
  const p = planInstance({ ...desired, env: { bosh: { password: 'Zq8cRrT3yv0YtFsq2x9w' } } }, before, { mask });
  assert.deepEqual(p.changes, [{ reason: 'env', path: 'env.bosh', after: { password: '((admin_password))' } }]);
  assert.ok(!JSON.stringify(p.changes).includes('Zq8cRrT3yv0YtFsq2x9w'));
  assert.ok(!JSON.stringify(p.vmShown).includes('Zq8cRrT3yv0YtFsq2x9w'), 'what the applied spec records is masked too');
});

test('a VM recorded by an older director (digests only) says its value before was not recorded', () => {
  const old = recordedAs(desired);
  const { shown, ...vm } = old.vm!;
  void shown;
  const p = planInstance({ ...desired, cloudProperties: { instance_type: 'b' } }, { ...old, vm });
  assert.deepEqual(p.changes.map(formatChange), [
    '~ cloud_properties: (not recorded) → {"instance_type":"b"}  # forces a new VM',
  ]);
});

test('attribute diffs go into maps, compare lists whole, and ignore key order', () => {
  assert.deepEqual(diffAttributes('x', { a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), []);
  assert.deepEqual(diffAttributes('x', { a: 1, b: { c: [1, 2] } }, { a: 2, b: { c: [2] }, d: 'new' }), [
    { path: 'x.a', before: 1, after: 2 },
    { path: 'x.b.c', before: [1, 2], after: [2] },
    { path: 'x.d', after: 'new' },
  ]);
});

test('the plan prints each instance with its changes beneath, and as JSON with its steps', () => {
  const recreate = planInstance(
    { ...desired, cloudProperties: { instance_type: 'b', tags: { team: 'k8s' } } },
    recordedAs(desired),
  );
  const plan = {
    deployment: 'd',
    groups: [{ group: { name: 'worker', lifecycle: 'service' }, plans: [recreate] }],
    deletions: [],
    rendered: new Map(),
  } as unknown as DeploymentPlan;
  assert.equal(
    formatPlan(plan),
    [
      'instance_group worker:',
      '  -/+ worker/u2 (2)  recreate (cloud properties)  z1  10.0.0.22',
      '        ~ cloud_properties.instance_type: "a" → "b"  # forces a new VM',
      '',
      'Plan: 0 to create, 1 to recreate, 0 to update, 0 to delete, 0 unchanged.',
      '',
    ].join('\n'),
  );
  const json = planJson(plan);
  assert.deepEqual(json.instances[0]!.changes, [
    {
      reason: 'cloud_properties',
      path: 'cloud_properties.instance_type',
      before: 'a',
      after: 'b',
      forces_new_vm: true,
    },
  ]);
  assert.equal(json.instances[0]!.steps[4]!.kind, 'create_vm');
  assert.deepEqual(json.summary, { create: 0, recreate: 1, update: 0, delete: 0, unchanged: 0 });
});
