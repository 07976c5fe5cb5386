import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { connect, createServer } from 'node:net';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { BlobServiceClient, StorageSharedKeyCredential } from '@azure/storage-blob';
import { parse } from 'yaml';
import { AzureCpi } from '../../../../cpi/azure/azure-cpi.js';
import { buildAzureClients } from '../../../../cpi/azure/clients.js';
import { parseAzureCpiConfig } from '../../../../cpi/azure/config.js';
import type { AzureCpiConfig } from '../../../../cpi/azure/config.js';
import { ensureFoundation, parseFoundationProps } from '../../../../cpi/azure/foundation.js';
import type { Networks, VmEnv } from '../../../../cpi/contract.js';
import { CpiError } from '../../../../cpi/cpi-error.js';
import { generateSshKeyPair, publicKeyOf } from '../../../../src/crypto/ssh-keys.js';
import { startFakeArm } from '../../../fakes/arm/fake-arm.js';
import type { FakeArm } from '../../../fakes/arm/fake-arm.js';
import type { VmHookInfo } from '../../../fakes/arm/vm-hooks.js';
import { scaledArmClock } from '../../../helpers/arm-clock.js';
import { startAzurite } from '../../../helpers/azurite.js';

async function rejectsCpi(p: Promise<unknown>, check: (e: CpiError) => void): Promise<CpiError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CpiError, `expected a CpiError, got ${String(err)}`);
    check(err);
    return err;
  }
  assert.fail('expected a CpiError');
}

const RG = 'unit-rg';

/**
 * An SSH key pair ssh2 can read back. ssh2's ed25519 keygen (behind generateSshKeyPair) drops a
 * leading zero byte of the public key about once in 256 keys, and such a key does not parse.
 */
function usableKeyPair(): ReturnType<typeof generateSshKeyPair> {
  for (;;) {
    const pair = generateSshKeyPair();
    try {
      publicKeyOf(pair.privateKey);
      return pair;
    } catch {
      // draw again
    }
  }
}
const ACCOUNT = 'unitstore01';
const LIGHT = {
  name: 'bosh-azure-hyperv-ubuntu-jammy-go_agent',
  version: '1.1',
  image: { publisher: 'Canonical', offer: '0001-com-ubuntu-server-jammy', sku: '22_04-lts-gen2', version: 'latest' },
};

