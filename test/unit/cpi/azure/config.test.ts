import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import {
  diskCid,
  lightStemcellCid,
  parseDiskCid,
  parseLightStemcellCid,
  parseVmCid,
  vmCid,
  vmNames,
} from '../../../../cpi/azure/cids.js';
import { parseDiskProperties, parseNetwork, parseVmProperties } from '../../../../cpi/azure/cloud-properties.js';
import { parseAzureCpiConfig } from '../../../../cpi/azure/config.js';
import { cloudConfig } from '../../../../cpi/azure/custom-data.js';
import { AzureFault, toCpiError } from '../../../../cpi/azure/error-mapper.js';
import { generateSshKeyPair, publicKeyOf } from '../../../../src/crypto/ssh-keys.js';

const base = {
  location: 'westeurope',
  subscription_id: 'sub',
  tenant_id: 'tenant',
  client_id: 'client',
  client_secret: 's3cr3t-value',
  resource_group_name: 'rg',
  storage_account_name: 'store01',
};

describe('Azure CPI config', () => {
  it('defaults to AzureCloud endpoints and a service principal', () => {
    const c = parseAzureCpiConfig(base);
    assert.equal(c.resourceManagerEndpoint, 'https://management.azure.com');
    assert.equal(c.authorityHost, 'https://login.microsoftonline.com');
    assert.equal(c.credentialScope, 'https://management.azure.com/.default');
    assert.deepEqual(c.credential, {
      kind: 'service_principal',
      tenantId: 'tenant',
      clientId: 'client',
      clientSecret: 's3cr3t-value',
    });
    assert.equal(c.sshUser, 'vcap');
  });

  it('knows the sovereign clouds and takes explicit endpoints (AzureStack, tests)', () => {
    const china = parseAzureCpiConfig({ ...base, environment: 'AzureChinaCloud' });
    assert.deepEqual(
      [china.resourceManagerEndpoint, china.authorityHost, china.credentialScope],
      [
        'https://management.chinacloudapi.cn',
        'https://login.chinacloudapi.cn',
        'https://management.chinacloudapi.cn/.default',
      ],
    );
    const stack = parseAzureCpiConfig({
      ...base,
      environment: 'AzureStack',
      resource_manager_endpoint: 'https://management.local.azurestack.external/',
      authority_host: 'https://login.local/',
    });
    assert.deepEqual(
      [stack.resourceManagerEndpoint, stack.authorityHost, stack.credentialScope],
      [
        'https://management.local.azurestack.external',
        'https://login.local',
        'https://management.local.azurestack.external/.default',
      ],
    );
  });

  it('managed identity or the default chain when there is no client secret', () => {
    const { client_secret: _, ...noSecret } = base;
    void _;
    assert.deepEqual(parseAzureCpiConfig({ ...noSecret, managed_identity: { client_id: 'mi' } }).credential, {
      kind: 'managed_identity',
      clientId: 'mi',
    });
    assert.deepEqual(parseAzureCpiConfig({ ...noSecret, managed_identity: true }).credential, {
      kind: 'managed_identity',
    });
    assert.deepEqual(parseAzureCpiConfig(noSecret).credential, { kind: 'default' });
  });

  it('reports every problem at once, naming the property, never echoing the secret', () => {
    assert.throws(
      () =>
        parseAzureCpiConfig({
          ...base,
          location: 3,
          tenant_id: undefined,
          client_secret: ['s3cr3t-value'],
          storage_account_name: 'Bad_Name',
          environment: 'Mars',
        }),
      (err: Error) => {
        assert.equal(
          err.message,
          "Validating Azure CPI config: 'resource_manager_endpoint' is required; 'authority_host' is required; 'environment' must be one of AzureCloud, AzureChinaCloud, AzureUSGovernment, AzureStack, found 'Mars'; 'location' must be a non-empty string, found 3; 'storage_account_name' must be 3-24 lower-case letters and digits, found 'Bad_Name'; 'client_secret' must be a non-empty string",
        );
        assert.doesNotMatch(err.message, /s3cr3t/);
        return true;
      },
    );
  });
});

