import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCloudConfig } from '../../../src/plan/cloud-config.js';
import { parseDeploymentManifest } from '../../../src/plan/deployment-manifest.js';
import { planDeployment, type ReleaseView } from '../../../src/plan/plan.js';
import { parseJobSpec } from '../../../src/release/job-spec.js';
import { stemcellKey, vmDigests, type RecordedInstance } from '../../../src/plan/instance-plan.js';
import { formatErrorChain } from '../../../src/errors.js';
import type { Plain } from '../../../src/manifest/value.js';

const cloud = parseCloudConfig({
  azs: [
    { name: 'z1', cloud_properties: { zone: '1' } },
    { name: 'z2', cloud_properties: { zone: '2' } },
  ],
  networks: [
    {
      name: 'default',
      subnets: [
        {
          range: '10.0.0.0/24',
          gateway: '10.0.0.1',
          reserved: ['10.0.0.2-10.0.0.9'],
          static: ['10.0.0.10-10.0.0.19'],
          azs: ['z1', 'z2'],
        },
      ],
    },
  ],
  vm_types: [{ name: 'small', cloud_properties: { instance_type: 'S' } }],
  vm_extensions: [{ name: 'lb', cloud_properties: { load_balancer: 'cfcr-lb' } }],
  disk_types: [{ name: '1024', disk_size: 1024 }],
});

const specs: Record<string, Plain> = {
  etcd: {
    name: 'etcd',
    templates: { 'conf.ejs': 'config/etcd.conf' },
    properties: { port: { default: 2379 } },
    provides: [{ name: 'etcd', type: 'etcd', properties: ['port'] }],
    consumes: [{ name: 'etcd', type: 'etcd' }],
    processes: [{ name: 'etcd', executable: 'bin/etcd' }],
  },
  apiserver: {
    name: 'apiserver',
    templates: { 'api.ejs': 'config/api.conf' },
    properties: { token: {} },
    consumes: [
      { name: 'etcd', type: 'etcd' },
      { name: 'cloud', type: 'cloud-provider', optional: true },
    ],
  },
  kubelet: {
    name: 'kubelet',
    templates: { 'k.ejs': 'config/k.conf' },
    properties: { pods: { default: 110 } },
    consumes: [],
  },
};
const templates: Record<string, Record<string, string>> = {
  etcd: {
    'conf.ejs':
      'me=<%= spec.address %> peers=<%= link("etcd").instances.map((i) => i.address).join(",") %>:<%= link("etcd").p("port") %> boot=<%= spec.bootstrap %>',
  },
  apiserver: {
    'api.ejs': 'etcd=<%= link("etcd").instances.map((i) => i.address).join(",") %> token=<%= p("token") %>',
  },
  kubelet: { 'k.ejs': 'pods=<%= p("pods") %>' },
};
const release: ReleaseView = {
  name: 'kubo',
  version: '1',
  jobSpec: (j) => parseJobSpec(specs[j]!, `jobs/${j}/spec.yml`),
  jobTemplates: (j) => templates[j]!,
  packageDigests: () => ({}),
};

function manifest(workers: number, token = 'abc') {
  return parseDeploymentManifest(
    {
      name: 'my-cluster',
      releases: [{ name: 'kubo', version: '1' }],
      stemcells: [{ alias: 'default', os: 'ubuntu-jammy', version: '1.0' }],
      update: { canaries: 1, max_in_flight: 1, canary_watch_time: 1000, update_watch_time: 1000 },
      instance_groups: [
        {
          name: 'master',
          azs: ['z1', 'z2'],
          instances: 2,
          jobs: [
            { name: 'etcd', release: 'kubo' },
            { name: 'apiserver', release: 'kubo', properties: { token } },
          ],
          vm_type: 'small',
          vm_extensions: ['lb'],
          stemcell: 'default',
          persistent_disk_type: '1024',
          networks: [{ name: 'default', static_ips: ['10.0.0.10', '10.0.0.11'] }],
        },
        {
          name: 'worker',
          azs: ['z1', 'z2'],
          instances: workers,
          jobs: [{ name: 'kubelet', release: 'kubo' }],
          vm_type: 'small',
          stemcell: 'default',
          networks: [{ name: 'default' }],
        },
      ],
    },
    cloud,
  );
}

function recordAll(plan: ReturnType<typeof planDeployment>): RecordedInstance[] {
  return plan.groups.flatMap((g) =>
    g.plans.map((p) => {
      const d = p.desired!;
      return {
        uuid: d.uuid,
        group: d.group,
        index: d.index,
        az: d.az,
        bootstrap: d.bootstrap,
        state: 'started' as const,
        ips: Object.fromEntries(d.networks.map((n) => [n.name, n.ip!])),
        vm: { cid: `vm-${d.uuid}`, stemcell: stemcellKey(d.stemcell), ...vmDigests(d) },
        ...(d.persistentDisk.size
          ? {
              disk: {
                cid: `disk-${d.uuid}`,
                size: d.persistentDisk.size,
                cloudPropertiesDigest: vmDigests({ ...d, cloudProperties: d.persistentDisk.cloudProperties })
                  .cloudPropertiesDigest,
              },
            }
          : {}),
        appliedJobs: Object.fromEntries(d.jobs.map((j) => [j.name, j.digest])),
      };
    }),
  );
}

