import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RestError } from '@azure/core-rest-pipeline';
import { startFakeArm, type FakeArm } from '../../fakes/arm/fake-arm.js';
import { fakeArmClients, type FakeArmClients } from '../../fakes/arm/sdk-clients.js';
import type { VmHookInfo } from '../../fakes/arm/vm-hooks.js';

// The installed SDK clients (@azure/arm-* and ClientSecretCredential), unchanged, against the fake:
// the CFCR-on-Azure foundation, a VM with custom data and an SSH key, a managed disk, and the
// refusals and back-references ARM computes.

const poll = { updateIntervalInMs: 5 };
const RG = 'bosh-rg';
const LOC = 'westus';

describe('fake ARM through the real Azure SDK', () => {
  let fake: FakeArm;
  let c: FakeArmClients;
  const created: VmHookInfo[] = [];
  const deleted: VmHookInfo[] = [];
  const restarted: VmHookInfo[] = [];
  let nicId = '';
  let vnetSubnetId = '';
  let poolId = '';
  let vmId = '';
  let diskId = '';

  before(async () => {
    fake = await startFakeArm({
      lro: { pollsBeforeDone: 2 },
      blobEndpoint: (name) => `http://127.0.0.1:10000/${name}/`,
      storageAccountKeys: (name) =>
        name === 'boshstore1' ? { key1: 'QXp1cml0ZUtleTE=', key2: 'QXp1cml0ZUtleTI=' } : undefined,
      hooks: {
        onVmCreated: async (vm) => void created.push(vm),
        onVmDeleted: async (vm) => void deleted.push(vm),
        onVmRestarted: async (vm) => void restarted.push(vm),
      },
    });
    c = fakeArmClients(fake);
  });
  after(async () => {
    await fake.stop();
  });

  it('creates the resource group (ClientSecretCredential against the fake authority)', async () => {
    const rg = await c.resources.resourceGroups.createOrUpdate(RG, { location: LOC, tags: { director: 'd1' } });
    assert.equal(rg.id, `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}`);
    assert.equal(rg.properties?.provisioningState, 'Succeeded');
    assert.deepEqual(rg.tags, { director: 'd1' });
    const kinds = fake.requestLog
      .entries()
      .filter((e) => e.resourceType === 'auth')
      .map((e) => `${e.method} ${e.path.split('/').slice(2).join('/')}`);
    assert.deepEqual(kinds, ['GET v2.0/.well-known/openid-configuration', 'POST oauth2/v2.0/token']);
  });

  it('creates vnet, subnet, NSG, public IP and a load balancer with pool, probe and rule', async () => {
    const vnet = await c.network.virtualNetworks.beginCreateOrUpdateAndWait(
      RG,
      'vnet',
      { location: LOC, addressSpace: { addressPrefixes: ['10.0.0.0/16'] } },
      poll,
    );
    assert.equal(vnet.provisioningState, 'Succeeded');
    const nsg = await c.network.networkSecurityGroups.beginCreateOrUpdateAndWait(
      RG,
      'nsg',
      {
        location: LOC,
        securityRules: [
          {
            name: 'ssh',
            protocol: 'Tcp',
            sourcePortRange: '*',
            destinationPortRange: '22',
            sourceAddressPrefix: '*',
            destinationAddressPrefix: '*',
            access: 'Allow',
            priority: 100,
            direction: 'Inbound',
          },
        ],
      },
      poll,
    );
    assert.equal(nsg.securityRules?.[0]?.id, `${nsg.id}/securityRules/ssh`);
    assert.equal(nsg.defaultSecurityRules?.length, 6);
    const subnet = await c.network.subnets.beginCreateOrUpdateAndWait(
      RG,
      'vnet',
      'bosh',
      { addressPrefix: '10.0.1.0/24', networkSecurityGroup: { id: nsg.id! } },
      poll,
    );
    assert.equal(subnet.provisioningState, 'Succeeded');
    vnetSubnetId = subnet.id!;
    const pip = await c.network.publicIPAddresses.beginCreateOrUpdateAndWait(
      RG,
      'lb-ip',
      { location: LOC, sku: { name: 'Standard' }, publicIPAllocationMethod: 'Static' },
      poll,
    );
    assert.match(pip.ipAddress ?? '', /^\d+\.\d+\.\d+\.\d+$/);
    const lbId = `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/loadBalancers/lb`;
    const lb = await c.network.loadBalancers.beginCreateOrUpdateAndWait(
      RG,
      'lb',
      {
        location: LOC,
        sku: { name: 'Standard' },
        frontendIPConfigurations: [{ name: 'fe', publicIPAddress: { id: pip.id! } }],
        backendAddressPools: [{ name: 'masters' }],
        probes: [{ name: 'api', protocol: 'Tcp', port: 8443, intervalInSeconds: 5, numberOfProbes: 2 }],
        loadBalancingRules: [
          {
            name: 'api',
            protocol: 'Tcp',
            frontendPort: 8443,
            backendPort: 8443,
            frontendIPConfiguration: { id: `${lbId}/frontendIPConfigurations/fe` },
            backendAddressPool: { id: `${lbId}/backendAddressPools/masters` },
            probe: { id: `${lbId}/probes/api` },
          },
        ],
      },
      poll,
    );
    assert.equal(lb.provisioningState, 'Succeeded');
    poolId = lb.backendAddressPools![0]!.id!;
    assert.deepEqual(
      lb.probes![0]!.loadBalancingRules?.map((r) => r.id),
      [`${lbId}/loadBalancingRules/api`],
    );
    const pipAfter = await c.network.publicIPAddresses.get(RG, 'lb-ip');
    assert.equal(pipAfter.ipConfiguration?.id, `${lbId}/frontendIPConfigurations/fe`);
  });

  it('creates a NIC with a static IP in the backend pool; the pool and subnet list it', async () => {
    const nic = await c.network.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'master-0-nic',
      {
        location: LOC,
        networkSecurityGroup: {
          id: `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/networkSecurityGroups/nsg`,
        },
        ipConfigurations: [
          {
            name: 'ipconfig0',
            subnet: { id: vnetSubnetId },
            privateIPAllocationMethod: 'Static',
            privateIPAddress: '10.0.1.10',
            loadBalancerBackendAddressPools: [{ id: poolId }],
          },
        ],
        tags: { instance: 'master/0' },
      },
      poll,
    );
    nicId = nic.id!;
    assert.equal(nic.ipConfigurations![0]!.privateIPAddress, '10.0.1.10');
    const pool = await c.network.loadBalancerBackendAddressPools.get(RG, 'lb', 'masters');
    assert.deepEqual(
      pool.backendIPConfigurations?.map((x) => x.id),
      [`${nicId}/ipConfigurations/ipconfig0`],
    );
    const subnet = await c.network.subnets.get(RG, 'vnet', 'bosh');
    assert.deepEqual(
      subnet.ipConfigurations?.map((x) => x.id),
      [`${nicId}/ipConfigurations/ipconfig0`],
    );
    const dyn = await c.network.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'worker-0-nic',
      {
        location: LOC,
        ipConfigurations: [{ name: 'ipconfig0', subnet: { id: vnetSubnetId } }],
      },
      poll,
    );
    assert.equal(
      dyn.ipConfigurations![0]!.privateIPAddress,
      '10.0.1.4',
      'first dynamic address after the 4 Azure reserves',
    );
    await assert.rejects(
      c.network.networkInterfaces.beginCreateOrUpdateAndWait(
        RG,
        'clash-nic',
        {
          location: LOC,
          ipConfigurations: [
            {
              name: 'ipconfig0',
              subnet: { id: vnetSubnetId },
              privateIPAllocationMethod: 'Static',
              privateIPAddress: '10.0.1.10',
            },
          ],
        },
        poll,
      ),
      (e: unknown) => e instanceof RestError && e.statusCode === 400 && e.code === 'PrivateIPAddressInUse',
    );
  });

  it('creates a VM with custom data and an SSH key; the hook sees them once the create is accepted', async () => {
    const before = fake.requestLog.entries().length;
    const vm = await c.compute.virtualMachines.createOrUpdate(
      RG,
      'master-0',
      {
        location: LOC,
        tags: { 'director-uuid': 'd1', instance: 'master/0' },
        hardwareProfile: { vmSize: 'Standard_D2s_v3' },
        storageProfile: {
          imageReference: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' },
          osDisk: {
            name: 'master-0-os',
            createOption: 'FromImage',
            caching: 'ReadWrite',
            managedDisk: { storageAccountType: 'Premium_LRS' },
            diskSizeGB: 64,
            deleteOption: 'Delete',
          },
        },
        osProfile: {
          computerName: 'master-0',
          adminUsername: 'vcap',
          customData: Buffer.from('{"agent_id":"a-1"}').toString('base64'),
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ssh: { publicKeys: [{ path: '/home/vcap/.ssh/authorized_keys', keyData: 'ssh-ed25519 AAAAC3Nza test' }] },
          },
        },
        networkProfile: { networkInterfaces: [{ id: nicId, primary: true }] },
      },
      poll,
    );
    vmId = vm.id!;
    assert.equal(vm.provisioningState, 'Succeeded');
    assert.equal(vm.osProfile?.customData, undefined, 'ARM never returns customData');
    assert.equal(
      vm.storageProfile?.osDisk?.managedDisk?.id,
      `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Compute/disks/master-0-os`,
    );
    assert.equal(created.length, 1);
    assert.deepEqual(
      {
        name: created[0]!.name,
        ip: created[0]!.privateIp,
        data: created[0]!.customData,
        keys: created[0]!.sshKeys,
        tags: created[0]!.tags,
      },
      {
        name: 'master-0',
        ip: '10.0.1.10',
        data: '{"agent_id":"a-1"}',
        keys: ['ssh-ed25519 AAAAC3Nza test'],
        tags: { 'director-uuid': 'd1', instance: 'master/0' },
      },
    );
    // LRO as Compute does it: 201 + Azure-AsyncOperation, polled until Succeeded (2 InProgress first), then a GET.
    const seen = fake.requestLog
      .entries()
      .slice(before)
      .map((e) => `${e.method} ${e.resourceType} ${e.status}`);
    assert.deepEqual(seen, [
      'PUT Microsoft.Compute/virtualMachines 201',
      'GET Microsoft.Compute/operations 200',
      'GET Microsoft.Compute/operations 200',
      'GET Microsoft.Compute/operations 200',
      'GET Microsoft.Compute/virtualMachines 200',
    ]);
    const view = await c.compute.virtualMachines.instanceView(RG, 'master-0');
    assert.deepEqual(
      view.statuses?.map((s) => s.code),
      ['ProvisioningState/succeeded', 'PowerState/running'],
    );
    const nic = await c.network.networkInterfaces.get(RG, 'master-0-nic');
    assert.equal(nic.virtualMachine?.id, vmId);
  });

  it('a second identical PUT changes nothing: same etag, no operation, no hook', async () => {
    const nicBefore = await c.network.networkInterfaces.get(RG, 'master-0-nic');
    const n = fake.requestLog.entries().length;
    const again = await c.network.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'master-0-nic',
      {
        location: LOC,
        networkSecurityGroup: {
          id: `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}/providers/Microsoft.Network/networkSecurityGroups/nsg`,
        },
        ipConfigurations: [
          {
            name: 'ipconfig0',
            subnet: { id: vnetSubnetId },
            privateIPAllocationMethod: 'Static',
            privateIPAddress: '10.0.1.10',
            loadBalancerBackendAddressPools: [{ id: poolId }],
          },
        ],
        tags: { instance: 'master/0' },
      },
      poll,
    );
    assert.equal(again.etag, nicBefore.etag);
    const seen = fake.requestLog
      .entries()
      .slice(n)
      .map((e) => `${e.method} ${e.resourceType} ${e.status}`);
    assert.deepEqual(seen, ['PUT Microsoft.Network/networkInterfaces 200']);
    const vmBefore = await c.compute.virtualMachines.get(RG, 'master-0');
    const vmAgain = await c.compute.virtualMachines.createOrUpdate(
      RG,
      'master-0',
      {
        location: LOC,
        tags: { 'director-uuid': 'd1', instance: 'master/0' },
        hardwareProfile: { vmSize: 'Standard_D2s_v3' },
        storageProfile: {
          imageReference: { publisher: 'Canonical', offer: 'ubuntu-24_04-lts', sku: 'server', version: 'latest' },
          osDisk: {
            name: 'master-0-os',
            createOption: 'FromImage',
            caching: 'ReadWrite',
            managedDisk: { storageAccountType: 'Premium_LRS' },
            diskSizeGB: 64,
            deleteOption: 'Delete',
          },
        },
        osProfile: {
          computerName: 'master-0',
          adminUsername: 'vcap',
          customData: Buffer.from('{"agent_id":"a-1"}').toString('base64'),
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ssh: { publicKeys: [{ path: '/home/vcap/.ssh/authorized_keys', keyData: 'ssh-ed25519 AAAAC3Nza test' }] },
          },
        },
        networkProfile: { networkInterfaces: [{ id: nicId, primary: true }] },
      },
      poll,
    );
    assert.equal(vmAgain.etag, vmBefore.etag);
    assert.equal(created.length, 1);
  });

  it('attaches a managed disk (Attached, managedBy the VM) and resizes it', async () => {
    const disk = await c.compute.disks.createOrUpdate(
      RG,
      'disk-1',
      {
        location: LOC,
        sku: { name: 'Premium_LRS' },
        creationData: { createOption: 'Empty' },
        diskSizeGB: 10,
        tags: { 'director-uuid': 'd1' },
      },
      poll,
    );
    diskId = disk.id!;
    assert.equal(disk.diskState, 'Unattached');
    assert.equal(disk.managedBy, undefined);
    const vm = await c.compute.virtualMachines.get(RG, 'master-0');
    const updated = await c.compute.virtualMachines.createOrUpdate(
      RG,
      'master-0',
      {
        ...vm,
        storageProfile: {
          ...vm.storageProfile,
          dataDisks: [{ lun: 0, createOption: 'Attach', caching: 'ReadWrite', managedDisk: { id: diskId } }],
        },
      },
      poll,
    );
    assert.equal(updated.storageProfile?.dataDisks?.[0]?.managedDisk?.id, diskId);
    const attached = await c.compute.disks.get(RG, 'disk-1');
    assert.equal(attached.diskState, 'Attached');
    assert.equal(attached.managedBy, vmId);
    const resized = await c.compute.disks.update(RG, 'disk-1', { diskSizeGB: 20 }, poll);
    assert.equal(resized.diskSizeGB, 20);
    assert.equal((await c.compute.disks.get(RG, 'disk-1')).diskSizeGB, 20);
  });

  it('refuses deleting an attached disk and a NIC a VM still uses', async () => {
    await assert.rejects(
      c.compute.disks.delete(RG, 'disk-1', poll),
      (e: unknown) => e instanceof RestError && e.statusCode === 409 && e.code === 'OperationNotAllowed',
    );
    await assert.rejects(
      c.network.networkInterfaces.beginDeleteAndWait(RG, 'master-0-nic', poll),
      (e: unknown) =>
        e instanceof RestError && e.statusCode === 400 && e.code === 'NicInUse' && e.message.includes(vmId),
    );
  });

  it('restarts the VM through the hook', async () => {
    await c.compute.virtualMachines.restart(RG, 'master-0', poll);
    assert.deepEqual(
      restarted.map((v) => v.name),
      ['master-0'],
    );
  });

  it('deletes the VM (hook first), then the NIC and the detached disk', async () => {
    await c.compute.virtualMachines.delete(RG, 'master-0', poll);
    assert.deepEqual(
      deleted.map((v) => v.privateIp),
      ['10.0.1.10'],
    );
    await assert.rejects(
      c.compute.virtualMachines.get(RG, 'master-0'),
      (e: unknown) => e instanceof RestError && e.statusCode === 404 && e.code === 'ResourceNotFound',
    );
    await assert.rejects(
      c.compute.disks.get(RG, 'master-0-os'),
      (e: unknown) => e instanceof RestError && e.statusCode === 404,
      'OS disk had deleteOption Delete',
    );
    const disk = await c.compute.disks.get(RG, 'disk-1');
    assert.equal(disk.diskState, 'Unattached');
    await c.network.networkInterfaces.beginDeleteAndWait(RG, 'master-0-nic', poll);
    const pool = await c.network.loadBalancerBackendAddressPools.get(RG, 'lb', 'masters');
    assert.equal(pool.backendIPConfigurations, undefined);
    await c.compute.disks.delete(RG, 'disk-1', poll);
    await assert.rejects(
      c.compute.disks.get(RG, 'disk-1'),
      (e: unknown) => e instanceof RestError && e.statusCode === 404,
    );
  });

  it('creates a storage account (202 + Location) with the configured endpoint and keys, and lists them', async () => {
    const acct = await c.storage.storageAccounts.create(
      RG,
      'boshstore1',
      { location: LOC, sku: { name: 'Standard_LRS' }, kind: 'StorageV2' },
      poll,
    );
    assert.equal(acct.provisioningState, 'Succeeded');
    assert.equal(
      acct.primaryEndpoints?.blob,
      'http://127.0.0.1:10000/boshstore1/',
      'an Azurite-style endpoint when configured',
    );
    const keys = await c.storage.storageAccounts.listKeys(RG, 'boshstore1');
    assert.deepEqual(
      keys.keys?.map((k) => k.keyName),
      ['key1', 'key2'],
    );
    assert.deepEqual(
      keys.keys?.map((k) => k.value),
      ['QXp1cml0ZUtleTE=', 'QXp1cml0ZUtleTI='],
    );
  });

  it('deleting the resource group deletes everything in it', async () => {
    await c.resources.resourceGroups.beginDeleteAndWait(RG, poll);
    assert.equal(fake.state.inGroup(RG).length, 0);
    await assert.rejects(
      c.resources.resourceGroups.get(RG),
      (e: unknown) => e instanceof RestError && e.statusCode === 404 && e.code === 'ResourceGroupNotFound',
    );
    const counters = fake.requestLog.counters();
    assert.ok(counters['Microsoft.Compute/virtualMachines']!.writes >= 3);
  });
});
