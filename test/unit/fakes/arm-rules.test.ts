import assert from 'node:assert/strict';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { startFakeArm, type FakeArm } from '../../fakes/arm/fake-arm.js';
import { fakeArmToken, rawRequest, type RawResponse } from '../../fakes/arm/raw-client.js';

// The refusals ARM documents (each rule's source is beside it in test/fakes/arm/rules.ts) and
// the protocol it speaks (time-based operations with Retry-After, ratelimit buckets, conflicts,
// Canceled, the NIC reservation after a failed VM create), on the wire, below any SDK.

const C = '2024-07-01';
const D = '2024-03-02';
const N = '2024-05-01';
const SCALE = 0.001; // ARM's 40 s VM create takes 40 ms here

describe('fake ARM refuses what ARM refuses', () => {
  let fake: FakeArm;
  let token = '';
  const rg = () => `/subscriptions/${fake.subscriptionId}/resourceGroups/rules/providers`;
  const vmPath = (name: string) => `${rg()}/Microsoft.Compute/virtualMachines/${name}`;
  const nicId = (name: string) => `${rg()}/Microsoft.Network/networkInterfaces/${name}`;
  const diskId = (name: string) => `${rg()}/Microsoft.Compute/disks/${name}`;
  const call = (method: string, path: string, api: string, body?: unknown): Promise<RawResponse> =>
    rawRequest(fake, method, `${path}?api-version=${api}`, { token, body });

  /** A VM body ARM accepts; `change` edits a copy. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- a request body edited in place, as JSON
  type Body = Record<string, any>;
  function vm(nic: string, change: (b: Body) => void = () => undefined): Record<string, unknown> {
    const b: Body = {
      location: 'westeurope',
      properties: {
        hardwareProfile: { vmSize: 'Standard_D2s_v3' },
        storageProfile: {
          imageReference: { publisher: 'Canonical', offer: 'jammy', sku: '22_04-lts-gen2', version: 'latest' },
          osDisk: { createOption: 'FromImage', managedDisk: { storageAccountType: 'Premium_LRS' } },
          dataDisks: [],
        },
        osProfile: {
          computerName: 'vm-a',
          adminUsername: 'vcap',
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ssh: { publicKeys: [{ path: '/home/vcap/.ssh/authorized_keys', keyData: 'ssh-ed25519 AAAA' }] },
          },
        },
        networkProfile: { networkInterfaces: [{ id: nicId(nic) }] },
      },
    };
    change(b);
    return b;
  }

  async function settle(r: RawResponse): Promise<string> {
    const url = r.headers['azure-asyncoperation'] as string | undefined;
    if (url === undefined) return 'Succeeded';
    for (;;) {
      const p = await rawRequest(fake, 'GET', url, { token });
      if (p.body.status !== 'InProgress') return p.body.status as string;
      await sleep(Number(p.headers['retry-after'] ?? 1) * 1000 * fake.lro.timeScale);
    }
  }

  async function nic(name: string): Promise<void> {
    const r = await call('PUT', nicId(name), N, {
      location: 'westeurope',
      properties: {
        ipConfigurations: [
          { name: 'ip', properties: { subnet: { id: `${rg()}/Microsoft.Network/virtualNetworks/vnet/subnets/a` } } },
        ],
      },
    });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }

  before(async () => {
    fake = await startFakeArm({ lro: { latency: 'time', timeScale: SCALE } });
    token = await fakeArmToken(fake);
    await rawRequest(fake, 'PUT', `/subscriptions/${fake.subscriptionId}/resourcegroups/rules?api-version=2025-04-01`, {
      token,
      body: { location: 'westeurope' },
    });
    const v = await call('PUT', `${rg()}/Microsoft.Network/virtualNetworks/vnet`, N, {
      location: 'westeurope',
      properties: {
        addressSpace: { addressPrefixes: ['10.0.0.0/16'] },
        subnets: [{ name: 'a', properties: { addressPrefix: '10.0.0.0/24' } }],
      },
    });
    assert.equal(await settle(v), 'Succeeded');
    await nic('nic1');
  });
  after(async () => {
    await fake?.stop();
  });

  const cases: [what: string, make: () => Promise<RawResponse>, status: number, code: string][] = [
    [
      'a Linux computerName over 64 characters',
      () =>
        call(
          'PUT',
          vmPath('r1'),
          C,
          vm('nic1', (b) => (b.properties.osProfile.computerName = 'x'.repeat(65))),
        ),
      400,
      'InvalidParameter',
    ],
    [
      'a computerName with _',
      () =>
        call(
          'PUT',
          vmPath('r2'),
          C,
          vm('nic1', (b) => (b.properties.osProfile.computerName = 'vm_a')),
        ),
      400,
      'InvalidParameter',
    ],
    [
      'the reserved adminUsername admin',
      () =>
        call(
          'PUT',
          vmPath('r3'),
          C,
          vm('nic1', (b) => (b.properties.osProfile.adminUsername = 'admin')),
        ),
      400,
      'InvalidParameter',
    ],
    [
      'an unknown size',
      () =>
        call(
          'PUT',
          vmPath('r4'),
          C,
          vm('nic1', (b) => (b.properties.hardwareProfile.vmSize = 'Standard_Q7s_v9')),
        ),
      409,
      'SkuNotAvailable',
    ],
    [
      'zones with an availability set',
      async () => {
        await call('PUT', `${rg()}/Microsoft.Compute/availabilitySets/as1`, C, {
          location: 'westeurope',
          sku: { name: 'Aligned' },
        });
        return call(
          'PUT',
          vmPath('r5'),
          C,
          vm('nic1', (b) => {
            b.zones = ['1'];
            b.properties.availabilitySet = { id: `${rg()}/Microsoft.Compute/availabilitySets/as1` };
          }),
        );
      },
      400,
      'InvalidParameter',
    ],
    [
      'customData over 64 KiB decoded',
      () =>
        call(
          'PUT',
          vmPath('r6'),
          C,
          vm('nic1', (b) => (b.properties.osProfile.customData = Buffer.alloc(65536, 'a').toString('base64'))),
        ),
      400,
      'InvalidParameter',
    ],
    [
      'more than 50 tags',
      () =>
        call(
          'PUT',
          vmPath('r7'),
          C,
          vm('nic1', (b) => (b.tags = Object.fromEntries(Array.from({ length: 51 }, (_, i) => [`t${i}`, 'v'])))),
        ),
      400,
      'InvalidTagCount',
    ],
    [
      'a tag name with <',
      () =>
        call(
          'PUT',
          vmPath('r8'),
          C,
          vm('nic1', (b) => (b.tags = { 'a<b': 'v' })),
        ),
      400,
      'InvalidTagNameCharacters',
    ],
    [
      'an OS disk smaller than its image',
      () =>
        call(
          'PUT',
          vmPath('r9'),
          C,
          vm('nic1', (b) => (b.properties.storageProfile.osDisk.diskSizeGB = 10)),
        ),
      400,
      'ResizeDiskError',
    ],
    [
      'Premium_LRS on Standard_D1_v2',
      () =>
        call(
          'PUT',
          vmPath('r10'),
          C,
          vm('nic1', (b) => (b.properties.hardwareProfile.vmSize = 'Standard_D1_v2')),
        ),
      400,
      'InvalidParameter',
    ],
    [
      'Premium_LRS on Standard_A1_v2',
      () =>
        call(
          'PUT',
          vmPath('r11'),
          C,
          vm('nic1', (b) => (b.properties.hardwareProfile.vmSize = 'Standard_A1_v2')),
        ),
      400,
      'InvalidParameter',
    ],
    [
      '5 data disks on Standard_D2s_v3',
      () =>
        call(
          'PUT',
          vmPath('r12'),
          C,
          vm(
            'nic1',
            (b) =>
              (b.properties.storageProfile.dataDisks = [0, 1, 2, 3, 4].map((lun) => ({
                lun,
                createOption: 'Empty',
                diskSizeGB: 1,
              }))),
          ),
        ),
      409,
      'OperationNotAllowed',
    ],
    [
      'maxShares 2 on Standard_LRS',
      () =>
        call('PUT', diskId('shared-std'), D, {
          location: 'westeurope',
          sku: { name: 'Standard_LRS' },
          properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 8, maxShares: 2 },
        }),
      400,
      'InvalidParameter',
    ],
    [
      'a Standard public IP with Dynamic allocation',
      () =>
        call('PUT', `${rg()}/Microsoft.Network/publicIPAddresses/pip`, N, {
          location: 'westeurope',
          sku: { name: 'Standard' },
          properties: { publicIPAllocationMethod: 'Dynamic' },
        }),
      400,
      'StandardSkuPublicIPAddressesMustBeStatic',
    ],
    [
      'an NSG rule priority below 100',
      () =>
        call('PUT', `${rg()}/Microsoft.Network/networkSecurityGroups/nsg-low`, N, {
          location: 'westeurope',
          properties: {
            securityRules: [
              {
                name: 'r',
                properties: {
                  protocol: 'Tcp',
                  access: 'Allow',
                  direction: 'Inbound',
                  priority: 50,
                  sourceAddressPrefix: '*',
                  sourcePortRange: '*',
                  destinationAddressPrefix: '*',
                  destinationPortRange: '22',
                },
              },
            ],
          },
        }),
      400,
      'SecurityRuleInvalidPriority',
    ],
    [
      'an NSG rule priority above 4096',
      () =>
        call('PUT', `${rg()}/Microsoft.Network/networkSecurityGroups/nsg-high`, N, {
          location: 'westeurope',
          properties: {
            securityRules: [
              {
                name: 'r',
                properties: {
                  protocol: 'Tcp',
                  access: 'Allow',
                  direction: 'Inbound',
                  priority: 5000,
                  sourceAddressPrefix: '*',
                  sourcePortRange: '*',
                  destinationAddressPrefix: '*',
                  destinationPortRange: '22',
                },
              },
            ],
          },
        }),
      400,
      'SecurityRuleInvalidPriority',
    ],
    [
      'overlapping subnets in one vnet',
      () =>
        call('PUT', `${rg()}/Microsoft.Network/virtualNetworks/vnet2`, N, {
          location: 'westeurope',
          properties: {
            addressSpace: { addressPrefixes: ['10.1.0.0/16'] },
            subnets: [
              { name: 'a', properties: { addressPrefix: '10.1.0.0/24' } },
              { name: 'b', properties: { addressPrefix: '10.1.0.128/25' } },
            ],
          },
        }),
      400,
      'NetcfgSubnetRangesOverlap',
    ],
    [
      'a subnet overlapping its sibling',
      () =>
        call('PUT', `${rg()}/Microsoft.Network/virtualNetworks/vnet/subnets/b`, N, {
          properties: { addressPrefix: '10.0.0.64/26' },
        }),
      400,
      'NetcfgSubnetRangesOverlap',
    ],
    [
      'a NIC naming a missing application security group',
      () =>
        call('PUT', nicId('nic-asg'), N, {
          location: 'westeurope',
          properties: {
            ipConfigurations: [
              {
                name: 'ip',
                properties: {
                  subnet: { id: `${rg()}/Microsoft.Network/virtualNetworks/vnet/subnets/a` },
                  applicationSecurityGroups: [{ id: `${rg()}/Microsoft.Network/applicationSecurityGroups/none` }],
                },
              },
            ],
          },
        }),
      400,
      'InvalidResourceReference',
    ],
  ];
  for (const [what, make, status, code] of cases) {
    it(`refuses ${what} (${status} ${code}) and makes nothing`, async () => {
      const before = fake.state.all().length;
      const r = await make();
      assert.equal(r.status, status, JSON.stringify(r.body));
      assert.equal(r.body.error.code, code);
      assert.ok(!/\n/.test(r.body.error.message));
      assert.ok(fake.state.all().length <= before + 1); // the availability set of one case, nothing of the refused request
    });
  }

  it('a NIC PUT answers Succeeded at once; a VM PUT answers Retry-After and completes by time, not by polls', async () => {
    // slower time here (40 s is 2 s), so that the polls and the PATCH below surely come before the end
    fake.lro.timeScale = 0.05;
    try {
      await nicAndVm();
    } finally {
      fake.lro.timeScale = SCALE;
    }
  });

  async function nicAndVm(): Promise<void> {
    const r = await call('PUT', nicId('nic2'), N, {
      location: 'westeurope',
      properties: {
        ipConfigurations: [
          { name: 'ip', properties: { subnet: { id: `${rg()}/Microsoft.Network/virtualNetworks/vnet/subnets/a` } } },
        ],
      },
    });
    assert.equal(r.body.properties.provisioningState, 'Succeeded');
    const v = await call(
      'PUT',
      vmPath('vm2'),
      C,
      vm('nic2', (b) => (b.properties.osProfile.computerName = 'vm2')),
    );
    assert.equal(v.status, 201);
    assert.equal(v.headers['retry-after'], '40');
    assert.ok(Number(v.headers['x-ms-ratelimit-remaining-subscription-writes']) > 0);
    const url = v.headers['azure-asyncoperation'] as string;
    // polling at once, again and again, gains nothing
    for (let i = 0; i < 3; i++) assert.equal((await rawRequest(fake, 'GET', url, { token })).body.status, 'InProgress');
    // another write to the VM while its create runs: 409 AnotherOperationInProgress
    const busy = await call('PATCH', vmPath('vm2'), C, { tags: { a: 'b' } });
    assert.deepEqual([busy.status, busy.body.error.code], [409, 'AnotherOperationInProgress']);
    assert.equal(await settle(v), 'Succeeded');
  }

  it('a shared Premium disk attaches to a second VM and lists both in managedByExtended; a zonal disk refuses another zone', async () => {
    const shared = await call('PUT', diskId('shared'), D, {
      location: 'westeurope',
      zones: ['1'],
      sku: { name: 'Premium_LRS' },
      properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 8, maxShares: 2 },
    });
    assert.equal(await settle(shared), 'Succeeded');
    const zonal = await call('PUT', diskId('zone2'), D, {
      location: 'westeurope',
      zones: ['2'],
      sku: { name: 'Premium_LRS' },
      properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 8 },
    });
    assert.equal(await settle(zonal), 'Succeeded');
    for (const n of ['s1', 's2']) {
      await nic(`nic-${n}`);
      const v = await call(
        'PUT',
        vmPath(n),
        C,
        vm(`nic-${n}`, (b) => {
          b.zones = ['1'];
          b.properties.osProfile.computerName = n;
          b.properties.storageProfile.dataDisks = [
            { lun: 0, createOption: 'Attach', managedDisk: { id: diskId('shared') } },
          ];
        }),
      );
      assert.equal(v.status, 201, JSON.stringify(v.body));
      assert.equal(await settle(v), 'Succeeded');
    }
    const d = await call('GET', diskId('shared'), D);
    assert.deepEqual(
      d.body.managedByExtended.map((x: string) => x.split('/').pop()),
      ['s1', 's2'],
    );
    const wrongZone = await call('POST', `${vmPath('s1')}/attachDetachDataDisks`, C, {
      dataDisksToAttach: [{ diskId: diskId('zone2'), lun: 1 }],
    });
    assert.equal(wrongZone.status, 400);
    assert.equal(wrongZone.body.error.code, 'BadRequest');
  });

  it('a failed VM create reserves its NIC: deleting it or giving it to another VM is NicReservedForAnotherVm until 180 s (scaled) pass', async () => {
    await nic('nic-f');
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/virtualMachines/vm-f' });
    const v = await call(
      'PUT',
      vmPath('vm-f'),
      C,
      vm('nic-f', (b) => (b.properties.osProfile.computerName = 'vm-f')),
    );
    assert.equal(await settle(v), 'Failed');
    const del = await call('DELETE', vmPath('vm-f'), C);
    assert.equal(await settle(del), 'Succeeded');
    const other = await call(
      'PUT',
      vmPath('vm-g'),
      C,
      vm('nic-f', (b) => (b.properties.osProfile.computerName = 'vm-g')),
    );
    assert.deepEqual([other.status, other.body.error.code], [400, 'NicReservedForAnotherVm']);
    const nicDel = await call('DELETE', nicId('nic-f'), N);
    assert.deepEqual([nicDel.status, nicDel.body.error.code], [400, 'NicReservedForAnotherVm']);
    await sleep(180_000 * SCALE + 20);
    const later = await call('DELETE', nicId('nic-f'), N);
    assert.equal(later.status, 202);
  });

  it('injected Canceled ends an operation Canceled (OperationPreempted); injected conflicts are 409 AnotherOperationInProgress', async () => {
    fake.faults.enqueue({ kind: 'canceled', method: 'PUT', pathIncludes: '/disks/canceled' });
    const d = await call('PUT', diskId('canceled'), D, {
      location: 'westeurope',
      sku: { name: 'Standard_LRS' },
      properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 1 },
    });
    assert.equal(await settle(d), 'Canceled');
    const op = await rawRequest(fake, 'GET', d.headers['azure-asyncoperation'] as string, { token });
    assert.equal(op.body.error.code, 'OperationPreempted');
    fake.faults.enqueue({ kind: 'conflict', method: 'PUT', pathIncludes: '/networkInterfaces/nic-c' });
    const c = await call('PUT', nicId('nic-c'), N, {
      location: 'westeurope',
      properties: {
        ipConfigurations: [
          { name: 'ip', properties: { subnet: { id: `${rg()}/Microsoft.Network/virtualNetworks/vnet/subnets/a` } } },
        ],
      },
    });
    assert.deepEqual([c.status, c.body.error.code], [409, 'AnotherOperationInProgress']);
  });

  it('reports the ratelimit buckets on every answer and throttles with Retry-After when one is spent', async () => {
    fake.rateLimits.set({ reads: { size: 250, refillPerSecond: 0 }, deletes: { size: 1, refillPerSecond: 0.01 } });
    try {
      const a = await call('GET', nicId('nic1'), N);
      const b = await call('GET', nicId('nic1'), N);
      assert.deepEqual(
        [
          a.headers['x-ms-ratelimit-remaining-subscription-reads'],
          b.headers['x-ms-ratelimit-remaining-subscription-reads'],
        ],
        ['249', '248'],
      );
      const first = await call('DELETE', `${rg()}/Microsoft.Network/publicIPAddresses/none`, N);
      assert.equal(first.status, 204);
      assert.equal(first.headers['x-ms-ratelimit-remaining-subscription-deletes'], '0');
      const second = await call('DELETE', `${rg()}/Microsoft.Network/publicIPAddresses/none`, N);
      assert.deepEqual([second.status, second.body.error.code], [429, 'SubscriptionRequestsThrottled']);
      // a token comes back every 100 ARM seconds; some of that has passed since the first delete
      const after = Number(second.headers['retry-after']);
      assert.ok(after > 0 && after <= 100, `Retry-After ${after}`);
    } finally {
      fake.rateLimits.set({ reads: { size: 250, refillPerSecond: 25 }, deletes: { size: 200, refillPerSecond: 10 } });
    }
  });

  it('serves proximity placement groups and application security groups', async () => {
    const ppg = await call('PUT', `${rg()}/Microsoft.Compute/proximityPlacementGroups/ppg`, C, {
      location: 'westeurope',
      properties: { proximityPlacementGroupType: 'Standard' },
    });
    assert.equal(ppg.status, 201);
    const asg = await call('PUT', `${rg()}/Microsoft.Network/applicationSecurityGroups/asg`, N, {
      location: 'westeurope',
    });
    assert.deepEqual([asg.status, asg.body.properties.provisioningState], [201, 'Succeeded']);
    const got = await call('GET', `${rg()}/Microsoft.Compute/proximityPlacementGroups/ppg`, C);
    assert.deepEqual([got.body.properties.virtualMachines, got.body.properties.availabilitySets], [[], []]);
  });
});
