import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeArm, type FakeArm } from '../../fakes/arm/fake-arm.js';
import { fakeArmToken, rawRequest, type RawResponse } from '../../fakes/arm/raw-client.js';
import { needsReference, referenceDir } from '../../helpers/reference.js';

// Every body the fake returns for an operation is compared, key path by key path, with the
// published examples of that operation (Azure/azure-rest-api-specs, copied read-only into the
// shared reference folder): the fake may only use keys the examples use (plus a short list of
// documented ones the examples happen to leave out), and must have the examples' core keys.

/** The ARM examples of the reference corpus (../shared/reference, or $REFERENCE_DIR); ARM_SPECS_DIR overrides. */
const SPECS = process.env['ARM_SPECS_DIR'] ?? join(referenceDir, 'azure-rest-api-specs');
/** Outside CI a missing corpus skips the suite, saying so; with CI=true it is required. */
const skip = process.env['ARM_SPECS_DIR'] === undefined ? needsReference() : false;

function findExamples(): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (d: string) => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) walk(p);
      else if (f.endsWith('.json')) out.set(f, p);
    }
  };
  walk(SPECS);
  return out;
}

type Json = unknown;

function keyPaths(v: Json, prefix = '', out = new Set<string>()): Set<string> {
  if (Array.isArray(v)) for (const x of v) keyPaths(x, `${prefix}[]`, out);
  else if (v && typeof v === 'object') {
    for (const [k, x] of Object.entries(v)) {
      const p = prefix ? `${prefix}.${k}` : k;
      out.add(p);
      // tags are the caller's own map: their keys are data, not shape
      if (!(k === 'tags' && !Array.isArray(x))) keyPaths(x, p, out);
    }
  }
  return out;
}

/** Key paths of the 200/201 bodies of the named examples (tags' own keys dropped). */
function exampleKeys(examples: Map<string, string>, files: readonly string[]): Set<string> {
  const out = new Set<string>();
  for (const f of files) {
    const path = examples.get(f);
    assert.ok(path, `reference example ${f} not found under ${SPECS}`);
    const doc = JSON.parse(readFileSync(path, 'utf8')) as { responses: Record<string, { body?: Json }> };
    for (const code of ['200', '201', '202']) {
      const b = doc.responses[code]?.body;
      if (b !== undefined) keyPaths(b, '', out);
    }
  }
  return out;
}

/**
 * Per operation family: the examples, and keys the fake returns that those examples do not show
 * but the service does (each is a property of the installed SDK's model for that resource).
 */
