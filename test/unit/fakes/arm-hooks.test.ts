import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startFakeArm, type FakeArm } from '../../fakes/arm/fake-arm.js';
import { fakeArmToken, rawRequest } from '../../fakes/arm/raw-client.js';
import { fakeArmClients, type FakeArmClients } from '../../fakes/arm/sdk-clients.js';
import type { VmHookInfo } from '../../fakes/arm/vm-hooks.js';

// The VM hooks hold the long-running operation until their promise settles (polls alone do not
// complete it); a rejected hook fails the operation. Plus the VM updates a CPI makes: tags by
// PATCH, data disks attached and detached, availability-set membership.

const poll = { updateIntervalInMs: 5 };
const RG = 'hooks-rg';

function deferred(): { promise: Promise<void>; resolve: () => void; reject: (e: Error) => void } {
  let resolve!: () => void;
  let reject!: (e: Error) => void;
  const promise = new Promise<void>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('fake ARM VM hooks and VM updates', () => {
  let fake: FakeArm;
  let c: FakeArmClients;
  let token = '';
  let subnetId = '';
  const sub = () => `/subscriptions/${fake.subscriptionId}`;

  async function nic(name: string): Promise<string> {
    const n = await c.network.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      name,
      { location: 'westus', ipConfigurations: [{ name: 'ip', subnet: { id: subnetId } }] },
      poll,
    );
    return n.id!;
  }

  function vmBody(nicId: string, extra: Record<string, unknown> = {}) {
    return {
      location: 'westus',
      hardwareProfile: { vmSize: 'Standard_B2s' },
      storageProfile: {
        imageReference: { publisher: 'Canonical', offer: 'o', sku: 's', version: 'latest' },
        osDisk: { createOption: 'FromImage' },
      },
      osProfile: {
        computerName: 'x',
        adminUsername: 'vcap',
        linuxConfiguration: { disablePasswordAuthentication: true },
      },
      networkProfile: { networkInterfaces: [{ id: nicId }] },
      ...extra,
    };
  }

  before(async () => {
    fake = await startFakeArm({ lro: { pollsBeforeDone: 0 } });
    c = fakeArmClients(fake);
    token = await fakeArmToken(fake);
    await c.resources.resourceGroups.createOrUpdate(RG, { location: 'westus' });
    const vnet = await c.network.virtualNetworks.beginCreateOrUpdateAndWait(
      RG,
      'vnet',
      {
        location: 'westus',
        addressSpace: { addressPrefixes: ['10.2.0.0/16'] },
        subnets: [{ name: 's', addressPrefix: '10.2.0.0/24' }],
      },
      poll,
    );
    subnetId = vnet.subnets![0]!.id!;
  });
  after(async () => {
    fake.hooks.onVmCreated = undefined;
    fake.hooks.onVmDeleted = undefined;
    await fake.stop();
  });

  it('a delete completes only after the hook’s promise settles, however often it is polled', async () => {
    const nicId = await nic('nic-a');
    await c.compute.virtualMachines.createOrUpdate(RG, 'vm-a', vmBody(nicId), poll);
    const gate = deferred();
    const seen: VmHookInfo[] = [];
    fake.hooks.onVmDeleted = (vm) => {
      seen.push(vm);
      return gate.promise;
    };
    const del = await rawRequest(
      fake,
      'DELETE',
      `${sub()}/resourceGroups/${RG}/providers/Microsoft.Compute/virtualMachines/vm-a?api-version=2026-03-01`,
      { token },
    );
    assert.equal(del.status, 202);
    assert.deepEqual(
      seen.map((v) => [v.name, v.privateIp]),
      [['vm-a', '10.2.0.4']],
    );
    const status = String(del.headers['azure-asyncoperation']);
    for (let i = 0; i < 3; i++)
      assert.equal((await rawRequest(fake, 'GET', status, { token })).body.status, 'InProgress');
    const vm = await c.compute.virtualMachines.get(RG, 'vm-a');
    assert.equal(vm.provisioningState, 'Deleting');
    gate.resolve();
    await gate.promise;
    assert.equal((await rawRequest(fake, 'GET', status, { token })).body.status, 'Succeeded');
    await assert.rejects(c.compute.virtualMachines.get(RG, 'vm-a'), { statusCode: 404 });
  });

  it('a rejected create hook fails the operation and leaves the VM Failed', async () => {
    const nicId = await nic('nic-b');
    fake.hooks.onVmCreated = () => Promise.reject(new Error('host did not boot'));
    await assert.rejects(
      c.compute.virtualMachines.createOrUpdate(RG, 'vm-b', vmBody(nicId), poll),
      /The long-running operation has failed\. InternalExecutionError\. The operation failed: host did not boot/,
    );
    fake.hooks.onVmCreated = undefined;
    assert.equal((await c.compute.virtualMachines.get(RG, 'vm-b')).provisioningState, 'Failed');
    await c.compute.virtualMachines.delete(RG, 'vm-b', poll);
  });

  it('PATCHes tags, attaches and detaches disks, and reports availability-set members', async () => {
    const avset = await c.compute.availabilitySets.createOrUpdate(RG, 'avset', {
      location: 'westus',
      sku: { name: 'Aligned' },
      platformFaultDomainCount: 2,
      platformUpdateDomainCount: 5,
    });
    const nicId = await nic('nic-c');
    const vm = await c.compute.virtualMachines.createOrUpdate(
      RG,
      'vm-c',
      vmBody(nicId, { availabilitySet: { id: avset.id! }, tags: { a: '1' } }),
      poll,
    );
    assert.deepEqual(
      (await c.compute.availabilitySets.get(RG, 'avset')).virtualMachines?.map((v) => v.id),
      [vm.id],
    );
    await assert.rejects(c.compute.availabilitySets.delete(RG, 'avset'), {
      statusCode: 409,
      code: 'OperationNotAllowed',
    });

    const patched = await c.compute.virtualMachines.update(RG, 'vm-c', { tags: { a: '1', deployment: 'cfcr' } }, poll);
    assert.deepEqual(patched.tags, { a: '1', deployment: 'cfcr' });
    assert.notEqual(patched.etag, vm.etag);

    const d1 = await c.compute.disks.createOrUpdate(
      RG,
      'd1',
      { location: 'westus', sku: { name: 'Standard_LRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 4 },
      poll,
    );
    const d2 = await c.compute.disks.createOrUpdate(
      RG,
      'd2',
      { location: 'westus', sku: { name: 'Standard_LRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 4 },
      poll,
    );
    const profile = await c.compute.virtualMachines.attachDetachDataDisks(
      RG,
      'vm-c',
      { dataDisksToAttach: [{ diskId: d1.id!, lun: 3 }, { diskId: d2.id! }] },
      poll,
    );
    assert.deepEqual(
      profile.dataDisks?.map((d) => [d.lun, d.managedDisk?.id]),
      [
        [3, d1.id],
        [0, d2.id],
      ],
    );
    assert.equal((await c.compute.disks.get(RG, 'd2')).managedBy, vm.id);
    await assert.rejects(
      c.compute.virtualMachines.attachDetachDataDisks(
        RG,
        'vm-c',
        { dataDisksToAttach: [{ diskId: d1.id!, lun: 5 }] },
        poll,
      ),
      { statusCode: 400, code: 'InvalidParameter' },
      'the same disk twice on one VM',
    );

    const current = await c.compute.virtualMachines.get(RG, 'vm-c');
    await c.compute.virtualMachines.createOrUpdate(
      RG,
      'vm-c',
      {
        ...current,
        storageProfile: {
          ...current.storageProfile,
          dataDisks: current.storageProfile!.dataDisks!.filter((d) => d.lun !== 3),
        },
      },
      poll,
    );
    assert.equal((await c.compute.disks.get(RG, 'd1')).diskState, 'Unattached');
    assert.equal((await c.compute.disks.get(RG, 'd2')).diskState, 'Attached');
    await assert.rejects(c.compute.disks.update(RG, 'd2', { diskSizeGB: 2 }, poll), {
      statusCode: 409,
      code: 'OperationNotAllowed',
    });
  });

  it('lists across the subscription, lists VM sizes, and normalises locations', async () => {
    const disk = await c.compute.disks.createOrUpdate(
      RG,
      'd-west',
      { location: 'West US', sku: { name: 'Standard_LRS' }, creationData: { createOption: 'Empty' }, diskSizeGB: 1 },
      poll,
    );
    assert.equal(disk.location, 'westus');
    const names: string[] = [];
    for await (const d of c.compute.disks.list()) names.push(d.name!);
    assert.deepEqual(names.filter((n) => n.startsWith('d')).sort(), ['d-west', 'd1', 'd2']);
    const vms: string[] = [];
    for await (const v of c.compute.virtualMachines.listAll()) vms.push(v.name!);
    assert.deepEqual(vms, ['vm-c']);
    const sizes = new Map<string, number | undefined>();
    for await (const s of c.compute.virtualMachineSizes.list('westus')) sizes.set(s.name!, s.memoryInMB);
    assert.equal(sizes.get('Standard_D2s_v3'), 8192);
  });
});
