import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCloudConfig } from '../../../src/plan/cloud-config.js';
import { maxInFlightFor, parseDeploymentManifest } from '../../../src/plan/deployment-manifest.js';
import { ValidationError } from '../../../src/plan/validation.js';

const cloud = parseCloudConfig({
  azs: [{ name: 'z1' }],
  networks: [{ name: 'default', subnets: [{ range: '10.0.0.0/24', gateway: '10.0.0.1', static: ['10.0.0.10-10.0.0.20'], azs: ['z1'] }] }],
  vm_types: [{ name: 'small' }],
  vm_extensions: [{ name: 'lb', cloud_properties: { load_balancer: 'cfcr-lb' } }],
  disk_types: [{ name: 5120, disk_size: 5120 }],
});

const base = {
  name: 'my-cluster',
  releases: [{ name: 'kubo', version: '0.34.0' }],
  stemcells: [{ alias: 'default', os: 'ubuntu-xenial', version: 'latest' }],
  update: { canaries: 1, max_in_flight: '50%', canary_watch_time: '10000-300000', update_watch_time: 10000 },
  instance_groups: [
    { name: 'master', azs: ['z1'], instances: 1, jobs: [{ name: 'kube-apiserver', release: 'kubo', properties: { a: 1 } }], vm_type: 'small', vm_extensions: ['lb'], stemcell: 'default', persistent_disk_type: '5120', networks: [{ name: 'default' }] },
  ],
};

test('a valid manifest is typed, with the update block merged and disk types resolved', () => {
  const m = parseDeploymentManifest(base, cloud);
  const g = m.instanceGroups[0]!;
  assert.equal(g.persistentDisk.size, 5120);
  assert.deepEqual(g.update.canaryWatchTime, { min: 10000, max: 300000 });
  assert.deepEqual(g.update.updateWatchTime, { min: 10000, max: 10000 });
  assert.equal(maxInFlightFor(g.update, 10), 5);
  assert.equal(maxInFlightFor(g.update, 1), 1);
  assert.deepEqual(g.jobs[0]!.properties, { a: 1 });
});

test('every problem is reported at once, each with its path', () => {
  const bad = {
    ...base,
    instance_groups: [
      { name: 'master', azs: ['z9'], instances: 2, jobs: [{ name: 'x', release: 'nope' }], vm_type: 'huge', vm_extensions: ['missing'], stemcell: 'other', networks: [{ name: 'default', static_ips: ['10.0.0.10'] }] },
      { name: 'worker', instances: 'three', jobs: [], stemcell: 'default', networks: [] },
    ],
  };
  assert.throws(
    () => parseDeploymentManifest(bad, cloud),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(
        e.problems.map((p) => p.path),
        ['instance_groups[1].instances', 'instance_groups[1].networks'],
      );
      return true;
    },
  );
  const bad2 = { ...bad, instance_groups: [bad.instance_groups[0]] };
  assert.throws(
    () => parseDeploymentManifest(bad2, cloud),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(
        e.problems.map((p) => `${p.path}: ${p.message}`),
        [
          "instance_groups[0].jobs[0].release: unknown release 'nope' (releases: 'kubo')",
          "instance_groups[0].stemcell: unknown stemcell alias 'other'",
          "instance_groups[0].vm_type: unknown vm_type 'huge' in the cloud-config",
          "instance_groups[0].vm_extensions[0]: unknown vm_extension 'missing' in the cloud-config",
          "instance_groups[0].azs[0]: unknown az 'z9' in the cloud-config",
          "instance_groups[0].networks[0].static_ips: instance group 'master' has 2 instances but was allocated 1 static IPs",
        ],
      );
      assert.match(e.message, /^Validating deployment manifest: instance_groups\[0\]\.jobs\[0\]\.release: unknown release/);
      return true;
    },
  );
});

test('the cloud-config is validated with paths too', () => {
  assert.throws(
    () => parseCloudConfig({ networks: [{ name: 'n', subnets: [{ range: '10.0.0.0/33', azs: ['zz'] }] }] }),
    /networks\[0\]\.subnets\[0\]\.azs: unknown az 'zz'; networks\[0\]\.subnets\[0\]\.range: '10\.0\.0\.0\/33' is not a CIDR range/,
  );
});