const FAMILIES: Record<string, { examples: string[]; extra?: string[]; core: string[] }> = {
  resourceGroup: {
    examples: ['CreateResourceGroup.json', 'ResourceGroups_Get.json'],
    extra: ['tags'],
    core: ['id', 'name', 'type', 'location', 'properties.provisioningState'],
  },
  virtualNetwork: {
    examples: ['VirtualNetworkCreate.json', 'VirtualNetworkGet.json'],
    extra: [
      'etag',
      'properties.subnets[].etag',
      'properties.subnets[].type',
      'properties.subnets[].properties.networkSecurityGroup',
      'properties.subnets[].properties.networkSecurityGroup.id',
    ],
    core: [
      'id',
      'name',
      'type',
      'location',
      'properties.provisioningState',
      'properties.addressSpace.addressPrefixes',
      'properties.subnets',
    ],
  },
  subnet: {
    examples: ['SubnetCreate.json', 'SubnetGet.json'],
    extra: [
      'etag',
      'type',
      'properties.networkSecurityGroup',
      'properties.networkSecurityGroup.id',
      'properties.ipConfigurations',
      'properties.ipConfigurations[].id',
    ],
    core: ['id', 'name', 'properties.addressPrefix', 'properties.provisioningState'],
  },
  networkSecurityGroup: {
    examples: ['NetworkSecurityGroupCreateWithRule.json', 'NetworkSecurityGroupGet.json'],
    extra: [
      'etag',
      'properties.securityRules[].etag',
      'properties.securityRules[].type',
      'properties.defaultSecurityRules[].etag',
      'properties.defaultSecurityRules[].type',
    ],
    core: [
      'id',
      'name',
      'type',
      'location',
      'properties.provisioningState',
      'properties.securityRules',
      'properties.defaultSecurityRules',
    ],
  },
  publicIp: {
    examples: [
      'PublicIpAddressCreateCustomizedValues.json',
      'PublicIpAddressCreateDefaults.json',
      'PublicIpAddressGet.json',
    ],
    extra: ['etag', 'properties.ipAddress'],
    core: ['id', 'name', 'type', 'location', 'properties.provisioningState', 'properties.publicIPAllocationMethod'],
  },
  loadBalancer: {
    examples: ['LoadBalancerCreate.json', 'LoadBalancerGet.json'],
    extra: [
      'properties.frontendIPConfigurations[].properties.publicIPAddress',
      'properties.frontendIPConfigurations[].properties.publicIPAddress.id',
      'properties.backendAddressPools[].properties.backendIPConfigurations',
      'properties.backendAddressPools[].properties.backendIPConfigurations[].id',
      'properties.outboundRules',
    ],
    core: [
      'id',
      'name',
      'type',
      'location',
      'etag',
      'properties.provisioningState',
      'properties.backendAddressPools',
      'properties.probes',
      'properties.loadBalancingRules',
    ],
  },
  backendPool: {
    examples: ['LoadBalancerBackendAddressPoolGet.json'],
    core: ['id', 'name', 'type', 'etag', 'properties.provisioningState', 'properties.backendIPConfigurations'],
  },
  networkInterface: {
    examples: ['NetworkInterfaceCreate.json', 'NetworkInterfaceGet.json'],
    extra: [
      'etag',
      'properties.nicType',
      'properties.ipConfigurations[].etag',
      'properties.ipConfigurations[].type',
      'properties.ipConfigurations[].properties.loadBalancerBackendAddressPools',
      'properties.ipConfigurations[].properties.loadBalancerBackendAddressPools[].id',
    ],
    core: [
      'id',
      'name',
      'type',
      'location',
      'properties.provisioningState',
      'properties.ipConfigurations[].properties.privateIPAddress',
      'properties.ipConfigurations[].properties.subnet.id',
    ],
  },
  virtualMachine: {
    examples: [
      'VirtualMachine_Create_WithSshAuthentication.json',
      'VirtualMachine_Create_WithEmptyDataDisks.json',
      'VirtualMachine_Get.json',
      'VirtualMachine_Create_InAnAvailabilitySet.json',
      'VirtualMachine_Create_FromACustomImage.json',
    ],
    extra: [
      'zones',
      'properties.osProfile.allowExtensionOperations',
      'properties.osProfile.requireGuestProvisionSignal',
      'properties.storageProfile.osDisk.deleteOption',
      'properties.storageProfile.dataDisks[].deleteOption',
      'properties.storageProfile.dataDisks[].toBeDetached',
      'properties.storageProfile.dataDisks[].writeAcceleratorEnabled',
      'properties.networkProfile.networkInterfaces[].properties',
      'properties.networkProfile.networkInterfaces[].properties.primary',
    ],
    core: [
      'id',
      'name',
      'type',
      'location',
      'properties.vmId',
      'properties.provisioningState',
      'properties.hardwareProfile.vmSize',
      'properties.storageProfile.osDisk.managedDisk.id',
      'properties.networkProfile.networkInterfaces[].id',
    ],
  },
  instanceView: {
    examples: ['VirtualMachine_Get_InstanceView.json'],
    core: ['computerName', 'statuses[].code', 'disks[].name'],
  },
  disk: {
    examples: ['Disk_Create_Empty.json', 'Disk_Get.json', 'Disk_Update_ChangeTier.json'],
    extra: ['properties.diskState', 'properties.diskSizeBytes', 'properties.uniqueId', 'sku.tier'],
    core: [
      'id',
      'name',
      'type',
      'location',
      'sku.name',
      'properties.creationData.createOption',
      'properties.diskSizeGB',
      'properties.provisioningState',
    ],
  },
  snapshot: {
    examples: ['Snapshot_Create_FromAnExistingSnapshot.json'],
    extra: [
      'id',
      'type',
      'sku',
      'sku.name',
      'sku.tier',
      'properties.diskSizeGB',
      'properties.incremental',
      'properties.timeCreated',
      'properties.creationData.sourceUniqueId',
    ],
    core: [
      'name',
      'location',
      'properties.creationData.createOption',
      'properties.creationData.sourceResourceId',
      'properties.provisioningState',
    ],
  },
  image: {
    examples: ['Image_CreateFromABlob.json', 'Image_Get.json'],
    core: [
      'id',
      'name',
      'type',
      'location',
      'properties.storageProfile.osDisk.blobUri',
      'properties.provisioningState',
    ],
  },
  availabilitySet: {
    examples: ['AvailabilitySet_Create.json', 'AvailabilitySet_Get_MaximumSet_Gen.json'],
    extra: ['etag'],
    core: [
      'id',
      'name',
      'type',
      'location',
      'sku.name',
      'properties.platformFaultDomainCount',
      'properties.platformUpdateDomainCount',
    ],
  },
  storageAccount: {
    examples: ['StorageAccountCreate.json', 'StorageAccountGetProperties.json'],
    extra: ['properties.accessTier'],
    core: [
      'id',
      'name',
      'type',
      'location',
      'kind',
      'sku.name',
      'properties.provisioningState',
      'properties.primaryEndpoints.blob',
    ],
  },
  storageKeys: {
    examples: ['StorageAccountListKeys.json'],
    extra: ['keys[].creationTime'],
    core: ['keys[].keyName', 'keys[].value', 'keys[].permissions'],
  },
};

