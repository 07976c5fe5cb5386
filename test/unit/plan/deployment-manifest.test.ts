import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCloudConfig } from '../../../src/plan/cloud-config.js';
import { maxInFlightFor, parseDeploymentManifest } from '../../../src/plan/deployment-manifest.js';
import { ValidationError } from '../../../src/plan/validation.js';

const cloud = parseCloudConfig({
  azs: [{ name: 'z1' }],
  networks: [
    {
      name: 'default',
      subnets: [{ range: '10.0.0.0/24', gateway: '10.0.0.1', static: ['10.0.0.10-10.0.0.20'], azs: ['z1'] }],
    },
  ],
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
    {
      name: 'master',
      azs: ['z1'],
      instances: 1,
      jobs: [{ name: 'kube-apiserver', release: 'kubo', properties: { a: 1 } }],
      vm_type: 'small',
      vm_extensions: ['lb'],
      stemcell: 'default',
      persistent_disk_type: '5120',
      networks: [{ name: 'default' }],
    },
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
      {
        name: 'master',
        azs: ['z9'],
        instances: 2,
        jobs: [{ name: 'x', release: 'nope' }],
        vm_type: 'huge',
        vm_extensions: ['missing'],
        stemcell: 'other',
        networks: [{ name: 'default', static_ips: ['10.0.0.10'] }],
      },
      { name: 'worker', instances: 'three', jobs: [], stemcell: 'default', networks: [] },
    ],
  };
  assert.throws(
    () => parseDeploymentManifest(bad, cloud),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(
        e.problems.map((p) => p.path),
        ["instance_groups 'worker'.instances", "instance_groups 'worker'.networks"],
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
          "instance_groups 'master'.jobs 'x'.release: unknown release 'nope' (releases: 'kubo')",
          "instance_groups 'master'.stemcell: unknown stemcell alias 'other'",
          "instance_groups 'master'.vm_type: unknown vm_type 'huge' in the cloud-config",
          "instance_groups 'master'.vm_extensions[0]: unknown vm_extension 'missing' in the cloud-config",
          "instance_groups 'master'.azs[0]: unknown az 'z9' in the cloud-config",
          "instance_groups 'master'.networks 'default'.static_ips: instance group 'master' has 2 instances but was allocated 1 static IPs",
        ],
      );
      assert.match(
        e.message,
        /^Validating deployment manifest: instance_groups 'master'\.jobs 'x'\.release: unknown release/,
      );
      return true;
    },
  );
});

test('the cloud-config is validated with paths too', () => {
  assert.throws(
    () => parseCloudConfig({ networks: [{ name: 'n', subnets: [{ range: '10.0.0.0/33', azs: ['zz'] }] }] }),
    /networks 'n'\.subnets\[0\]\.azs: unknown az 'zz'; networks 'n'\.subnets\[0\]\.range: '10\.0\.0\.0\/33' is not a CIDR range/,
  );
});

test('an update block is judged beyond its schema: watch ranges, max_in_flight percentages', () => {
  const bad = {
    ...base,
    update: { ...base.update, max_in_flight: '150%', update_watch_time: '5000-100' },
    instance_groups: [
      { ...base.instance_groups[0]!, update: { canary_watch_time: '30000-1000', max_in_flight: '0%' } },
    ],
  };
  assert.throws(
    () => parseDeploymentManifest(bad, cloud),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(
        e.problems.map((p) => `${p.path}: ${p.message}`),
        [
          "update.update_watch_time: the minimum is greater than the maximum, found '5000-100' (write 'min-max' in milliseconds)",
          "update.max_in_flight: expected a percentage from 1% to 100%, found '150%'",
          "instance_groups 'master'.update.canary_watch_time: the minimum is greater than the maximum, found '30000-1000' (write 'min-max' in milliseconds)",
          "instance_groups 'master'.update.max_in_flight: expected a percentage from 1% to 100%, found '0%'",
        ],
      );
      return true;
    },
  );
});

test('the root of a manifest: empty, a list, a scalar, no name, v1 keys', () => {
  const msg = (doc: unknown) => {
    try {
      parseDeploymentManifest(doc, cloud, "deployment manifest 'x.yml'");
    } catch (e) {
      return (e as Error).message;
    }
    return 'accepted';
  };
  assert.equal(
    msg(null),
    "Validating deployment manifest 'x.yml': the manifest is empty (expected a map with name, releases, stemcells, update and instance_groups)",
  );
  assert.equal(msg(['a']), "Validating deployment manifest 'x.yml': expected a map at the root, found a list");
  assert.equal(msg(7), "Validating deployment manifest 'x.yml': expected a map at the root, found number 7");
  assert.equal(
    msg({ ...base, name: undefined }),
    "Validating deployment manifest 'x.yml': name: is required (the deployment name)",
  );
  assert.match(
    msg({ ...base, resource_pools: [] }),
    /^Validating deployment manifest 'x\.yml': resource_pools: is a v1 key: give each instance group a 'vm_type'/,
  );
});

test('the cloud-config: overlapping subnets and reserved ranges outside their subnet are refused', () => {
  assert.throws(
    () =>
      parseCloudConfig({
        networks: [
          {
            name: 'a',
            subnets: [{ range: '10.0.0.0/24', reserved: ['10.0.1.0-10.0.1.9'] }, { range: '10.0.0.128/25' }],
          },
          { name: 'b', subnets: [{ range: '10.0.0.0/24' }] },
        ],
      }),
    (e: unknown) => {
      assert.ok(e instanceof ValidationError);
      assert.deepEqual(
        e.problems.map((p) => `${p.path}: ${p.message}`),
        [
          "networks 'a'.subnets[0].reserved: '10.0.1.0-10.0.1.9' is outside range '10.0.0.0/24'",
          "networks 'a'.subnets[1].range: '10.0.0.128/25' overlaps subnets[0] '10.0.0.0/24'",
        ],
      );
      return true;
    },
  );
});