describe('Azure cids and names (bosh-azure-cpi shapes)', () => {
  it('VM and disk cids round-trip; bare names are taken in the default group', () => {
    assert.equal(vmCid({ agentId: 'a-1', resourceGroupName: 'rg' }), 'agent_id:a-1;resource_group_name:rg');
    assert.deepEqual(parseVmCid('agent_id:a-1;resource_group_name:other', 'rg'), {
      agentId: 'a-1',
      resourceGroupName: 'other',
    });
    assert.deepEqual(parseVmCid('vm-missing', 'rg'), { agentId: 'vm-missing', resourceGroupName: 'rg' });
    assert.equal(parseVmCid('agent_id:../x', 'rg'), undefined);
    assert.equal(
      diskCid({ name: 'bosh-disk-data-x-None', resourceGroupName: 'rg' }),
      'disk_name:bosh-disk-data-x-None;resource_group_name:rg',
    );
    assert.deepEqual(parseDiskCid('disk_name:d;resource_group_name:g', 'rg'), { name: 'd', resourceGroupName: 'g' });
    assert.equal(parseDiskCid('', 'rg'), undefined);
  });

  it('names everything create_vm makes from the agent id', () => {
    const n = vmNames('agent-7');
    assert.deepEqual(
      [n.vm, n.nic(0), n.nic(1), n.osDisk, n.ephemeralDisk, n.publicIp],
      ['agent-7', 'agent-7-0', 'agent-7-1', 'bosh-disk-os-agent-7', 'bosh-disk-os-agent-7-ephemeral-disk', 'agent-7'],
    );
  });

  it('a light stemcell cid is its marketplace image', () => {
    const image = {
      publisher: 'Canonical',
      offer: '0001-com-ubuntu-server-jammy',
      sku: '22_04-lts-gen2',
      version: 'latest',
    };
    const cid = lightStemcellCid(image);
    assert.match(
      cid,
      /^bosh-light-stemcell:Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest:[0-9a-f-]{36}$/,
    );
    assert.notEqual(lightStemcellCid(image), cid, 'each light stemcell has a cid of its own');
    assert.deepEqual(parseLightStemcellCid(cid), image);
    assert.deepEqual(
      parseLightStemcellCid('bosh-light-stemcell:Canonical:0001-com-ubuntu-server-jammy:22_04-lts-gen2:latest'),
      image,
      'a cid recorded before the id',
    );
    assert.equal(parseLightStemcellCid('bosh-stemcell-1234'), undefined);
  });
});

describe('Azure cloud properties', () => {
  const fails = (f: () => unknown, message: string) =>
    assert.throws(f, (err: unknown) => {
      assert.ok(err instanceof AzureFault);
      assert.equal(err.kind, 'InvalidCloudProperties');
      assert.equal(err.message, message);
      return true;
    });

  it('vm_types, vm_extensions and azs as bosh-azure-cpi names them', () => {
    const p = parseVmProperties({
      instance_type: 'Standard_D2s_v3',
      root_disk: { size: 51200, type: 'Premium_LRS' },
      ephemeral_disk: { size: 30000 },
      load_balancer: 'cfcr-lb',
      security_group: { name: 'cfcr-master', resource_group_name: 'other' },
      availability_zone: '3',
      application_security_groups: ['asg1'],
      assign_dynamic_public_ip: true,
      tags: { a: 1 },
    });
    assert.deepEqual(p, {
      instanceType: 'Standard_D2s_v3',
      rootDisk: { sizeGb: 50, type: 'Premium_LRS' },
      ephemeralDisk: { sizeGb: 29, type: undefined },
      loadBalancers: [{ name: 'cfcr-lb', resourceGroupName: undefined, backendPoolName: undefined }],
      securityGroup: { name: 'cfcr-master', resourceGroupName: 'other' },
      availabilitySet: undefined,
      availabilityZone: '3',
      applicationSecurityGroups: ['asg1'],
      assignDynamicPublicIp: true,
      tags: { a: '1' },
      proximityPlacementGroup: undefined,
    });
    const rootOnly = parseVmProperties({
      instance_type: 'Standard_B1ms',
      ephemeral_disk: { use_root_disk: true, size: 1024 },
    });
    assert.deepEqual([rootOnly.ephemeralDisk, rootOnly.rootDisk.sizeGb], [undefined, 30]);
    assert.deepEqual(parseVmProperties({ instance_type: 'Standard_B1ms' }).ephemeralDisk, {
      sizeGb: 30,
      type: undefined,
    });
  });

  it('errors name the property and what was found', () => {
    fails(
      () =>
        parseVmProperties({ instance_type: 'Standard_B1ms', load_balancer: [{ name: 'lb', backend_pool_name: 7 }] }),
      'cloud_properties.load_balancer[0].backend_pool_name must be an Azure resource name, found 7',
    );
    fails(
      () => parseVmProperties({ instance_type: 'Standard_B1ms', availability_zone: '4' }),
      "cloud_properties.availability_zone must be '1', '2' or '3', found '4'",
    );
    fails(
      () => parseVmProperties({ instance_type: 'Standard_B1ms', root_disk: { size: -1 } }),
      'cloud_properties.root_disk.size must be a positive whole number of MiB, found -1',
    );
    fails(
      () => parseNetwork('default', { type: 'manual', ip: '10.0.0.300', cloud_properties: {} }),
      "networks.default.ip must be the static private IPv4 address of a manual network, found '10.0.0.300'",
    );
    fails(
      () => parseDiskProperties({ storage_account_type: 'Fast' }),
      "cloud_properties.storage_account_type must be one of Standard_LRS, Premium_LRS, StandardSSD_LRS, UltraSSD_LRS, Premium_ZRS, StandardSSD_ZRS, PremiumV2_LRS, found 'Fast'",
    );
    fails(
      () => parseDiskProperties({ max_shares: 0 }),
      'cloud_properties.max_shares must be a whole number >= 1, found 0',
    );
  });

  it('disk_types defaults: Standard_LRS, no caching', () => {
    assert.deepEqual(parseDiskProperties({}), {
      storageAccountType: 'Standard_LRS',
      caching: 'None',
      maxShares: undefined,
      proximityPlacementGroup: undefined,
    });
  });
});