describe('fake ARM response bodies match the reference examples, key by key', { skip }, () => {
  let fake: FakeArm;
  let token = '';
  const bodies: [family: string, what: string, body: Json][] = [];
  const examples = existsSync(SPECS) ? findExamples() : new Map<string, string>();
  const sub = () => `/subscriptions/${fake.subscriptionId}`;
  const rg = () => `${sub()}/resourceGroups/shape-rg/providers`;

  async function call(method: string, path: string, apiVersion: string, body?: unknown): Promise<RawResponse> {
    const sep = path.includes('?') ? '&' : '?';
    const r = await rawRequest(fake, method, `${path}${sep}api-version=${apiVersion}`, { body, token });
    assert.ok(r.status < 300, `${method} ${path} answered ${r.status}: ${JSON.stringify(r.body)}`);
    const op = (r.headers['azure-asyncoperation'] ?? r.headers['location']) as string | undefined;
    if (op && r.status !== 200) {
      for (let i = 0; i < 5; i++) {
        const p = await rawRequest(fake, 'GET', op, { token });
        if (
          p.status === 200 &&
          (p.body === undefined || p.body.status === undefined || p.body.status !== 'InProgress')
        ) {
          return r.body === undefined ? p : r;
        }
      }
      assert.fail(`operation ${op} did not finish`);
    }
    return r;
  }

  async function record(
    family: string,
    method: string,
    path: string,
    apiVersion: string,
    body?: unknown,
  ): Promise<Json> {
    const r = await call(method, path, apiVersion, body);
    if (r.body !== undefined) bodies.push([family, `${method} ${path.replace(sub(), '')}`, r.body]);
    return r.body;
  }

  before(async () => {
    assert.ok(existsSync(SPECS), `the reference examples are missing: ${SPECS} (set ARM_SPECS_DIR)`);
    fake = await startFakeArm({ lro: { pollsBeforeDone: 0 } });
    token = await fakeArmToken(fake);
    const N = '2025-05-01';
    const C = '2026-03-01';
    const D = '2025-01-02';
    await record('resourceGroup', 'PUT', `${sub()}/resourcegroups/shape-rg`, '2025-04-01', {
      location: 'westus',
      tags: { a: 'b' },
    });
    await record('resourceGroup', 'GET', `${sub()}/resourcegroups/shape-rg`, '2025-04-01');
    const nsgId = `${rg()}/Microsoft.Network/networkSecurityGroups/nsg`;
    await record('networkSecurityGroup', 'PUT', nsgId, N, {
      location: 'westus',
      properties: {
        securityRules: [
          {
            name: 'ssh',
            properties: {
              protocol: 'Tcp',
              sourcePortRange: '*',
              destinationPortRange: '22',
              sourceAddressPrefix: '*',
              destinationAddressPrefix: '*',
              access: 'Allow',
              priority: 100,
              direction: 'Inbound',
            },
          },
        ],
      },
    });
    await record('networkSecurityGroup', 'GET', nsgId, N);
    const vnetId = `${rg()}/Microsoft.Network/virtualNetworks/vnet`;
    await record('virtualNetwork', 'PUT', vnetId, N, {
      location: 'westus',
      properties: {
        addressSpace: { addressPrefixes: ['10.0.0.0/16'] },
        subnets: [{ name: 'a', properties: { addressPrefix: '10.0.0.0/24' } }],
      },
    });
    await record('subnet', 'PUT', `${vnetId}/subnets/b`, N, {
      properties: { addressPrefix: '10.0.1.0/24', networkSecurityGroup: { id: nsgId } },
    });
    const pipId = `${rg()}/Microsoft.Network/publicIPAddresses/pip`;
    await record('publicIp', 'PUT', pipId, N, {
      location: 'westus',
      sku: { name: 'Standard' },
      properties: { publicIPAllocationMethod: 'Static' },
    });
    const lbId = `${rg()}/Microsoft.Network/loadBalancers/lb`;
    await record('loadBalancer', 'PUT', lbId, N, {
      location: 'westus',
      sku: { name: 'Standard' },
      properties: {
        frontendIPConfigurations: [{ name: 'fe', properties: { publicIPAddress: { id: pipId } } }],
        backendAddressPools: [{ name: 'pool' }],
        probes: [{ name: 'p', properties: { protocol: 'Tcp', port: 80, intervalInSeconds: 15, numberOfProbes: 2 } }],
        loadBalancingRules: [
          {
            name: 'r',
            properties: {
              protocol: 'Tcp',
              frontendPort: 80,
              backendPort: 80,
              frontendIPConfiguration: { id: `${lbId}/frontendIPConfigurations/fe` },
              backendAddressPool: { id: `${lbId}/backendAddressPools/pool` },
              probe: { id: `${lbId}/probes/p` },
            },
          },
        ],
      },
    });
    const nicId = `${rg()}/Microsoft.Network/networkInterfaces/nic`;
    await record('networkInterface', 'PUT', nicId, N, {
      location: 'westus',
      properties: {
        networkSecurityGroup: { id: nsgId },
        ipConfigurations: [
          {
            name: 'ip',
            properties: {
              subnet: { id: `${vnetId}/subnets/b` },
              privateIPAllocationMethod: 'Static',
              privateIPAddress: '10.0.1.5',
              loadBalancerBackendAddressPools: [{ id: `${lbId}/backendAddressPools/pool` }],
            },
          },
        ],
      },
    });
    const avsetId = `${rg()}/Microsoft.Compute/availabilitySets/avset`;
    await record('availabilitySet', 'PUT', avsetId, C, {
      location: 'westus',
      sku: { name: 'Aligned' },
      properties: { platformFaultDomainCount: 2, platformUpdateDomainCount: 5 },
    });
    const imageId = `${rg()}/Microsoft.Compute/images/stemcell`;
    await record('image', 'PUT', imageId, C, {
      location: 'westus',
      properties: {
        storageProfile: {
          osDisk: {
            osType: 'Linux',
            osState: 'Generalized',
            blobUri: 'https://boshstore.blob.core.windows.net/stemcell/root.vhd',
          },
        },
      },
    });
    await record('image', 'GET', imageId, C);
    const vmId = `${rg()}/Microsoft.Compute/virtualMachines/vm`;
    await record('virtualMachine', 'PUT', vmId, C, {
      location: 'westus',
      tags: { instance: 'master/0' },
      properties: {
        hardwareProfile: { vmSize: 'Standard_D2s_v3' },
        availabilitySet: { id: avsetId },
        storageProfile: {
          imageReference: { id: imageId },
          osDisk: { createOption: 'FromImage', managedDisk: { storageAccountType: 'Premium_LRS' } },
          dataDisks: [{ lun: 0, createOption: 'Empty', diskSizeGB: 5 }],
        },
        osProfile: {
          computerName: 'vm',
          adminUsername: 'vcap',
          customData: Buffer.from('x').toString('base64'),
          linuxConfiguration: {
            disablePasswordAuthentication: true,
            ssh: { publicKeys: [{ path: '/home/vcap/.ssh/authorized_keys', keyData: 'ssh-rsa AAAA' }] },
          },
        },
        networkProfile: { networkInterfaces: [{ id: nicId, properties: { primary: true } }] },
      },
    });
    await record('virtualMachine', 'GET', vmId, C);
    await record('instanceView', 'GET', `${vmId}/instanceView`, C);
    await record('availabilitySet', 'GET', avsetId, C);
    for (const [fam, path] of [
      ['virtualNetwork', vnetId],
      ['subnet', `${vnetId}/subnets/b`],
      ['publicIp', pipId],
      ['loadBalancer', lbId],
      ['backendPool', `${lbId}/backendAddressPools/pool`],
      ['networkInterface', nicId],
    ] as const) {
      await record(fam, 'GET', path, N);
    }
    const diskId = `${rg()}/Microsoft.Compute/disks/disk`;
    await record('disk', 'PUT', diskId, D, {
      location: 'westus',
      sku: { name: 'Standard_LRS' },
      properties: { creationData: { createOption: 'Empty' }, diskSizeGB: 10 },
    });
    await record('disk', 'PATCH', diskId, D, { properties: { diskSizeGB: 20 } });
    await record('disk', 'GET', diskId, D);
    await record('snapshot', 'PUT', `${rg()}/Microsoft.Compute/snapshots/snap`, D, {
      location: 'westus',
      properties: { creationData: { createOption: 'Copy', sourceResourceId: diskId } },
    });
    const saId = `${rg()}/Microsoft.Storage/storageAccounts/shapestore`;
    await record('storageAccount', 'PUT', saId, '2025-08-01', {
      location: 'westus',
      sku: { name: 'Standard_LRS' },
      kind: 'StorageV2',
    });
    await record('storageAccount', 'GET', saId, '2025-08-01');
    await record('storageKeys', 'POST', `${saId}/listKeys`, '2025-08-01');
  });
  after(async () => {
    await fake?.stop();
  });

  for (const family of Object.keys(FAMILIES)) {
    it(`${family}: only keys the examples use, and their core keys`, () => {
      const f = FAMILIES[family]!;
      const allowed = exampleKeys(examples, f.examples);
      for (const e of f.extra ?? []) allowed.add(e);
      const mine = bodies.filter(([fam]) => fam === family);
      assert.ok(mine.length > 0, `no ${family} body was recorded`);
      for (const [, what, body] of mine) {
        const keys = keyPaths(body);
        const unknown = [...keys].filter((k) => !allowed.has(k)).sort();
        assert.deepEqual(unknown, [], `${what} returns keys no example of ${family} has`);
        const missing = f.core.filter((k) => !keys.has(k));
        assert.deepEqual(missing, [], `${what} lacks core keys`);
        for (const k of f.core)
          assert.ok(allowed.has(k) || (f.extra ?? []).includes(k), `core key ${k} is in the examples`);
      }
    });
  }
});
