// A bad vm_type or disk_type is refused when the deployment is planned, in one line naming the
// instance group, the vm_type and the disk_type, before anything is created: the director's
// prepare step with the real state store and the Azure CPI's cloud property rules (an Azure CPI
// object that is never asked to call Azure).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureCpi } from '../../../cpi/azure/azure-cpi.js';
import { parseAzureCpiConfig } from '../../../cpi/azure/config.js';
import { parseLocalCpiConfig } from '../../../cpi/local/config.js';
import { localEnvironmentCpi } from '../../../cpi/local/environment.js';
import { Director } from '../../../src/deploy/director.js';
import type { AgentDialer } from '../../../src/deploy/ports.js';
import { formatErrorChain } from '../../../src/errors.js';
import { parseYaml } from '../../../src/manifest/yaml.js';
import { openBlobstore } from '../../../src/release/blobstore.js';
import { openStateStore, type StateStore } from '../../../src/state/index.js';

let dir: string;
let store: StateStore;

const unreachable: AgentDialer = {
  agent: () => {
    throw new Error('no agent is reached while planning');
  },
  closeAll: async () => undefined,
};

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-cp-check-'));
  store = openStateStore(join(dir, 'state.db'));
  store.environment.create({
    name: 'local',
    directorUuid: 'dir-uuid',
    cpiType: 'local',
    cpiProperties: { root: join(dir, 'local'), ssh_port: 2222, load_balancers: {} },
    sshKey: { privateKey: 'x', publicKey: 'y' },
  });
  store.stemcells.add({
    name: 'bosh-azure-hyperv-ubuntu-jammy-go_agent',
    version: '1',
    os: 'ubuntu-jammy',
    cid: 'stemcell-cid',
    cpi: 'local',
  });
});

