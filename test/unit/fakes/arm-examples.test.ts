import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startFakeArm, type FakeArm } from '../../fakes/arm/fake-arm.js';
import { fakeArmToken, rawRequest } from '../../fakes/arm/raw-client.js';
import { needsReference, referenceDir } from '../../helpers/reference.js';

// An independent check of ARM's documented behaviour against the fake: the published request
// examples (Azure/azure-rest-api-specs, kept read-only in the shared reference folder) are sent
// to the fake as they are, with only the subscription swapped and what they refer to made first.
// The fake must accept every documented request with one of the example's status codes, and
// where the example shows the first answer's provisioningState for a resource whose PUT is
// documented as synchronous (NIC) or long-running (disk, VM), the fake's must be the same. The
// fake's refusal rules are thus held to the documentation's own valid requests.

/** The ARM examples of the reference corpus (../shared/reference, or $REFERENCE_DIR); ARM_SPECS_DIR overrides. */
const SPECS = process.env['ARM_SPECS_DIR'] ?? join(referenceDir, 'azure-rest-api-specs');
/** Outside CI a missing corpus skips the suite, saying so; with CI=true it is required. */
const skip = process.env['ARM_SPECS_DIR'] === undefined ? needsReference() : false;

function findExample(name: string): string {
  const walk = (d: string): string | undefined => {
    for (const f of readdirSync(d)) {
      const p = join(d, f);
      if (statSync(p).isDirectory()) {
        const found = walk(p);
        if (found) return found;
      } else if (f === name) return p;
    }
    return undefined;
  };
  const p = walk(SPECS);
  assert.ok(p, `reference example ${name} not found under ${SPECS}`);
  return p;
}

/** Example → the path template of its operation and the body parameter's name. */
const EXAMPLES: readonly {
  file: string;
  path: (p: Record<string, string>) => string;
  body: string;
  state?: boolean;
}[] = [
  {
    file: 'PublicIpAddressCreateDefaults.json',
    path: (p) => `providers/Microsoft.Network/publicIPAddresses/${p.publicIpAddressName}`,
    body: 'parameters',
  },
  {
    file: 'SubnetCreate.json',
    path: (p) => `providers/Microsoft.Network/virtualNetworks/${p.virtualNetworkName}/subnets/${p.subnetName}`,
    body: 'subnetParameters',
  },
  {
    file: 'NetworkInterfaceCreate.json',
    path: (p) => `providers/Microsoft.Network/networkInterfaces/${p.networkInterfaceName}`,
    body: 'parameters',
    state: true,
  },
  {
    file: 'NetworkSecurityGroupCreateWithRule.json',
    path: (p) => `providers/Microsoft.Network/networkSecurityGroups/${p.networkSecurityGroupName}`,
    body: 'parameters',
  },
  {
    file: 'Disk_Create_Empty.json',
    path: (p) => `providers/Microsoft.Compute/disks/${p.diskName}`,
    body: 'disk',
    state: true,
  },
  {
    file: 'AvailabilitySet_Create.json',
    path: (p) => `providers/Microsoft.Compute/availabilitySets/${p.availabilitySetName}`,
    body: 'parameters',
  },
  {
    file: 'VirtualMachine_Create_WithSshAuthentication.json',
    path: (p) => `providers/Microsoft.Compute/virtualMachines/${p.vmName}`,
    body: 'parameters',
    state: true,
  },
  {
    file: 'VirtualMachine_Create_InAnAvailabilitySet.json',
    path: (p) => `providers/Microsoft.Compute/virtualMachines/${p.vmName}`,
    body: 'parameters',
    state: true,
  },
  {
    file: 'VirtualMachine_Create_FromACustomImage.json',
    path: (p) => `providers/Microsoft.Compute/virtualMachines/${p.vmName}`,
    body: 'parameters',
    state: true,
  },
];

