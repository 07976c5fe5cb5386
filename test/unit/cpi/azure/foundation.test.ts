import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { buildAzureClients } from '../../../../cpi/azure/clients.js';
import type { AzureClients } from '../../../../cpi/azure/clients.js';
import { parseAzureCpiConfig } from '../../../../cpi/azure/config.js';
import { deleteFoundation, ensureFoundation, parseFoundationProps } from '../../../../cpi/azure/foundation.js';
import { startFakeArm } from '../../../fakes/arm/fake-arm.js';
import type { FakeArm } from '../../../fakes/arm/fake-arm.js';
import { startAzurite } from '../../../helpers/azurite.js';
import { generateSshKeyPair } from '../../../../src/crypto/ssh-keys.js';

function properties(fake: FakeArm) {
  return {
    location: 'westeurope',
    subscription_id: fake.subscriptionId,
    tenant_id: fake.tenantId,
    client_id: fake.clientId,
    client_secret: fake.clientSecret,
    resource_group_name: 'cfcr-rg',
    storage_account_name: 'cfcrstore01',
    default_security_group: 'nsg-bosh',
    resource_manager_endpoint: fake.endpoint,
    authority_host: fake.authorityHost,
    ca_cert: fake.caPem,
    foundation: {
      virtual_network_name: 'boshvnet-crp',
      subnet_name: 'Bosh',
      internal_cidr: '10.0.0.0/24',
      director_ip: '10.0.0.4',
      load_balancers: {
        'cfcr-lb': {
          public_ip_name: 'cfcr-lb-ip',
          backend_pool: 'cfcr-lb-pool',
          probe: { port: 8443, protocol: 'Tcp' },
          rules: [{ frontend: 8443, backend: 8443, protocol: 'Tcp' }],
        },
      },
      security_groups: [
        { name: 'nsg-bosh', rules: [{ name: 'ssh', port: 22, source: '10.0.0.0/24', priority: 200 }] },
        { name: 'cfcr-master', rules: [{ name: 'master-api', port: 8443, source: 'Internet', priority: 100 }] },
      ],
    },
  };
}

