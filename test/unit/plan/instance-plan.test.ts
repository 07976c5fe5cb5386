import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  deepMerge,
  digest,
  planInstance,
  stemcellKey,
  vmDigests,
  type DesiredInstance,
  type RecordedInstance,
} from '../../../src/plan/instance-plan.js';

const desired: DesiredInstance = {
  group: 'worker',
  index: 0,
  uuid: 'u1',
  az: 'z1',
  bootstrap: true,
  isNew: false,
  lifecycle: 'service',
  networks: [
    {
      name: 'default',
      type: 'manual',
      ip: '10.0.0.20',
      netmask: '255.255.255.0',
      gateway: '10.0.0.1',
      dns: [],
      default: ['dns', 'gateway'],
      static: false,
      cloudProperties: {},
    },
  ],
  vmType: 'small',
  cloudProperties: { instance_type: 'Standard_D2s_v3' },
  vmExtensions: [],
  stemcell: { os: 'ubuntu-jammy', version: '1.0' },
  env: {},
  persistentDisk: { size: 0, cloudProperties: {} },
  jobs: [{ name: 'kubelet', release: 'kubo', releaseVersion: '1', digest: 'd1' }],
  state: 'started',
};

function recordedFor(d: DesiredInstance, over: Partial<RecordedInstance> = {}): RecordedInstance {
  return {
    uuid: d.uuid,
    group: d.group,
    index: d.index,
    az: d.az,
    bootstrap: d.bootstrap,
    state: 'started',
    ips: { default: '10.0.0.20' },
    vm: { cid: 'vm-1', stemcell: stemcellKey(d.stemcell), ...vmDigests(d) },
    appliedJobs: { kubelet: 'd1' },
    ...over,
  };
}

test('an instance identical to its record is unchanged', () => {
  const p = planInstance(desired, recordedFor(desired));
  assert.equal(p.action, 'unchanged');
  assert.deepEqual([...p.reasons], []);
  assert.equal(p.label, 'worker/u1 (0)');
});

test('no record means create', () => {
  const p = planInstance({ ...desired, persistentDisk: { size: 1024, cloudProperties: {} } }, undefined);
  assert.equal(p.action, 'create');
  assert.deepEqual([...p.reasons].sort(), ['jobs', 'persistent_disk', 'vm_missing']);
});

test('each VM-level change forces a recreate and is named', () => {
  const r = recordedFor(desired);
  assert.deepEqual(
    [...planInstance({ ...desired, stemcell: { os: 'ubuntu-jammy', version: '2.0' } }, r).reasons],
    ['stemcell'],
  );
  assert.deepEqual(
    [...planInstance({ ...desired, cloudProperties: { instance_type: 'big' } }, r).reasons],
    ['cloud_properties'],
  );
  assert.deepEqual(
    [...planInstance({ ...desired, networks: [{ ...desired.networks[0]!, ip: '10.0.0.21' }] }, r).reasons],
    ['network'],
  );
  assert.deepEqual([...planInstance({ ...desired, env: { bosh: { password: 'x' } } }, r).reasons], ['env']);
  assert.equal(planInstance(desired, r, { recreate: true }).action, 'recreate');
  assert.equal(planInstance(desired, recordedFor(desired, { vm: undefined })).action, 'create');
});

test('job and disk changes update in place', () => {
  const r = recordedFor(desired);
  const changed = planInstance({ ...desired, jobs: [{ ...desired.jobs[0]!, digest: 'd2' }] }, r);
  assert.deepEqual([changed.action, [...changed.reasons]], ['update', ['configuration']]);
  const added = planInstance(
    { ...desired, jobs: [...desired.jobs, { name: 'kube-proxy', release: 'kubo', releaseVersion: '1', digest: 'p' }] },
    r,
  );
  assert.deepEqual([added.action, [...added.reasons]], ['update', ['jobs']]);
  const disk = planInstance({ ...desired, persistentDisk: { size: 2048, cloudProperties: {} } }, r);
  assert.deepEqual([disk.action, [...disk.reasons]], ['update', ['persistent_disk']]);
  const resized = planInstance(
    { ...desired, persistentDisk: { size: 4096, cloudProperties: {} } },
    recordedFor(desired, { disk: { cid: 'd', size: 2048, cloudPropertiesDigest: digest({}) } }),
  );
  assert.deepEqual([...resized.reasons], ['persistent_disk']);
  const stopped = planInstance(desired, recordedFor(desired, { state: 'stopped' }));
  assert.deepEqual([stopped.action, [...stopped.reasons]], ['update', ['state']]);
});

test('errand instances are left to run-errand', () => {
  assert.equal(planInstance({ ...desired, lifecycle: 'errand' }, undefined).action, 'unchanged');
});

test('cloud properties deep-merge with later sources winning', () => {
  assert.deepEqual(deepMerge({ a: { b: 1, c: 2 }, l: [1] }, { a: { c: 3 }, l: [2] }, { d: 4 }), {
    a: { b: 1, c: 3 },
    l: [2],
    d: 4,
  });
  assert.equal(digest({ a: 1, b: 2 }), digest({ b: 2, a: 1 }));
});