describe('the fake accepts ARM’s documented example requests as the examples answer them', { skip }, () => {
  let fake: FakeArm;
  let token = '';
  let n = 0;

  const api = { network: '2024-05-01', compute: '2024-07-01' };
  const put = async (path: string, version: string, body: unknown): Promise<void> => {
    const r = await rawRequest(fake, 'PUT', `${path}?api-version=${version}`, { token, body });
    assert.ok(r.status < 300, `making ${path}: ${r.status} ${JSON.stringify(r.body)}`);
    const op = r.headers['azure-asyncoperation'] as string | undefined;
    if (op) for (let i = 0; i < 5 && (await rawRequest(fake, 'GET', op, { token })).body.status === 'InProgress'; i++);
  };
  const group = async (rg: string) =>
    put(`/subscriptions/${fake.subscriptionId}/resourcegroups/${encodeURIComponent(rg)}`, '2025-04-01', {
      location: 'westus',
    });

  /** Makes what an example's body refers to, by kind, minimal. */
  async function ensureRef(id: string): Promise<void> {
    if (fake.state.get(id)) return;
    const m =
      /^\/subscriptions\/[^/]+\/resourceGroups\/([^/]+)\/providers\/([^/]+\/[^/]+)\/([^/]+)(?:\/subnets\/([^/]+))?$/i.exec(
        id,
      );
    if (!m) return;
    const [, rg, type, name, subnet] = m as unknown as [string, string, string, string, string | undefined];
    await group(rg);
    const top = id.replace(/\/subnets\/[^/]+$/i, '');
    const path = top.split('/').map(encodeURIComponent).join('/');
    switch (type.toLowerCase()) {
      case 'microsoft.network/virtualnetworks':
        if (subnet && !fake.state.get(top))
          await put(path, api.network, {
            location: 'westus',
            properties: {
              addressSpace: { addressPrefixes: [`10.${++n}.0.0/16`] },
              subnets: [{ name: subnet, properties: { addressPrefix: `10.${n}.0.0/24` } }],
            },
          });
        return;
      case 'microsoft.network/publicipaddresses':
        return put(path, api.network, {
          location: 'westus',
          sku: { name: 'Standard' },
          properties: { publicIPAllocationMethod: 'Static' },
        });
      case 'microsoft.network/networkinterfaces': {
        const vnet = `/subscriptions/${fake.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/deps-${name.replace(/[^A-Za-z0-9-]/g, '')}`;
        await ensureRef(`${vnet}/subnets/default`);
        return put(path, api.network, {
          location: 'westus',
          properties: { ipConfigurations: [{ name: 'ip', properties: { subnet: { id: `${vnet}/subnets/default` } } }] },
        });
      }
      case 'microsoft.compute/availabilitysets':
        return put(path, api.compute, {
          location: 'westus',
          sku: { name: 'Aligned' },
          properties: { platformFaultDomainCount: 2, platformUpdateDomainCount: 5 },
        });
      case 'microsoft.compute/images':
        return put(path, api.compute, {
          location: 'westus',
          properties: {
            storageProfile: {
              osDisk: {
                osType: 'Linux',
                osState: 'Generalized',
                blobUri: 'https://example.blob.core.windows.net/images/root.vhd',
              },
            },
          },
        });
    }
  }

  function ids(v: unknown, out: string[] = []): string[] {
    if (Array.isArray(v)) for (const x of v) ids(x, out);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === 'id' && typeof x === 'string') out.push(x);
        else ids(x, out);
      }
    }
    return out;
  }

  before(async () => {
    fake = await startFakeArm({ lro: { pollsBeforeDone: 0 } });
    token = await fakeArmToken(fake);
  });
  after(async () => {
    await fake?.stop();
  });

  for (const ex of EXAMPLES) {
    it(ex.file, async () => {
      const doc = JSON.parse(readFileSync(findExample(ex.file), 'utf8')) as {
        parameters: Record<string, unknown>;
        responses: Record<string, { body?: { properties?: { provisioningState?: string } } }>;
      };
      const params = Object.fromEntries(
        Object.entries(doc.parameters).filter(([, v]) => typeof v === 'string'),
      ) as Record<string, string>;
      const sub = String(params.subscriptionId);
      // a resource group per example: several examples name the same VM and NIC
      const rg = `${String(params.resourceGroupName)}-${EXAMPLES.indexOf(ex)}`;
      const text = JSON.stringify(doc.parameters[ex.body])
        .split(sub)
        .join(fake.subscriptionId)
        .split(`/resourceGroups/${String(params.resourceGroupName)}/`)
        .join(`/resourceGroups/${rg}/`);
      const body = JSON.parse(text) as unknown;
      for (const id of ids(body)) await ensureRef(id);
      await group(rg);
      if (ex.file === 'SubnetCreate.json')
        await put(
          `/subscriptions/${fake.subscriptionId}/resourceGroups/${rg}/providers/Microsoft.Network/virtualNetworks/${params.virtualNetworkName}`,
          api.network,
          { location: 'westus', properties: { addressSpace: { addressPrefixes: ['10.0.0.0/8'] } } },
        );
      const path = `/subscriptions/${fake.subscriptionId}/resourceGroups/${rg}/${ex.path(params)}`
        .split('/')
        .map(encodeURIComponent)
        .join('/');
      const r = await rawRequest(fake, 'PUT', `${path}?api-version=${params['api-version']}`, { token, body });
      const codes = Object.keys(doc.responses).filter((c) => /^2/.test(c));
      assert.ok(
        codes.includes(String(r.status)),
        `${ex.file}: the fake answered ${r.status} ${JSON.stringify(r.body)}; the example documents ${codes.join(', ')}`,
      );
      if (ex.state) {
        const documented = doc.responses[String(r.status)]?.body?.properties?.provisioningState;
        assert.equal(
          r.body?.properties?.provisioningState,
          documented,
          `${ex.file}: provisioningState of the first answer`,
        );
      }
    });
  }
});
