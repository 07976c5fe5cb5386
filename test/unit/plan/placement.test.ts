import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseCloudConfig } from '../../../src/plan/cloud-config.js';
import { parseDeploymentManifest } from '../../../src/plan/deployment-manifest.js';
import { placeGroup, type RecordedPlacement } from '../../../src/plan/placement.js';
import type { Plain } from '../../../src/manifest/value.js';

const cloud = parseCloudConfig({
  azs: [{ name: 'z1' }, { name: 'z2' }, { name: 'z3' }],
  networks: [
    {
      name: 'default',
      type: 'manual',
      subnets: [
        {
          range: '10.0.1.0/24',
          gateway: '10.0.1.1',
          reserved: ['10.0.1.2 - 10.0.1.9'],
          static: ['10.0.1.10 - 10.0.1.19'],
          azs: ['z1'],
          dns: ['8.8.8.8'],
        },
        {
          range: '10.0.2.0/24',
          gateway: '10.0.2.1',
          reserved: ['10.0.2.2-10.0.2.9'],
          static: ['10.0.2.10-10.0.2.19'],
          azs: ['z2'],
        },
        { range: '10.0.3.0/24', gateway: '10.0.3.1', static: ['10.0.3.10'], azs: ['z3'] },
      ],
    },
  ],
  vm_types: [{ name: 'small' }],
  disk_types: [{ name: '5120', disk_size: 5120 }],
});

function group(extra: Record<string, Plain> = {}, instances = 3) {
  const m = parseDeploymentManifest(
    {
      name: 'd',
      releases: [{ name: 'r', version: '1' }],
      stemcells: [{ alias: 'default', os: 'ubuntu-jammy', version: 'latest' }],
      update: { canaries: 1, max_in_flight: 1, canary_watch_time: '1000-2000', update_watch_time: 1000 },
      instance_groups: [
        {
          name: 'web',
          azs: ['z1', 'z2', 'z3'],
          instances,
          jobs: [{ name: 'j', release: 'r' }],
          vm_type: 'small',
          stemcell: 'default',
          networks: [{ name: 'default' }],
          ...extra,
        },
      ],
    },
    cloud,
  );
  return m.instanceGroups[0]!;
}

let n = 0;
const uuid = () => `uuid-${++n}`;

test('new instances go round-robin across azs, with the lowest free dynamic addresses', () => {
  n = 0;
  const p = placeGroup(group({}, 4), cloud, [], new Map(), uuid);
  assert.deepEqual(
    p.desired.map((i) => [i.index, i.az, i.networks[0]!.ip, i.bootstrap]),
    [
      [0, 'z1', '10.0.1.20', true],
      [1, 'z2', '10.0.2.20', false],
      [2, 'z3', '10.0.3.2', false],
      [3, 'z1', '10.0.1.21', false],
    ],
  );
  assert.equal(p.desired[0]!.networks[0]!.netmask, '255.255.255.0');
  assert.equal(p.desired[0]!.networks[0]!.gateway, '10.0.1.1');
  assert.deepEqual(p.desired[0]!.networks[0]!.dns, ['8.8.8.8']);
});

test('existing instances keep uuid, index, az and address; scale-down removes from the fullest az', () => {
  const recorded: RecordedPlacement[] = [
    { group: 'web', index: 0, uuid: 'a', az: 'z1', bootstrap: true, ips: { default: '10.0.1.20' } },
    { group: 'web', index: 1, uuid: 'b', az: 'z2', bootstrap: false, ips: { default: '10.0.2.20' } },
    { group: 'web', index: 2, uuid: 'c', az: 'z3', bootstrap: false, ips: { default: '10.0.3.2' } },
    { group: 'web', index: 3, uuid: 'd', az: 'z1', bootstrap: false, ips: { default: '10.0.1.21' } },
  ];
  const p = placeGroup(group({}, 3), cloud, recorded, new Map(), uuid);
  assert.deepEqual(
    p.desired.map((i) => i.uuid),
    ['a', 'b', 'c'],
  );
  assert.deepEqual(
    p.obsolete.map((i) => i.uuid),
    ['d'],
  );
  assert.deepEqual(
    p.desired.map((i) => i.networks[0]!.ip),
    ['10.0.1.20', '10.0.2.20', '10.0.3.2'],
  );
  assert.ok(p.desired.every((i) => !i.isNew));
});

test('scale-up reuses the lowest free index and the emptiest az; bootstrap stays put', () => {
  n = 100;
  const recorded: RecordedPlacement[] = [
    { group: 'web', index: 1, uuid: 'b', az: 'z2', bootstrap: true, ips: { default: '10.0.2.20' } },
    { group: 'web', index: 2, uuid: 'c', az: 'z3', bootstrap: false, ips: { default: '10.0.3.2' } },
  ];
  const p = placeGroup(group({}, 3), cloud, recorded, new Map(), uuid);
  const fresh = p.desired.find((i) => i.isNew)!;
  assert.deepEqual([fresh.index, fresh.az, fresh.uuid], [0, 'z1', 'uuid-101']);
  assert.equal(p.desired.find((i) => i.bootstrap)!.uuid, 'b');
});

test('static IPs pin instances to the az of their subnet and are kept by their holders', () => {
  n = 0;
  const g = group({ networks: [{ name: 'default', static_ips: ['10.0.1.10', '10.0.2.10', '10.0.3.10'] }] }, 3);
  const recorded: RecordedPlacement[] = [
    { group: 'web', index: 0, uuid: 'a', az: 'z2', bootstrap: true, ips: { default: '10.0.2.10' } },
  ];
  const p = placeGroup(g, cloud, recorded, new Map(), uuid);
  assert.deepEqual(
    p.desired.map((i) => [i.uuid, i.az, i.networks[0]!.ip, i.networks[0]!.static]),
    [
      ['a', 'z2', '10.0.2.10', true],
      ['uuid-1', 'z1', '10.0.1.10', true],
      ['uuid-2', 'z3', '10.0.3.10', true],
    ],
  );
});

test('addresses owned by other instances are never handed out', () => {
  n = 0;
  const owners = new Map([['default', new Map([[0x0a000114, 'someone-else']])]]); // 10.0.1.20
  const p = placeGroup(group({ azs: ['z1'] }, 1), cloud, [], owners, uuid);
  assert.equal(p.desired[0]!.networks[0]!.ip, '10.0.1.21');
  assert.equal(owners.get('default')!.get(0x0a000115), 'uuid-1');
});