describe('Azure custom data and error mapping', () => {
  it('cloud-config: vcap at /var/vcap with the director key, the director-generated host key, the agent settings', () => {
    const host = generateSshKeyPair('rsa');
    const director = generateSshKeyPair();
    const text = cloudConfig({
      sshUser: 'vcap',
      hostPublicKey: publicKeyOf(host.privateKey),
      env: {
        director: { uuid: 'u', deployment: 'd', instance: { group: 'g', index: 0, id: 'i' }, agentId: 'a' },
        ssh: { hostPrivateKey: host.privateKey, authorizedKeys: [director.publicKey] },
      },
      settings: {
        agent_id: 'a',
        vm: { name: 'a' },
        networks: {},
        disks: { system: '/dev/sda', ephemeral: null, persistent: {} },
        env: {},
      },
    });
    assert.ok(text.startsWith('#cloud-config\n'));
    const doc = parse(text) as {
      users: { name: string; homedir: string; ssh_authorized_keys: string[] }[];
      ssh_keys: Record<string, string>;
      ssh_deletekeys: boolean;
    };
    assert.deepEqual(
      doc.users.map((u) => [u.name, u.homedir, u.ssh_authorized_keys]),
      [['vcap', '/var/vcap', [director.publicKey]]],
    );
    assert.deepEqual(Object.keys(doc.ssh_keys).sort(), ['rsa_private', 'rsa_public']);
    assert.equal(doc.ssh_keys.rsa_private, host.privateKey);
    assert.equal(doc.ssh_deletekeys, true);
  });

  it('one mapper: 429 Throttled, 404 NotFound for the resource asked about, 5xx retryable, quota refusals not', () => {
    const rest = (statusCode: number, code: string, message: string) =>
      Object.assign(new Error(message), { name: 'RestError', statusCode, code });
    assert.equal(toCpiError('has_vm', rest(429, 'SubscriptionRequestsThrottled', 'slow down')).kind, 'Throttled');
    const nf = toCpiError('reboot_vm', rest(404, 'ResourceNotFound', 'gone'), { resource: 'vm', cid: 'x' });
    assert.deepEqual(
      [nf.kind, nf.resource, nf.message],
      ['NotFound', 'vm', "CPI 'reboot_vm' responded with NotFound error: ResourceNotFound: gone"],
    );
    assert.deepEqual(
      [
        toCpiError('create_disk', rest(503, 'ServiceUnavailable', 'x')).kind,
        toCpiError('create_disk', rest(503, 'ServiceUnavailable', 'x')).okToRetry,
      ],
      ['Unknown', true],
    );
    const quota = toCpiError('create_vm', rest(409, 'OperationNotAllowed', 'quota'));
    assert.deepEqual([quota.kind, quota.okToRetry], ['VmCreationFailed', false]);
    const lro = toCpiError(
      'create_vm',
      new Error('The long-running operation has failed. AllocationFailed. No capacity.'),
    );
    assert.deepEqual(
      [lro.kind, lro.okToRetry, lro.detail],
      ['VmCreationFailed', false, 'AllocationFailed: No capacity. (the long-running operation failed)'],
    );
    const reset = toCpiError('attach_disk', Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' }));
    assert.deepEqual([reset.kind, reset.okToRetry], ['Unknown', true]);
  });
});
