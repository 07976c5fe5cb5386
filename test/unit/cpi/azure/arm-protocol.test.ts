import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { AzureCpi } from '../../../../cpi/azure/azure-cpi.js';
import { buildAzureClients } from '../../../../cpi/azure/clients.js';
import { parseAzureCpiConfig } from '../../../../cpi/azure/config.js';
import { ensureFoundation, parseFoundationProps } from '../../../../cpi/azure/foundation.js';
import type { Networks, VmEnv } from '../../../../cpi/contract.js';
import { generateSshKeyPair } from '../../../../src/crypto/ssh-keys.js';
import { startFakeArm, type FakeArm } from '../../../fakes/arm/fake-arm.js';
import { fakeArmToken, rawRequest } from '../../../fakes/arm/raw-client.js';
import type { RequestLogEntry } from '../../../fakes/arm/request-log.js';
import { scaledArmClock } from '../../../helpers/arm-clock.js';

// The Azure CPI against ARM's protocol as the fake speaks it with its time model on: operations
// take their (scaled) time and say Retry-After, writes conflict while another operation holds a
// resource, operations end Canceled, a failed create reserves its NIC. The CPI's request budget is
// counted from the fake's request log (requests, not time).

const RG = 'proto-rg';

describe('Azure CPI on ARM’s protocol (time model, conflicts, Canceled, budget)', () => {
  let fake: FakeArm;
  let cpi: AzureCpi;
  let scratch: string;
  let stemcell: string;
  const director = generateSshKeyPair('ed25519', 'director');
  const id = (type: string, name: string) =>
    `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}/providers/${type}/${name}`;
  const net = (ip: string): Networks => ({
    default: {
      type: 'manual',
      ip,
      netmask: '255.255.255.0',
      gateway: '10.0.0.1',
      default: ['dns', 'gateway'],
      cloud_properties: { virtual_network_name: 'vnet', subnet_name: 'bosh' },
    },
  });
  const env = (agentId: string): VmEnv => ({
    director: {
      uuid: 'dir-uuid',
      deployment: 'cfcr',
      instance: { group: 'worker', index: 0, id: `i-${agentId}` },
      agentId,
    },
    ssh: { hostPrivateKey: generateSshKeyPair('ed25519', 'host').privateKey, authorizedKeys: [director.publicKey] },
  });
  const since = (n: number): RequestLogEntry[] =>
    fake.requestLog
      .entries()
      .slice(n)
      .filter((e) => e.resourceType !== 'auth');
  const isPoll = (e: RequestLogEntry) => e.method === 'GET' && /\/operations$/.test(e.resourceType);

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'azure-protocol-'));
    fake = await startFakeArm({
      lro: { pollsBeforeDone: 0, timeScale: 0.002 },
      marketplaceImages: [
        {
          publisher: 'example-isv',
          offer: 'bosh-stemcell-offer',
          sku: 'jammy',
          versions: ['1.0.0', '1.2.0'],
          plan: true,
        },
      ],
    });
    const properties = {
      location: 'westeurope',
      subscription_id: fake.subscriptionId,
      tenant_id: fake.tenantId,
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      resource_group_name: RG,
      default_security_group: 'nsg-bosh',
      resource_manager_endpoint: fake.endpoint,
      authority_host: fake.authorityHost,
      ca_cert: fake.caPem,
      foundation: {
        virtual_network_name: 'vnet',
        subnet_name: 'bosh',
        internal_cidr: '10.0.0.0/24',
        security_groups: [
          { name: 'nsg-bosh', rules: [{ name: 'ssh', port: 22, source: '10.0.0.0/24', priority: 200 }] },
        ],
      },
    };
    const config = parseAzureCpiConfig(properties);
    const clients = buildAzureClients(config, { retry: { maxRetries: 3, retryDelayInMs: 5, maxRetryDelayInMs: 20 } });
    await ensureFoundation(clients, parseFoundationProps(properties), { pollIntervalMs: 5 });
    fake.lro.latency = 'time';
    cpi = new AzureCpi(config, {
      clients,
      directorUuid: 'dir-uuid',
      clock: scaledArmClock(() => fake.lro.timeScale),
      lockDir: join(scratch, 'locks'),
    });
    stemcell = await cpi.createStemcell('', {
      name: 'light',
      version: '1',
      image: {
        publisher: 'Canonical',
        offer: '0001-com-ubuntu-server-jammy',
        sku: '22_04-lts-gen2',
        version: 'latest',
      },
    });
  });
  after(async () => {
    await fake?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('create_vm costs at most 2 writes and 4 reads (polls included); set_vm_metadata one Tags merge; delete_vm deletes the VM once', async () => {
    let n = fake.requestLog.entries().length;
    const { vmCid } = await cpi.createVm(
      'agent-b',
      stemcell,
      { instance_type: 'Standard_D2s_v3', availability_zone: '1' },
      net('10.0.0.20'),
      [],
      env('agent-b'),
    );
    const create = since(n);
    const writes = create.filter((e) => e.method !== 'GET');
    assert.deepEqual(
      writes.map((e) => `${e.method} ${e.path.split('/').slice(-2).join('/')}`),
      ['PUT networkInterfaces/agent-b-0', 'PUT virtualMachines/agent-b'],
    );
    assert.ok(
      create.filter((e) => e.method === 'GET').length <= 4,
      `reads: ${JSON.stringify(create.map((e) => e.path))}`,
    );
    assert.ok(
      create.filter(isPoll).length >= 1,
      'the VM create is followed by its operation status, as Retry-After says',
    );

    n = fake.requestLog.entries().length;
    await cpi.setVmMetadata(vmCid, { name: 'worker/0', director: 'my-director' });
    const meta = since(n);
    assert.deepEqual(
      meta.map((e) => `${e.method} ${e.resourceType}`),
      ['PATCH Microsoft.Resources/tags'],
    );
    const tags = fake.state.get(id('Microsoft.Compute/virtualMachines', 'agent-b'))!.body.tags;
    assert.deepEqual(
      [tags.name, tags.director],
      ['worker/0', 'dir-uuid'],
      'metadata merged; the identity create_vm wrote wins',
    );

    n = fake.requestLog.entries().length;
    await cpi.deleteVm(vmCid);
    const del = since(n);
    assert.deepEqual(
      del.filter((e) => e.method !== 'GET').map((e) => `${e.method} ${e.path.split('/').slice(-2).join('/')}`),
      ['DELETE virtualMachines/agent-b'],
    );
    for (const [t, name] of [
      ['Microsoft.Compute/virtualMachines', 'agent-b'],
      ['Microsoft.Network/networkInterfaces', 'agent-b-0'],
      ['Microsoft.Compute/disks', 'bosh-disk-os-agent-b'],
      ['Microsoft.Compute/disks', 'bosh-disk-os-agent-b-ephemeral-disk'],
    ] as const) {
      assert.equal(fake.state.get(id(t, name)), undefined, `${t}/${name} is gone`);
    }
  });

  it('409 AnotherOperationInProgress is waited out and the request sent again', async () => {
    fake.faults.enqueue({ kind: 'conflict', method: 'PUT', pathIncludes: '/networkInterfaces/agent-c-0', count: 2 });
    const before = cpi.stats().conflicts;
    const { vmCid } = await cpi.createVm(
      'agent-c',
      stemcell,
      { instance_type: 'Standard_B1ms' },
      net('10.0.0.21'),
      [],
      env('agent-c'),
    );
    assert.equal(cpi.stats().conflicts - before, 2);
    await cpi.deleteVm(vmCid);
  });

  it('a VM create that ends Canceled (OperationPreempted) is cleaned up and made again', async () => {
    fake.faults.enqueue({ kind: 'canceled', method: 'PUT', pathIncludes: '/virtualMachines/agent-x' });
    const before = cpi.stats().asyncRetries;
    const { vmCid } = await cpi.createVm(
      'agent-x',
      stemcell,
      { instance_type: 'Standard_B1ms' },
      net('10.0.0.22'),
      [],
      env('agent-x'),
    );
    assert.equal(cpi.stats().asyncRetries - before, 1);
    assert.equal(
      fake.state.get(id('Microsoft.Compute/virtualMachines', 'agent-x'))?.body.properties.provisioningState,
      'Succeeded',
    );
    await cpi.deleteVm(vmCid);
  });

  it('a NIC reserved after a failed create is deleted once its 180 s (scaled) are over', async () => {
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/virtualMachines/agent-r' });
    const token = await fakeArmToken(fake);
    // the NIC outlives the failed VM here: the VM is made without deleteOption Delete by this raw
    // PUT, so that delete_vm meets NicReservedForAnotherVm on it
    const nic = await rawRequest(
      fake,
      'PUT',
      `${id('Microsoft.Network/networkInterfaces', 'agent-r-0')}?api-version=2024-05-01`,
      {
        token,
        body: {
          location: 'westeurope',
          properties: {
            ipConfigurations: [
              {
                name: 'ip',
                properties: { subnet: { id: `${id('Microsoft.Network/virtualNetworks', 'vnet')}/subnets/bosh` } },
              },
            ],
          },
        },
      },
    );
    assert.equal(nic.status, 201);
    const vm = await rawRequest(
      fake,
      'PUT',
      `${id('Microsoft.Compute/virtualMachines', 'agent-r')}?api-version=2024-07-01`,
      {
        token,
        body: {
          location: 'westeurope',
          tags: { director: 'dir-uuid', agent_id: 'agent-r' },
          properties: {
            hardwareProfile: { vmSize: 'Standard_B1ms' },
            storageProfile: { imageReference: { publisher: 'Canonical', offer: 'jammy', sku: 's', version: 'latest' } },
            osProfile: { computerName: 'agent-r', adminUsername: 'vcap' },
            networkProfile: { networkInterfaces: [{ id: id('Microsoft.Network/networkInterfaces', 'agent-r-0') }] },
          },
        },
      },
    );
    for (let i = 0; i < 100; i++) {
      const op = await rawRequest(fake, 'GET', vm.headers['azure-asyncoperation'] as string, { token });
      if (op.body.status !== 'InProgress') break;
      await new Promise((r) => setTimeout(r, 20));
    }
    const n = fake.requestLog.entries().length;
    await cpi.deleteVm(`agent_id:agent-r;resource_group_name:${RG}`);
    const refused = since(n).filter((e) => e.method === 'DELETE' && e.path.endsWith('/agent-r-0') && e.status === 400);
    assert.ok(refused.length >= 1, 'the NIC delete met NicReservedForAnotherVm at least once');
    assert.equal(fake.state.get(id('Microsoft.Network/networkInterfaces', 'agent-r-0')), undefined);
  });

  it('a shared disk (max_shares 2, Premium) attaches to two VMs; a regional disk moves into a zonal VM’s zone under the same cid', async () => {
    const a = await cpi.createVm(
      'agent-s1',
      stemcell,
      { instance_type: 'Standard_D2s_v3', availability_zone: '2' },
      net('10.0.0.23'),
      [],
      env('agent-s1'),
    );
    const b = await cpi.createVm(
      'agent-s2',
      stemcell,
      { instance_type: 'Standard_D2s_v3', availability_zone: '2' },
      net('10.0.0.24'),
      [],
      env('agent-s2'),
    );
    const shared = await cpi.createDisk(4096, { storage_account_type: 'Premium_LRS', max_shares: 2 }, a.vmCid);
    await cpi.attachDisk(a.vmCid, shared);
    await cpi.attachDisk(b.vmCid, shared);
    const name = /disk_name:([^;]+)/.exec(shared)![1]!;
    const token = await fakeArmToken(fake);
    const got = await rawRequest(fake, 'GET', `${id('Microsoft.Compute/disks', name)}?api-version=2024-03-02`, {
      token,
    });
    assert.deepEqual(
      got.body.managedByExtended.map((x: string) => x.split('/').pop()),
      ['agent-s1', 'agent-s2'],
    );

    const regional = await cpi.createDisk(2048, { storage_account_type: 'Premium_LRS' });
    const rname = /disk_name:([^;]+)/.exec(regional)![1]!;
    assert.equal(fake.state.get(id('Microsoft.Compute/disks', rname))!.body.zones, undefined);
    const hint = await cpi.attachDisk(a.vmCid, regional);
    assert.deepEqual(fake.state.get(id('Microsoft.Compute/disks', rname))!.body.zones, ['2']);
    assert.ok('lun' in hint);
    assert.ok((await cpi.getDisks(a.vmCid)).includes(regional));
    assert.equal(fake.state.list('Microsoft.Compute/snapshots').length, 0, 'the move leaves no snapshot');
    for (const vm of [a.vmCid, b.vmCid]) await cpi.deleteVm(vm);
    await cpi.deleteDisk(shared);
    await cpi.deleteDisk(regional);
  });

  it('a proximity placement group holds the availability set, the VM and the disk', async () => {
    const token = await fakeArmToken(fake);
    const ppg = await rawRequest(
      fake,
      'PUT',
      `${id('Microsoft.Compute/proximityPlacementGroups', 'ppg1')}?api-version=2024-07-01`,
      { token, body: { location: 'westeurope' } },
    );
    assert.equal(ppg.status, 201);
    const { vmCid } = await cpi.createVm(
      'agent-p',
      stemcell,
      { instance_type: 'Standard_D2s_v3', availability_set: 'as-ppg', proximity_placement_group: 'ppg1' },
      net('10.0.0.25'),
      [],
      env('agent-p'),
    );
    const disk = await cpi.createDisk(1024, { proximity_placement_group: 'ppg1' }, vmCid);
    const got = await rawRequest(
      fake,
      'GET',
      `${id('Microsoft.Compute/proximityPlacementGroups', 'ppg1')}?api-version=2024-07-01`,
      { token },
    );
    assert.deepEqual(
      got.body.properties.virtualMachines.map((x: { id: string }) => x.id.split('/').pop()),
      ['agent-p'],
    );
    assert.deepEqual(
      got.body.properties.availabilitySets.map((x: { id: string }) => x.id.split('/').pop()),
      ['as-ppg'],
    );
    assert.equal(
      fake.state
        .get(id('Microsoft.Compute/disks', /disk_name:([^;]+)/.exec(disk)![1]!))!
        .body.properties.proximityPlacementGroup.id.split('/')
        .pop(),
      'ppg1',
    );
    await cpi.deleteVm(vmCid);
    await cpi.deleteDisk(disk);
    await assert.rejects(
      cpi.createVm(
        'agent-q',
        stemcell,
        { instance_type: 'Standard_D2s_v3', proximity_placement_group: 'nope' },
        net('10.0.0.26'),
        [],
        env('agent-q'),
      ),
      /InvalidCloudProperties error: cloud_properties\.proximity_placement_group: /,
    );
  });

  it('a light stemcell names a marketplace image that exists; one with a purchase plan carries it to every VM', async () => {
    await assert.rejects(
      cpi.createStemcell('', {
        name: 'light',
        version: '2',
        image: { publisher: 'Canonical', offer: 'no-such-offer', sku: 'x', version: 'latest' },
      }),
      /InvalidCloudProperties error: cloud_properties\.image: the marketplace image Canonical:no-such-offer:x:latest does not exist in location 'westeurope'$/,
    );
    await assert.rejects(
      cpi.createStemcell('', {
        name: 'light',
        version: '2',
        image: {
          publisher: 'Canonical',
          offer: '0001-com-ubuntu-server-jammy',
          sku: '22_04-lts-gen2',
          version: '1.0.0',
        },
      }),
      /does not exist in location/,
    );
    const planned = await cpi.createStemcell('', {
      name: 'isv',
      version: '1',
      image: { publisher: 'example-isv', offer: 'bosh-stemcell-offer', sku: 'jammy', version: 'latest' },
    });
    const { vmCid } = await cpi.createVm(
      'agent-plan',
      planned,
      { instance_type: 'Standard_B1ms' },
      net('10.0.0.27'),
      [],
      env('agent-plan'),
    );
    assert.deepEqual(
      fake.state.get(id('Microsoft.Compute/virtualMachines', 'agent-plan'))!.body.plan ??
        fake.state.get(id('Microsoft.Compute/virtualMachines', 'agent-plan'))!.body.properties.plan,
      { name: 'jammy', product: 'bosh-stemcell-offer', publisher: 'example-isv' },
    );
    await cpi.deleteVm(vmCid);
  });
});