after(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function director(): Director {
  const environment = store.environment.get()!;
  const local = localEnvironmentCpi(parseLocalCpiConfig(environment.cpiProperties), environment.directorUuid);
  const azure = new AzureCpi(
    parseAzureCpiConfig({
      subscription_id: 's',
      tenant_id: 't',
      client_id: 'c',
      client_secret: 'x',
      resource_group_name: 'rg',
      location: 'westeurope',
    }),
  );
  const cpi = Object.assign(Object.create(local.cpi) as typeof local.cpi, {
    checkCloudProperties: azure.checkCloudProperties.bind(azure),
  });
  return new Director({
    store,
    environment,
    cpi: { ...local, cpi },
    agents: unreachable,
    blobstore: openBlobstore(join(dir, 'blobs')),
    sleep: async () => undefined,
  });
}

function cloudConfig(vmType: Record<string, unknown>, diskType: Record<string, unknown>): string {
  return JSON.stringify({
    azs: [{ name: 'z1', cloud_properties: { availability_zone: '1' } }],
    networks: [
      {
        name: 'default',
        type: 'manual',
        subnets: [
          {
            range: '10.0.0.0/24',
            gateway: '10.0.0.1',
            azs: ['z1'],
            cloud_properties: { virtual_network_name: 'v', subnet_name: 's' },
          },
        ],
      },
    ],
    vm_types: [{ name: 'small', cloud_properties: vmType }],
    disk_types: [{ name: 'fast', disk_size: 1024, cloud_properties: diskType }],
    compilation: { workers: 1, network: 'default', az: 'z1', reuse_compilation_vms: true, vm_type: 'small' },
  });
}

const manifest = [
  'name: d',
  'releases: []',
  'stemcells: [{alias: default, os: ubuntu-jammy, version: "1"}]',
  'update: {canaries: 1, max_in_flight: 1, canary_watch_time: 1000, update_watch_time: 1000}',
  'instance_groups:',
  '- name: master',
  '  instances: 1',
  '  azs: [z1]',
  '  vm_type: small',
  '  persistent_disk_type: fast',
  '  stemcell: default',
  '  networks: [{name: default}]',
  '  jobs: []',
  '',
].join('\n');

const none = { get: () => undefined, names: () => [] };

const cases: [what: string, vm: Record<string, unknown>, disk: Record<string, unknown>, message: string][] = [
  [
    'Premium_LRS root disk on a size without premium storage',
    { instance_type: 'Standard_D1_v2', root_disk: { type: 'Premium_LRS' } },
    {},
    "Checking cloud properties of instance group 'master', vm_type 'small', az 'z1', disk_type 'fast': cloud_properties.root_disk.type 'Premium_LRS' needs a VM size with premium storage; instance_type 'Standard_D1_v2' has none",
  ],
  [
    'a Premium disk_type for a size without premium storage',
    { instance_type: 'Standard_A1_v2' },
    { storage_account_type: 'Premium_LRS' },
    "Checking cloud properties of instance group 'master', vm_type 'small', az 'z1', disk_type 'fast': disk cloud_properties.storage_account_type 'Premium_LRS' needs a VM size with premium storage; instance_type 'Standard_A1_v2' has none",
  ],
  [
    'max_shares on Standard_LRS',
    { instance_type: 'Standard_D2s_v3' },
    { max_shares: 2 },
    "Checking cloud properties of instance group 'master', vm_type 'small', az 'z1', disk_type 'fast': cloud_properties.max_shares 2 needs a shareable storage_account_type (Premium_LRS, Premium_ZRS, StandardSSD_LRS, StandardSSD_ZRS, PremiumV2_LRS, UltraSSD_LRS), found 'Standard_LRS'",
  ],
  [
    'a tag name Azure refuses',
    { instance_type: 'Standard_D2s_v3', tags: { 'a/b': 'x' } },
    {},
    "Checking cloud properties of instance group 'master', vm_type 'small', az 'z1', disk_type 'fast': cloud_properties.tags: tag name 'a/b' is not allowed by Azure (no < > % & \\ ? /, at most 512 characters)",
  ],
  [
    'more tags than Azure allows',
    {
      instance_type: 'Standard_D2s_v3',
      tags: Object.fromEntries(Array.from({ length: 45 }, (_, i) => [`t${i}`, 'v'])),
    },
    {},
    "Checking cloud properties of instance group 'master', vm_type 'small', az 'z1', disk_type 'fast': cloud_properties.tags has 45 tags; with the director's 6 that is more than Azure's 50 per resource",
  ],
  [
    'an instance_type that is no Azure size',
    { instance_type: 'big' },
    {},
    "Checking cloud properties of instance group 'master', vm_type 'small', az 'z1', disk_type 'fast': cloud_properties.instance_type must be an Azure VM size such as Standard_D2s_v3, found 'big'",
  ],
  [
    'availability_zone together with availability_set',
    { instance_type: 'Standard_D2s_v3', availability_set: 'as' },
    {},
    "Checking cloud properties of instance group 'master', vm_type 'small', az 'z1', disk_type 'fast': cloud_properties.availability_zone and cloud_properties.availability_set cannot be used together",
  ],
];

for (const [what, vm, disk, message] of cases) {
  test(`plan time refuses ${what}, naming the vm_type and disk_type; nothing is written`, async () => {
    store.cloudConfigs.update(cloudConfig(vm, disk));
    const before = { vms: store.vms.listByDeployment('d').length, instances: store.instances.list('d').length };
    await assert.rejects(director().prepare('d', parseYaml(manifest, 'manifest'), none, {}), (err: unknown) => {
      const line = formatErrorChain(err);
      assert.equal(line, message);
      assert.ok(!line.includes('\n'));
      return true;
    });
    assert.deepEqual(
      { vms: store.vms.listByDeployment('d').length, instances: store.instances.list('d').length },
      before,
    );
  });
}

test('a good vm_type and disk_type plan', async () => {
  store.cloudConfigs.update(
    cloudConfig(
      { instance_type: 'Standard_D2s_v3', root_disk: { type: 'Premium_LRS' } },
      { storage_account_type: 'Premium_LRS', max_shares: 2 },
    ),
  );
  const p = await director().prepare('d', parseYaml(manifest, 'manifest'), none, {});
  assert.equal(p.plan.groups[0]!.plans.length, 1);
});