describe('Azure CPI against the fake ARM', () => {
  let fake: FakeArm;
  let config: AzureCpiConfig;
  let cpi: AzureCpi;
  let azurite: { url: string; stop: () => Promise<void> } | undefined;
  let scratch: string;
  let stemcell: string;
  const booted: VmHookInfo[] = [];
  const director = generateSshKeyPair('ed25519', 'director');
  const id = (type: string, name: string) =>
    `/subscriptions/${fake.subscriptionId}/resourceGroups/${RG}/providers/${type}/${name}`;
  const exists = (type: string, name: string) => fake.state.get(id(type, name)) !== undefined;
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
  const envFor = (agentId: string, hostKey = usableKeyPair()): VmEnv => ({
    bosh: { group: 'cfcr-master', groups: ['director', 'cfcr', 'master'], password: 'not-in-errors' },
    director: { uuid: 'dir-uuid', deployment: 'cfcr', instance: { group: 'master', index: 0, id: 'inst-1' }, agentId },
    ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [director.publicKey] },
  });
  const blobEndpoint = async (account: string): Promise<string> => {
    azurite ??= await startAzurite(account, fake.storageAccountKeys(account)!);
    return azurite.url;
  };

  before(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'azure-cpi-unit-'));
    fake = await startFakeArm({ hooks: { onVmCreated: (vm) => void booted.push(vm) } });
    const properties = {
      location: 'westeurope',
      subscription_id: fake.subscriptionId,
      tenant_id: fake.tenantId,
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      resource_group_name: RG,
      storage_account_name: ACCOUNT,
      default_security_group: 'nsg-bosh',
      resource_manager_endpoint: fake.endpoint,
      authority_host: fake.authorityHost,
      ca_cert: fake.caPem,
      foundation: {
        virtual_network_name: 'vnet',
        subnet_name: 'bosh',
        internal_cidr: '10.0.0.0/24',
        load_balancers: {
          'cfcr-lb': {
            public_ip_name: 'cfcr-lb-ip',
            backend_pool: 'cfcr-lb-pool',
            probe: { port: 8443 },
            rules: [{ frontend: 8443, backend: 8443 }],
          },
        },
        security_groups: [
          { name: 'nsg-bosh', rules: [{ name: 'ssh', port: 22, source: '10.0.0.0/24', priority: 200 }] },
          { name: 'cfcr-master', rules: [{ name: 'master-api', port: 8443, source: 'Internet', priority: 100 }] },
        ],
      },
    };
    config = parseAzureCpiConfig(properties);
    const clients = buildAzureClients(config, { retry: { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 } });
    await ensureFoundation(clients, parseFoundationProps(properties), { pollIntervalMs: 5, blobEndpoint });
    // one attempt per method: these tests look at what a single failed operation leaves and says
    cpi = new AzureCpi(config, {
      clients,
      pollIntervalMs: 5,
      blobEndpoint: () => azurite?.url ?? '',
      asyncRetries: 0,
      clock: scaledArmClock(() => fake.lro.timeScale),
      lockDir: join(scratch, 'locks'),
    });
    stemcell = await cpi.createStemcell('', LIGHT);
  });
  after(async () => {
    await azurite?.stop();
    await fake?.stop();
    if (scratch) await rm(scratch, { recursive: true, force: true });
  });

  it('create_vm: names from the agent id, NIC with static IP, NSG and LB pool, zone, disks, tags everywhere', async () => {
    booted.length = 0;
    const hostKey = usableKeyPair();
    const cp = {
      instance_type: 'Standard_D2s_v3',
      root_disk: { size: 30 * 1024, type: 'Premium_LRS' },
      ephemeral_disk: { size: 20 * 1024 },
      load_balancer: { name: 'cfcr-lb', backend_pool_name: 'cfcr-lb-pool' },
      security_group: 'cfcr-master',
      availability_zone: '2',
      tags: { team: 'k8s' },
    };
    const created = await cpi.createVm('agent-m0', stemcell, cp, net('10.0.0.10'), [], envFor('agent-m0', hostKey));
    assert.equal(created.vmCid, `agent_id:agent-m0;resource_group_name:${RG}`);
    assert.equal(created.networks, undefined);
    const vm = fake.state.get(id('Microsoft.Compute/virtualMachines', 'agent-m0'))!.body;
    const tags = {
      team: 'k8s',
      director: 'dir-uuid',
      deployment: 'cfcr',
      instance_group: 'master',
      instance_index: '0',
      instance_id: 'inst-1',
      agent_id: 'agent-m0',
    };
    assert.deepEqual(vm.tags, tags);
    assert.deepEqual(vm.zones, ['2']);
    assert.equal(vm.properties.hardwareProfile.vmSize, 'Standard_D2s_v3');
    assert.deepEqual(vm.properties.storageProfile.imageReference, {
      publisher: 'Canonical',
      offer: '0001-com-ubuntu-server-jammy',
      sku: '22_04-lts-gen2',
      version: 'latest',
    });
    assert.equal(vm.properties.storageProfile.osDisk.name, 'bosh-disk-os-agent-m0');
    assert.equal(vm.properties.storageProfile.osDisk.diskSizeGB, 30);
    assert.equal(vm.properties.storageProfile.osDisk.managedDisk.storageAccountType, 'Premium_LRS');
    assert.deepEqual(
      vm.properties.storageProfile.dataDisks.map((d: { lun: number; name: string; diskSizeGB: number }) => [
        d.lun,
        d.name,
        d.diskSizeGB,
      ]),
      [[0, 'bosh-disk-os-agent-m0-ephemeral-disk', 20]],
    );
    // the VM's own disks go with it (deleteOption Delete) and get no tag PATCH: the VM's tags find them
    assert.equal(vm.properties.storageProfile.osDisk.deleteOption, 'Delete');
    assert.equal(vm.properties.storageProfile.dataDisks[0].deleteOption, 'Delete');
    assert.deepEqual(
      vm.properties.networkProfile.networkInterfaces.map(
        (n: { properties: { deleteOption: string } }) => n.properties.deleteOption,
      ),
      ['Delete'],
    );
    const nic = fake.state.get(id('Microsoft.Network/networkInterfaces', 'agent-m0-0'))!.body;
    assert.deepEqual(nic.tags, tags);
    assert.equal(
      nic.properties.networkSecurityGroup.id.toLowerCase(),
      id('Microsoft.Network/networkSecurityGroups', 'cfcr-master').toLowerCase(),
    );
    const ipc = nic.properties.ipConfigurations[0].properties;
    assert.equal(ipc.privateIPAddress, '10.0.0.10');
    assert.equal(ipc.privateIPAllocationMethod, 'Static');
    assert.deepEqual(
      ipc.loadBalancerBackendAddressPools.map((p: { id: string }) => p.id.split('/').pop()),
      ['cfcr-lb-pool'],
    );

    // the custom data cloud-init reads: vcap at /var/vcap, the director's key, the director's host key, agent settings
    assert.equal(booted.length, 1);
    const info = booted[0]!;
    assert.equal(info.adminUsername, 'vcap');
    assert.deepEqual(info.sshKeys, [director.publicKey]);
    assert.ok(info.customData?.startsWith('#cloud-config\n'));
    const init = parse(info.customData!) as {
      users: { name: string; homedir: string; ssh_authorized_keys: string[] }[];
      ssh_keys: Record<string, string>;
      write_files: { path: string; content: string }[];
    };
    assert.deepEqual(
      [init.users[0]!.name, init.users[0]!.homedir, init.users[0]!.ssh_authorized_keys],
      ['vcap', '/var/vcap', [director.publicKey]],
    );
    assert.deepEqual(init.ssh_keys, {
      ed25519_private: hostKey.privateKey,
      ed25519_public: publicKeyOf(hostKey.privateKey),
    });
    assert.equal(init.write_files[0]!.path, '/var/vcap/bosh/settings.json');
    const settings = JSON.parse(init.write_files[0]!.content) as {
      agent_id: string;
      networks: Networks;
      disks: { ephemeral: unknown };
      env: { bosh?: unknown; group?: string };
    };
    assert.equal(settings.agent_id, 'agent-m0');
    assert.equal(settings.networks.default?.ip, '10.0.0.10');
    assert.deepEqual(settings.disks.ephemeral, { lun: '0', host_device_id: '{f8b3781b-1e82-4818-a1c3-63d806ec15bb}' });
    assert.equal(settings.env.group, 'cfcr-master');

    // persistent disks start at LUN 1 (the ephemeral disk holds 0), in the VM's zone
    const disk = await cpi.createDisk(
      10 * 1024,
      { storage_account_type: 'StandardSSD_LRS', caching: 'ReadOnly' },
      created.vmCid,
    );
    assert.match(disk, /^disk_name:bosh-disk-data-[0-9a-f-]{36}-ReadOnly;resource_group_name:unit-rg$/);
    const diskBody = fake.state.get(id('Microsoft.Compute/disks', /disk_name:([^;]+)/.exec(disk)![1]!))!.body;
    assert.deepEqual(
      [diskBody.zones, diskBody.sku.name, diskBody.properties.diskSizeGB, diskBody.tags.agent_id],
      [['2'], 'StandardSSD_LRS', 10, 'agent-m0'],
    );
    assert.deepEqual(await cpi.attachDisk(created.vmCid, disk), {
      lun: '1',
      host_device_id: '{f8b3781b-1e82-4818-a1c3-63d806ec15bb}',
    });
    assert.deepEqual(await cpi.getDisks(created.vmCid), [disk]);
    await cpi.deleteVm(created.vmCid);
    for (const [t, n] of [
      ['Microsoft.Compute/virtualMachines', 'agent-m0'],
      ['Microsoft.Network/networkInterfaces', 'agent-m0-0'],
      ['Microsoft.Compute/disks', 'bosh-disk-os-agent-m0'],
      ['Microsoft.Compute/disks', 'bosh-disk-os-agent-m0-ephemeral-disk'],
    ] as const) {
      assert.equal(exists(t, n), false, `${t}/${n} left behind`);
    }
    assert.equal(await cpi.hasDisk(disk), true); // persistent disks are kept
    await cpi.deleteDisk(disk);
  });

  it('create_vm with a dynamic network returns the IP Azure assigned', async () => {
    const networks: Networks = {
      default: { type: 'dynamic', cloud_properties: { virtual_network_name: 'vnet', subnet_name: 'bosh' } },
    };
    const created = await cpi.createVm(
      'agent-dyn',
      stemcell,
      { instance_type: 'Standard_B1ms' },
      networks,
      [],
      envFor('agent-dyn'),
    );
    const ip = created.networks?.default?.ip;
    assert.match(ip ?? '', /^10\.0\.0\.\d+$/);
    await cpi.deleteVm(created.vmCid);
  });

  it('a vip network attaches the static public IP with that address; delete_vm keeps it', async () => {
    const pip = await cpi['clients'].network.publicIPAddresses.beginCreateOrUpdateAndWait(
      RG,
      'director-vip',
      { location: 'westeurope', sku: { name: 'Standard' }, publicIPAllocationMethod: 'Static' },
      { updateIntervalInMs: 5 },
    );
    const networks: Networks = { ...net('10.0.0.14'), public: { type: 'vip', ip: pip.ipAddress } };
    const created = await cpi.createVm(
      'agent-vip',
      stemcell,
      { instance_type: 'Standard_B1ms' },
      networks,
      [],
      envFor('agent-vip'),
    );
    const nic = fake.state.get(id('Microsoft.Network/networkInterfaces', 'agent-vip-0'))!.body;
    assert.equal(nic.properties.ipConfigurations[0].properties.publicIPAddress.id.toLowerCase(), pip.id!.toLowerCase());
    await rejectsCpi(
      cpi.createVm(
        'agent-vip2',
        stemcell,
        { instance_type: 'Standard_B1ms' },
        { ...net('10.0.0.15'), public: { type: 'vip', ip: pip.ipAddress } },
        [],
        envFor('agent-vip2'),
      ),
      (e) => assert.match(e.message, /networks\.public\.ip: public IP .* \('director-vip'\) is in use by/),
    );
    await cpi.deleteVm(created.vmCid);
    assert.equal(exists('Microsoft.Network/publicIPAddresses', 'director-vip'), true);
    await rejectsCpi(
      cpi.createVm(
        'agent-vip3',
        stemcell,
        { instance_type: 'Standard_B1ms' },
        { ...net('10.0.0.16'), public: { type: 'vip', ip: '203.0.113.77' } },
        [],
        envFor('agent-vip3'),
      ),
      (e) =>
        assert.equal(
          e.detail,
          "networks.public.ip: no public IP with address 203.0.113.77 in resource group 'unit-rg'",
        ),
    );
  });

  it('a failed create_vm (the VM operation ends Failed) removes everything it made, by name, never by listing', async () => {
    const before = fake.requestLog.entries().length;
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/virtualMachines/agent-fail' });
    const err = await rejectsCpi(
      cpi.createVm(
        'agent-fail',
        stemcell,
        { instance_type: 'Standard_B1ms', assign_dynamic_public_ip: true },
        net('10.0.0.11'),
        [],
        envFor('agent-fail'),
      ),
      (e) => {
        assert.equal(e.kind, 'VmCreationFailed');
        assert.equal(e.okToRetry, true);
        assert.match(e.message, /InternalExecutionError/);
        assert.doesNotMatch(e.message, /not-in-errors|PRIVATE KEY/);
      },
    );
    assert.equal(err.method, 'create_vm');
    for (const [t, n] of [
      ['Microsoft.Compute/virtualMachines', 'agent-fail'],
      ['Microsoft.Network/networkInterfaces', 'agent-fail-0'],
      ['Microsoft.Compute/disks', 'bosh-disk-os-agent-fail'],
      ['Microsoft.Network/publicIPAddresses', 'agent-fail'],
    ] as const) {
      assert.equal(exists(t, n), false, `${t}/${n} left behind`);
    }
    const requests = fake.requestLog.entries().slice(before);
    const lists = requests.filter(
      (e) => e.method === 'GET' && /\/(virtualMachines|networkInterfaces|disks|publicIPAddresses)$/i.test(e.path),
    );
    assert.deepEqual(lists, []);
    assert.deepEqual(
      requests.filter((e) => e.method === 'DELETE').map((e) => e.path.split('/').slice(-2).join('/')),
      [
        'virtualMachines/agent-fail',
        'disks/bosh-disk-os-agent-fail-ephemeral-disk',
        'disks/bosh-disk-os-agent-fail',
        'networkInterfaces/agent-fail-0',
        'publicIPAddresses/agent-fail',
      ],
    );
    assert.equal(await cpi.findVmByAgentId('agent-fail'), undefined);
  });

  it('when cleaning up a failed create_vm fails too, the error names what is left, and findVmByAgentId finds it', async () => {
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/virtualMachines/agent-left' });
    fake.faults.enqueue({
      kind: 'serverError',
      method: 'DELETE',
      pathIncludes: '/virtualMachines/agent-left',
      count: 4,
      status: 500,
    });
    await rejectsCpi(
      cpi.createVm(
        'agent-left',
        stemcell,
        { instance_type: 'Standard_B1ms' },
        net('10.0.0.17'),
        [],
        envFor('agent-left'),
      ),
      (e) => {
        assert.equal(e.kind, 'VmCreationFailed');
        assert.equal(e.okToRetry, false);
        // the failed VM keeps its disks and its NIC (NicInUse, then reserved): all named
        assert.match(
          e.detail,
          /^InternalExecutionError: .* \(cleaning up failed, left: vm 'agent-left', disk 'bosh-disk-os-agent-left-ephemeral-disk', disk 'bosh-disk-os-agent-left', nic 'agent-left-0'\)$/,
        );
      },
    );
    assert.equal(exists('Microsoft.Network/networkInterfaces', 'agent-left-0'), true);
    assert.equal(exists('Microsoft.Compute/virtualMachines', 'agent-left'), true);
    const cid = await cpi.findVmByAgentId('agent-left');
    assert.equal(cid, `agent_id:agent-left;resource_group_name:${RG}`);
    await cpi.deleteVm(cid!);
    assert.equal(exists('Microsoft.Network/networkInterfaces', 'agent-left-0'), false);
  });

  it('findVmByAgentId finds what a crashed create left by name, and delete_vm removes it', async () => {
    // a crash after the NIC was made and before the VM: only the NIC exists
    const subnet = await cpi['clients'].network.subnets.get(RG, 'vnet', 'bosh');
    await cpi['clients'].network.networkInterfaces.beginCreateOrUpdateAndWait(
      RG,
      'agent-crash-0',
      { location: 'westeurope', ipConfigurations: [{ name: 'ipconfig0', subnet: { id: subnet.id! } }] },
      { updateIntervalInMs: 5 },
    );
    const cid = await cpi.findVmByAgentId('agent-crash');
    assert.equal(cid, `agent_id:agent-crash;resource_group_name:${RG}`);
    assert.equal(await cpi.hasVm(cid!), false);
    await cpi.deleteVm(cid!);
    assert.equal(exists('Microsoft.Network/networkInterfaces', 'agent-crash-0'), false);
    assert.equal(await cpi.findVmByAgentId('agent-crash'), undefined);
  });

  it('429 is honoured with Retry-After by the SDK retry policy and counted', async () => {
    const before = cpi.stats();
    const logStart = fake.requestLog.entries().length;
    fake.faults.enqueue({ kind: 'throttle', method: 'GET', pathIncludes: '/virtualMachines/agent-none' });
    assert.equal(await cpi.hasVm('agent_id:agent-none;resource_group_name:unit-rg'), false);
    const after = cpi.stats();
    assert.equal(after.throttled - before.throttled, 1);
    assert.equal(after.retries - before.retries, 1);
    const seen = fake.requestLog
      .entries()
      .slice(logStart)
      .filter((e) => e.path.endsWith('/agent-none'))
      .map((e) => e.status);
    assert.deepEqual(seen, [429, 404]);
  });

  it('5xx is retried with backoff (once per attempt, no double retry); exhausted, it is a retryable CpiError and leaves no disk', async () => {
    const logStart = fake.requestLog.entries().length;
    fake.faults.enqueue({
      kind: 'serverError',
      method: 'PUT',
      pathIncludes: '/disks/bosh-disk-data-',
      count: 2,
      status: 503,
    });
    const disk = await cpi.createDisk(1024, {});
    const puts = () =>
      fake.requestLog
        .entries()
        .slice(logStart)
        .filter((e) => e.method === 'PUT' && e.path.includes('/disks/bosh-disk-data-'));
    assert.deepEqual(
      puts().map((e) => e.status),
      [503, 503, 202],
    );
    await cpi.deleteDisk(disk);

    const again = fake.requestLog.entries().length;
    fake.faults.enqueue({
      kind: 'serverError',
      method: 'PUT',
      pathIncludes: '/disks/bosh-disk-data-',
      count: 10,
      status: 500,
    });
    await rejectsCpi(cpi.createDisk(1024, {}), (e) => {
      assert.equal(e.kind, 'Unknown');
      assert.equal(e.okToRetry, true);
      assert.match(
        e.message,
        /^CPI 'create_disk' responded with Unknown error: InternalServerError: Encountered internal server error/,
      );
    });
    fake.faults.clear();
    const attempts = fake.requestLog
      .entries()
      .slice(again)
      .filter((e) => e.method === 'PUT' && e.path.includes('/disks/bosh-disk-data-'));
    assert.equal(attempts.length, 4); // 1 + maxRetries (3)
    assert.deepEqual(
      fake.state.list('Microsoft.Compute/disks', RG).filter((d) => d.name.startsWith('bosh-disk-data-')),
      [],
    );
  });

  it('a long-running operation that ends Failed is followed to the end and mapped with Azure code and message', async () => {
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/disks/bosh-disk-data-' });
    await rejectsCpi(cpi.createDisk(2048, {}), (e) => {
      assert.equal(e.kind, 'Unknown');
      assert.match(e.detail, /InternalExecutionError/);
      assert.match(e.detail, /An internal execution error occurred/);
    });
    assert.deepEqual(
      fake.state.list('Microsoft.Compute/disks', RG).filter((d) => d.name.startsWith('bosh-disk-data-')),
      [],
    );
  });

  it('a method whose long-running operation failed with a transient code runs again, leaving one disk', async () => {
    const retrying = new AzureCpi(config, {
      retry: { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 50 },
      pollIntervalMs: 5,
      asyncRetries: 2,
    });
    const before = retrying.stats().asyncRetries;
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/disks/bosh-disk-data-', count: 2 });
    const cid = await retrying.createDisk(2048, {});
    assert.equal(retrying.stats().asyncRetries - before, 2);
    assert.deepEqual(
      fake.state
        .list('Microsoft.Compute/disks', RG)
        .filter((d) => d.name.startsWith('bosh-disk-data-'))
        .map((d) => cid.includes(d.name)),
      [true],
    );
    await retrying.deleteDisk(cid);
    fake.faults.enqueue({ kind: 'asyncFailure', method: 'PUT', pathIncludes: '/disks/bosh-disk-data-', count: 3 });
    await rejectsCpi(retrying.createDisk(2048, {}), (e) => assert.match(e.detail, /InternalExecutionError/));
    assert.deepEqual(
      fake.state.list('Microsoft.Compute/disks', RG).filter((d) => d.name.startsWith('bosh-disk-data-')),
      [],
    );
  });

  it('a connection reset is retried by the SDK pipeline and counted', async () => {
    // a TCP relay in front of the fake ARM that resets the first two connections it accepts
    const armPort = Number(new URL(fake.endpoint).port);
    let resets = 2;
    const open = new Set<Socket>();
    const relay = createServer((sock) => {
      open.add(sock);
      sock.on('close', () => open.delete(sock));
      if (resets > 0) {
        resets--;
        sock.resetAndDestroy();
        return;
      }
      const upstream = connect({ host: '127.0.0.1', port: armPort });
      sock.on('error', () => upstream.destroy());
      upstream.on('error', () => sock.destroy());
      sock.pipe(upstream).pipe(sock);
    });
    await new Promise<void>((r) => relay.listen(0, '127.0.0.1', () => r()));
    try {
      const port = (relay.address() as { port: number }).port;
      const viaRelay = new AzureCpi(
        { ...config, resourceManagerEndpoint: `https://127.0.0.1:${port}` },
        { retry: { maxRetries: 3, retryDelayInMs: 10, maxRetryDelayInMs: 20 }, pollIntervalMs: 5 },
      );
      assert.equal(await viaRelay.hasDisk('disk_name:bosh-disk-data-none;resource_group_name:unit-rg'), false);
      assert.equal(resets, 0);
      assert.equal(viaRelay.stats().networkErrors, 2);
      assert.equal(viaRelay.stats().retries, 2);
    } finally {
      for (const sock of open) sock.destroy();
      await new Promise<void>((r) => relay.close(() => r()));
    }
  });

  it('throttling that outlasts the retries is a Throttled CpiError', async () => {
    const impatient = new AzureCpi(config, {
      retry: { maxRetries: 1, retryDelayInMs: 10, maxRetryDelayInMs: 20 },
      pollIntervalMs: 5,
    });
    fake.faults.enqueue({ kind: 'throttle', method: 'GET', pathIncludes: '/disks/bosh-disk-data-x', count: 2 });
    await rejectsCpi(impatient.hasDisk('disk_name:bosh-disk-data-x;resource_group_name:unit-rg'), (e) => {
      assert.equal(e.kind, 'Throttled');
      assert.equal(e.okToRetry, true);
      assert.match(e.message, /SubscriptionRequestsThrottled/);
    });
    assert.equal(impatient.stats().throttled, 2);
  });

  it('invalid cloud properties are InvalidCloudProperties naming the property; nothing is created', async () => {
    const before = fake.requestLog.entries().length;
    const cases: [Record<string, unknown>, Networks, RegExp][] = [
      [{}, net('10.0.0.12'), /cloud_properties\.instance_type must be an Azure VM size/],
      [
        { instance_type: 'Standard_B1ms', root_disk: { type: 'Fast_LRS' } },
        net('10.0.0.12'),
        /cloud_properties\.root_disk\.type must be one of Standard_LRS/,
      ],
      [
        { instance_type: 'Standard_B1ms', availability_zone: '1', availability_set: 'as' },
        net('10.0.0.12'),
        /availability_zone and cloud_properties\.availability_set/,
      ],
      [
        { instance_type: 'Standard_B1ms', security_group: 'nope' },
        net('10.0.0.12'),
        /cloud_properties\.security_group: network security group 'nope' not found in resource group 'unit-rg'/,
      ],
      [
        { instance_type: 'Standard_B1ms', load_balancer: { name: 'cfcr-lb', backend_pool_name: 'other' } },
        net('10.0.0.12'),
        /cloud_properties\.load_balancer: backend pool 'other' of load balancer 'cfcr-lb' not found in resource group 'unit-rg'/,
      ],
      [
        { instance_type: 'Standard_B1ms' },
        { default: { type: 'manual', ip: '10.0.0.12', cloud_properties: { virtual_network_name: 'vnet' } } },
        /networks\.default\.cloud_properties\.subnet_name must be an Azure resource name/,
      ],
      [
        { instance_type: 'Standard_B1ms' },
        {
          default: {
            type: 'manual',
            ip: '10.0.0.12',
            cloud_properties: { virtual_network_name: 'vnet', subnet_name: 'other' },
          },
        },
        /subnet 'other' of virtual network 'vnet' not found/,
      ],
    ];
    for (const [cp, networks, message] of cases) {
      await rejectsCpi(cpi.createVm('agent-bad', stemcell, cp, networks, [], envFor('agent-bad')), (e) => {
        assert.equal(e.kind, 'InvalidCloudProperties');
        assert.equal(e.okToRetry, false);
        assert.match(e.message, message);
      });
    }
    await rejectsCpi(cpi.createDisk(1024, { caching: 'Sometimes' }), (e) =>
      assert.match(e.message, /cloud_properties\.caching must be one of None, ReadOnly, ReadWrite, found 'Sometimes'/),
    );
    await rejectsCpi(cpi.createStemcell('', { ...LIGHT, image: { publisher: 'Canonical' } }), (e) =>
      assert.match(e.message, /cloud_properties\.image\.offer/),
    );
    // references are not read first: ARM refuses the NIC PUT that names them, and nothing is made
    assert.deepEqual(
      fake.requestLog
        .entries()
        .slice(before)
        .filter((e) => e.method !== 'GET' && e.resourceType !== 'auth' && e.status < 400 && e.status !== 204),
      [],
    );
    assert.equal(exists('Microsoft.Network/networkInterfaces', 'agent-bad-0'), false);
  });

  it('heavy stemcell: the VHD goes to Azurite as a page blob with progress, then a managed image; delete removes both', async () => {
    const vhd = join(scratch, 'root.vhd');
    const content = Buffer.alloc(5 * 1024 * 1024 + 700); // not 512-aligned: padded to pages
    randomBytes(4096).copy(content, 0);
    randomBytes(700).copy(content, content.length - 700);
    await writeFile(vhd, content);
    const tarball = join(scratch, 'image');
    await new Promise<void>((resolve, reject) => {
      const tar = spawn('tar', ['-czf', tarball, '-C', scratch, 'root.vhd'], { stdio: 'ignore' });
      tar.once('exit', (code) => (code === 0 ? resolve() : reject(new Error(`tar exited ${code}`))));
    });
    await blobEndpoint(ACCOUNT); // Azurite knows the account's keys
    const progress: [number, number][] = [];
    // a BOSH heavy stemcell (bosh-agent reads custom data, not cloud-init) is refused before any upload
    await rejectsCpi(
      cpi.createStemcell(tarball, {
        name: 'bosh-azure-hyperv-ubuntu-jammy-go_agent',
        version: '1.5',
        os: 'ubuntu-jammy',
      }),
      (e) => {
        assert.equal(e.kind, 'InvalidCloudProperties');
        assert.match(
          e.message,
          /^CPI 'create_stemcell' responded with InvalidCloudProperties error: cloud_properties\.name 'bosh-azure-hyperv-ubuntu-jammy-go_agent' is a BOSH heavy stemcell: its bosh-agent reads custom data as BOSH settings, not cloud-init/,
        );
      },
    );
    // an image with cloud-init is uploaded
    const cid = await cpi.createStemcell(
      tarball,
      { name: 'ubuntu-jammy-cloud-init', version: '1.5', os: 'ubuntu-jammy' },
      (done, total) => progress.push([done, total]),
    );
    assert.match(cid, /^bosh-stemcell-[0-9a-f-]{36}$/);
    assert.deepEqual(progress.at(-1), [content.length, content.length]);
    assert.ok(progress.length >= 2);
    const image = fake.state.get(id('Microsoft.Compute/images', cid))!.body;
    assert.equal(image.properties.storageProfile.osDisk.blobUri, `${azurite!.url}/stemcell/${cid}.vhd`);
    const keys = fake.storageAccountKeys(ACCOUNT)!;
    const blob = new BlobServiceClient(azurite!.url, new StorageSharedKeyCredential(ACCOUNT, keys.key1))
      .getContainerClient('stemcell')
      .getPageBlobClient(`${cid}.vhd`);
    const got = await blob.downloadToBuffer();
    assert.equal(got.length, Math.ceil(content.length / 512) * 512);
    assert.ok(got.subarray(0, content.length).equals(content));

    const vm = await cpi.createVm(
      'agent-heavy',
      cid,
      { instance_type: 'Standard_B1ms' },
      net('10.0.0.13'),
      [],
      envFor('agent-heavy'),
    );
    assert.equal(
      fake.state
        .get(id('Microsoft.Compute/virtualMachines', 'agent-heavy'))!
        .body.properties.storageProfile.imageReference.id.toLowerCase(),
      id('Microsoft.Compute/images', cid).toLowerCase(),
    );
    await cpi.deleteVm(vm.vmCid);

    await cpi.deleteStemcell(cid);
    assert.equal(exists('Microsoft.Compute/images', cid), false);
    assert.equal(await blob.exists(), false);
    await rejectsCpi(
      cpi.createVm('agent-heavy', cid, { instance_type: 'Standard_B1ms' }, net('10.0.0.13'), [], envFor('agent-heavy')),
      (e) => {
        assert.equal(e.kind, 'NotFound');
        assert.equal(e.resource, 'stemcell');
      },
    );
  });
});