describe('Azure foundation (ensureFoundation / deleteFoundation) against the fake ARM and Azurite', () => {
  let fake: FakeArm;
  let clients: AzureClients;
  let azurite: { url: string; stop: () => Promise<void> } | undefined;
  // Azurite learns the account's keys when the foundation first needs the blob endpoint.
  const blobEndpoint = async (account: string): Promise<string> => {
    const keys = fake.storageAccountKeys(account);
    if (keys === undefined) throw new Error(`no keys for ${account}`);
    azurite ??= await startAzurite(account, keys);
    return azurite.url;
  };
  let first: Awaited<ReturnType<typeof ensureFoundation>>;

  before(async () => {
    fake = await startFakeArm();
    clients = buildAzureClients(parseAzureCpiConfig(properties(fake)), {
      retry: { retryDelayInMs: 20, maxRetryDelayInMs: 200 },
    });
  });
  after(async () => {
    await azurite?.stop();
    await fake?.stop();
  });

  it('creates the resource group, NSGs, vnet/subnet, public IP, load balancer, storage account and containers', async () => {
    first = await ensureFoundation(clients, parseFoundationProps(properties(fake)), {
      pollIntervalMs: 5,
      blobEndpoint,
    });
    const kinds = first.created.map((id) =>
      id.replace(/^.*\/providers\/|^\/subscriptions\/[^/]+\//, '').replace(/\/[^/]+$/, ''),
    );
    assert.deepEqual(kinds.sort(), [
      'Microsoft.Network/loadBalancers',
      'Microsoft.Network/networkSecurityGroups',
      'Microsoft.Network/networkSecurityGroups',
      'Microsoft.Network/publicIPAddresses',
      'Microsoft.Network/virtualNetworks',
      'Microsoft.Storage/storageAccounts',
      'Microsoft.Storage/storageAccounts/cfcrstore01/blobServices/default/containers',
      'Microsoft.Storage/storageAccounts/cfcrstore01/blobServices/default/containers',
      'resourceGroups',
    ]);
    const lb = await clients.network.loadBalancers.get('cfcr-rg', 'cfcr-lb');
    assert.deepEqual(
      lb.backendAddressPools?.map((p) => p.name),
      ['cfcr-lb-pool'],
    );
    assert.equal(lb.probes?.[0]?.port, 8443);
    assert.deepEqual(
      lb.loadBalancingRules?.map((r) => [r.frontendPort, r.backendPort, r.protocol]),
      [[8443, 8443, 'Tcp']],
    );
    const nsg = await clients.network.networkSecurityGroups.get('cfcr-rg', 'cfcr-master');
    assert.deepEqual(
      nsg.securityRules?.map((r) => [r.name, r.destinationPortRange, r.sourceAddressPrefix, r.priority]),
      [['master-api', '8443', 'Internet', 100]],
    );
    const subnet = await clients.network.subnets.get('cfcr-rg', 'boshvnet-crp', 'Bosh');
    assert.equal(subnet.addressPrefix, '10.0.0.0/24');
    const keys = fake.storageAccountKeys('cfcrstore01')!;
    const blobs = new BlobServiceClient(azurite!.url, new StorageSharedKeyCredential('cfcrstore01', keys.key1));
    const containers: string[] = [];
    for await (const c of blobs.listContainers()) containers.push(c.name);
    assert.deepEqual(containers.sort(), ['bosh', 'stemcell']);
  });

  it('a second run over the same foundation makes no write request', async () => {
    const before = fake.requestLog.entries().length;
    const second = await ensureFoundation(clients, parseFoundationProps(properties(fake)), {
      pollIntervalMs: 5,
      blobEndpoint,
      recorded: first.created,
    });
    const requests = fake.requestLog
      .entries()
      .slice(before)
      .filter((e) => e.resourceType !== 'auth');
    assert.deepEqual(
      requests.filter((e) => e.method !== 'GET' && e.method !== 'HEAD'),
      [],
    );
    assert.ok(requests.length > 0);
    assert.deepEqual(second.created, []);
    assert.deepEqual(second.updated, []);
    assert.equal(second.unchanged.length, first.created.length);
  });

  it('a changed rule is PUT again (and recorded as updated, not created)', async () => {
    const props = properties(fake);
    props.foundation.security_groups[1]!.rules[0]!.priority = 110;
    const third = await ensureFoundation(clients, parseFoundationProps(props), {
      pollIntervalMs: 5,
      blobEndpoint,
      recorded: first.created,
    });
    assert.deepEqual(third.created, []);
    assert.deepEqual(
      third.updated.map((id) => id.split('/').pop()),
      ['cfcr-master'],
    );
    assert.equal(
      (await clients.network.networkSecurityGroups.get('cfcr-rg', 'cfcr-master')).securityRules?.[0]?.priority,
      110,
    );
  });

  it('invalid foundation properties are reported all at once with their paths', () => {
    const props = properties(fake);
    const bad = {
      ...props,
      foundation: {
        ...props.foundation,
        internal_cidr: '10.0.0/24',
        security_groups: [{ name: 'x', rules: [{ name: 'r', port: 70000, priority: 5 }] }],
      },
    };
    assert.throws(
      () => parseFoundationProps(bad),
      (err: Error) =>
        err.message ===
        "Validating the Azure foundation: 'foundation.internal_cidr' must be an IPv4 CIDR, found '10.0.0/24'; 'foundation.address_space' must be a list of IPv4 CIDRs, found [\"10.0.0/24\"]; 'foundation.security_groups[0].rules[0].port' must be a port number, found 70000; 'foundation.security_groups[0].rules[0].priority' must be a whole number 100-4096, found 5",
    );
  });

  it('delete removes exactly what was created, and a resource it found stays', async () => {
    // something the foundation did not create, in the same group
    await clients.network.networkSecurityGroups.beginCreateOrUpdateAndWait(
      'cfcr-rg',
      'someone-elses',
      { location: 'westeurope' },
      { updateIntervalInMs: 5 },
    );
    const withoutGroup = first.created.filter((id) => !/\/resourceGroups\/[^/]+$/.test(id));
    await deleteFoundation(clients, withoutGroup, { pollIntervalMs: 5, blobEndpoint });
    const left = fake.state.inGroup('cfcr-rg').map((r) => r.name);
    assert.deepEqual(left, ['someone-elses']);
    await deleteFoundation(clients, first.created, { pollIntervalMs: 5, blobEndpoint }); // again, with the group: what is gone is fine
    assert.equal(fake.state.group('cfcr-rg'), undefined);
  });
});

describe('the jumpbox in the Azure foundation', () => {
  let fake: FakeArm;
  let clients: AzureClients;
  const booted: { customData: string | undefined; privateIp: string | undefined; sshKeys: readonly string[] }[] = [];
  const director = generateSshKeyPair('ed25519', 'director');
  const hostKey = generateSshKeyPair('ed25519', 'jumpbox');
  const identity = {
    authorizedKey: director.publicKey,
    hostPrivateKey: hostKey.privateKey,
    hostPublicKey: hostKey.publicKey,
  };
  const withJumpbox = (f: FakeArm, jumpbox: unknown) => {
    const p = properties(f);
    const { storage_account_name: _sa, ...rest } = { ...p, foundation: { ...p.foundation, jumpbox } };
    void _sa;
    return rest;
  };

  before(async () => {
    fake = await startFakeArm();
    fake.hooks.onVmCreated = (vm) =>
      void booted.push({ customData: vm.customData, privateIp: vm.privateIp, sshKeys: vm.sshKeys });
    clients = buildAzureClients(parseAzureCpiConfig(properties(fake)), {
      retry: { retryDelayInMs: 20, maxRetryDelayInMs: 200 },
    });
  });
  after(async () => {
    await fake?.stop();
  });

  it('without the CIDRs allowed to reach it, making a jumpbox is refused before any write', async () => {
    const before = fake.requestLog.entries().length;
    await assert.rejects(
      ensureFoundation(clients, parseFoundationProps(withJumpbox(fake, undefined)), {
        pollIntervalMs: 5,
        jumpbox: identity,
      }),
      (err: Error) =>
        err.message.startsWith(
          "Validating the Azure foundation: 'foundation.jumpbox.allowed_cidrs' must list the IPv4 CIDRs that may SSH to the jumpbox (there is no Internet-wide default), found none; or set 'gateway: none'",
        ),
    );
    assert.deepEqual(fake.requestLog.entries().slice(before), []);
    assert.throws(
      () => parseFoundationProps(withJumpbox(fake, { allowed_cidrs: [] })),
      (err: Error) =>
        err.message ===
        "Validating the Azure foundation: 'foundation.jumpbox.allowed_cidrs' must list the IPv4 CIDRs that may SSH to the jumpbox (there is no Internet-wide default), found []",
    );
    assert.throws(
      () => parseFoundationProps(withJumpbox(fake, { allowed_cidrs: ['0.0.0.0/0'] })),
      /opens the jumpbox to the whole Internet \('0\.0\.0\.0\/0'\)/,
    );
  });

  it('makes a VM with a public IP, SSH allowed only from the listed CIDRs, the director key and host key in its custom data', async () => {
    const r = await ensureFoundation(
      clients,
      parseFoundationProps(withJumpbox(fake, { allowed_cidrs: ['203.0.113.0/24', '198.51.100.7'] })),
      { pollIntervalMs: 5, jumpbox: identity },
    );
    const names = r.created.map((id) => id.split('/').slice(-2).join('/'));
    for (const n of [
      'networkSecurityGroups/jumpbox-nsg',
      'publicIPAddresses/jumpbox-ip',
      'networkInterfaces/jumpbox-nic',
      'virtualMachines/jumpbox',
    ])
      assert.ok(names.includes(n), `${n} created: ${JSON.stringify(names)}`);
    const nsg = await clients.network.networkSecurityGroups.get('cfcr-rg', 'jumpbox-nsg');
    assert.deepEqual(
      nsg.securityRules?.map((x) => [x.destinationPortRange, x.sourceAddressPrefix, x.access, x.direction]),
      [
        ['22', '203.0.113.0/24', 'Allow', 'Inbound'],
        ['22', '198.51.100.7', 'Allow', 'Inbound'],
      ],
    );
    const pip = await clients.network.publicIPAddresses.get('cfcr-rg', 'jumpbox-ip');
    assert.equal(r.addresses['jumpbox'], pip.ipAddress);
    assert.equal(
      r.addresses['cfcr-lb'],
      (await clients.network.publicIPAddresses.get('cfcr-rg', 'cfcr-lb-ip')).ipAddress,
    );
    const nic = await clients.network.networkInterfaces.get('cfcr-rg', 'jumpbox-nic');
    assert.equal(nic.networkSecurityGroup?.id?.toLowerCase(), nsg.id?.toLowerCase());
    assert.equal(nic.ipConfigurations?.[0]?.publicIPAddress?.id?.toLowerCase(), pip.id?.toLowerCase());
    assert.equal(booted.length, 1);
    assert.deepEqual(booted[0]!.sshKeys, [director.publicKey]);
    assert.match(booted[0]!.privateIp ?? '', /^10\.0\.0\.\d+$/);
    const init = booted[0]!.customData ?? '';
    assert.ok(
      init.startsWith('#cloud-config\n') && init.includes(hostKey.publicKey) && init.includes(director.publicKey),
      init.slice(0, 200),
    );
    // run again: nothing written
    const before = fake.requestLog.entries().length;
    const again = await ensureFoundation(
      clients,
      parseFoundationProps(withJumpbox(fake, { allowed_cidrs: ['203.0.113.0/24', '198.51.100.7'] })),
      { pollIntervalMs: 5, jumpbox: identity },
    );
    assert.deepEqual(again.created, []);
    assert.deepEqual(
      fake.requestLog
        .entries()
        .slice(before)
        .filter((e) => e.method !== 'GET' && e.resourceType !== 'auth'),
      [],
    );
    // and delete-env's deletion removes it, VM before NIC before public IP
    await deleteFoundation(clients, r.created, { pollIntervalMs: 5 });
    assert.equal(fake.state.group('cfcr-rg'), undefined);
  });
});