let n = 0;
const newUuid = () => `u${n++}`;

test('a first deploy creates every instance, links resolved and templates rendered', () => {
  n = 0;
  const plan = planDeployment({
    manifest: manifest(3),
    cloud,
    recorded: [],
    releases: new Map([['kubo', release]]),
    newUuid,
  });
  assert.deepEqual(
    plan.groups.map((g) => g.plans.map((p) => `${p.label} ${p.action}`)),
    [
      ['master/u0 (0) create', 'master/u1 (1) create'],
      ['worker/u2 (0) create', 'worker/u3 (1) create', 'worker/u4 (2) create'],
    ],
  );
  const m0 = plan.rendered.get('u0')!;
  assert.equal(m0[0]!.templates['config/etcd.conf'], 'me=10.0.0.10 peers=10.0.0.10,10.0.0.11:2379 boot=true');
  assert.equal(m0[1]!.templates['config/api.conf'], 'etcd=10.0.0.10,10.0.0.11 token=abc');
  assert.deepEqual(m0[0]!.processes, [{ name: 'etcd', executable: 'bin/etcd', args: [], env: {} }]);
  const d = plan.groups[0]!.plans[1]!.desired!;
  assert.deepEqual(d.cloudProperties, { zone: '2', instance_type: 'S', load_balancer: 'cfcr-lb' });
  assert.equal(d.persistentDisk.size, 1024);
  assert.deepEqual(
    plan.groups[1]!.plans.map((p) => p.desired!.networks[0]!.ip),
    ['10.0.0.20', '10.0.0.21', '10.0.0.22'],
  );
});

test('re-planning the recorded result changes nothing; a property change touches only its instances', () => {
  n = 0;
  const first = planDeployment({
    manifest: manifest(3),
    cloud,
    recorded: [],
    releases: new Map([['kubo', release]]),
    newUuid,
  });
  const recorded = recordAll(first);
  const again = planDeployment({
    manifest: manifest(3),
    cloud,
    recorded,
    releases: new Map([['kubo', release]]),
    newUuid,
  });
  assert.ok(again.groups.every((g) => g.plans.every((p) => p.action === 'unchanged')));
  assert.equal(again.deletions.length, 0);
  const changed = planDeployment({
    manifest: manifest(3, 'new-token'),
    cloud,
    recorded,
    releases: new Map([['kubo', release]]),
    newUuid,
  });
  assert.deepEqual(
    changed.groups.map((g) => g.plans.map((p) => `${p.action}:${[...p.reasons].join(',')}`)),
    [
      ['update:configuration', 'update:configuration'],
      ['unchanged:', 'unchanged:', 'unchanged:'],
    ],
  );
});

test('scaling workers down deletes the extra instance; scaling up adds new ones', () => {
  n = 0;
  const recorded = recordAll(
    planDeployment({ manifest: manifest(3), cloud, recorded: [], releases: new Map([['kubo', release]]), newUuid }),
  );
  const down = planDeployment({
    manifest: manifest(2),
    cloud,
    recorded,
    releases: new Map([['kubo', release]]),
    newUuid,
  });
  assert.deepEqual(
    down.deletions.map((p) => `${p.label} ${p.action}`),
    ['worker/u4 (2) delete'],
  );
  const up = planDeployment({
    manifest: manifest(5),
    cloud,
    recorded,
    releases: new Map([['kubo', release]]),
    newUuid,
  });
  assert.deepEqual(
    up.groups[1]!.plans.map((p) => p.action),
    ['unchanged', 'unchanged', 'unchanged', 'create', 'create'],
  );
});

test('a missing link provider is reported with its path', () => {
  const noEtcd = {
    ...release,
    jobSpec: (j: string) => parseJobSpec(j === 'etcd' ? { ...(specs['etcd'] as object), provides: [] } : specs[j]!, j),
  };
  assert.throws(
    () =>
      planDeployment({ manifest: manifest(1), cloud, recorded: [], releases: new Map([['kubo', noEtcd]]), newUuid }),
    (e: Error) => {
      assert.equal(
        formatErrorChain(e),
        "Resolving links: instance_groups 'master'.jobs 'etcd'.consumes.etcd: no link provider of type 'etcd' for link 'etcd' of job 'etcd' in instance group 'master'; instance_groups 'master'.jobs 'apiserver'.consumes.etcd: no link provider of type 'etcd' for link 'etcd' of job 'apiserver' in instance group 'master'",
      );
      return true;
    },
  );
});
