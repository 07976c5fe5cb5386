// The CPI contract on the Azure CPI, through the fake ARM server (HTTPS, real SDK clients). The
// fake's VM hooks boot each Azure VM as a local VM host (test/fakes/local-hypervisor.ts). The load
// balancer is a local TCP proxy whose members follow the Azure NIC's backend pool membership.
import { randomInt } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureCpi } from '../../cpi/azure/azure-cpi.js';
import { parseVmCid, vmNames } from '../../cpi/azure/cids.js';
import { buildAzureClients } from '../../cpi/azure/clients.js';
import { parseAzureCpiConfig } from '../../cpi/azure/config.js';
import { ensureFoundation, parseFoundationProps } from '../../cpi/azure/foundation.js';
import { LocalCpi } from '../../cpi/local/local-cpi.js';
import { startFakeArm } from '../fakes/arm/fake-arm.js';
import { LocalHypervisor } from '../fakes/local-hypervisor.js';
import { findMarkedProcesses, isListening, killMarkedProcesses } from '../helpers/processes.js';
import { registerCpiContract } from './cpi-contract.js';
import type { CpiContractSubject } from './cpi-contract.js';

/** The Azure CPI against a fresh fake ARM with a foundation built by ensureFoundation. */
export async function azureSubject(): Promise<CpiContractSubject> {
  const root = await mkdtemp(join(tmpdir(), 'azure-cpi-contract-'));
  const net = `127.${randomInt(16, 250)}.${randomInt(1, 250)}`;
  const sshPort = randomInt(20_000, 40_000);
  const lbPort = randomInt(40_000, 50_000);
  const backendPort = randomInt(50_000, 60_000);
  const lbAddress = `${net}.250`;
  const fake = await startFakeArm();
  const local = new LocalCpi(
    {
      root,
      ssh_port: sshPort,
      load_balancers: { web: { address: lbAddress, ports: [{ frontend: lbPort, backend: backendPort }] } },
    },
    { path: process.env.PATH },
  );
  const hv = new LocalHypervisor(local, fake, 'web').attach();

  const properties = {
    environment: 'AzureCloud',
    location: 'westeurope',
    subscription_id: fake.subscriptionId,
    tenant_id: fake.tenantId,
    client_id: fake.clientId,
    client_secret: fake.clientSecret,
    resource_group_name: 'contract-rg',
    default_security_group: 'nsg-bosh',
    resource_manager_endpoint: fake.endpoint,
    authority_host: fake.authorityHost,
    ca_cert: fake.caPem,
    foundation: {
      virtual_network_name: 'vnet',
      subnet_name: 'bosh',
      internal_cidr: `${net}.0/24`,
      load_balancers: {
        web: {
          public_ip_name: 'web-ip',
          backend_pool: 'web-pool',
          probe: { port: backendPort },
          rules: [{ frontend: lbPort, backend: backendPort }],
        },
      },
      security_groups: [{ name: 'nsg-bosh', rules: [{ name: 'ssh', port: 22, source: `${net}.0/24`, priority: 200 }] }],
    },
  };
  const config = parseAzureCpiConfig(properties);
  const clients = buildAzureClients(config, { retry: { retryDelayInMs: 20, maxRetryDelayInMs: 200 } });
  await ensureFoundation(clients, parseFoundationProps(properties), { pollIntervalMs: 10 });
  const cpi = new AzureCpi(config, { clients, pollIntervalMs: 10, directorUuid: 'director-uuid-1' });
  const rg = config.resourceGroupName;
  const resourceId = (type: string, name: string) =>
    `/subscriptions/${fake.subscriptionId}/resourceGroups/${rg}/providers/${type}/${name}`;
  const diskName = (cid: string) => /disk_name:([^;]+)/.exec(cid)?.[1] ?? cid;
  const ips = new Map<string, string>();

  return {
    cpi,
    stemcell: {
      imagePath: '',
      cloudProperties: {
        name: 'bosh-azure-hyperv-ubuntu-jammy-go_agent',
        version: '1.1',
        image: {
          publisher: 'Canonical',
          offer: '0001-com-ubuntu-server-jammy',
          sku: '22_04-lts-gen2',
          version: 'latest',
        },
      },
    },
    vmCloudProperties: { instance_type: 'Standard_B1ms' },
    loadBalancer: {
      cloudProperties: { load_balancer: { name: 'web', backend_pool_name: 'web-pool' } },
      address: lbAddress,
      port: lbPort,
      backendPort,
    },
    network: (i) => {
      const ip = `${net}.${(i % 240) + 4}`;
      return {
        ip,
        networks: {
          default: {
            type: 'manual',
            ip,
            netmask: '255.255.255.0',
            gateway: `${net}.1`,
            default: ['dns', 'gateway'],
            cloud_properties: { virtual_network_name: 'vnet', subnet_name: 'bosh' },
          },
        },
      };
    },
    sshEndpoint: (ip) => ({ host: ip, port: sshPort }),
    vmMetadata: async (vmCid) => {
      const id = parseVmCid(vmCid, rg);
      const vm = fake.state.get(resourceId('Microsoft.Compute/virtualMachines', id?.agentId ?? ''));
      if (vm === undefined) throw new Error(`no VM ${vmCid}`);
      const nic = fake.state.get(resourceId('Microsoft.Network/networkInterfaces', vmNames(id?.agentId ?? '').nic(0)));
      const ip = nic?.body.properties.ipConfigurations?.[0]?.properties?.privateIPAddress;
      if (typeof ip === 'string') ips.set(vmCid, ip);
      return { ...(vm.body.tags ?? {}) };
    },
    diskTags: async (diskCid) => ({
      ...(fake.state.get(resourceId('Microsoft.Compute/disks', diskName(diskCid)))?.body.tags ?? {}),
    }),
    diskSizeMiB: async (diskCid) =>
      Number(
        fake.state.get(resourceId('Microsoft.Compute/disks', diskName(diskCid)))?.body.properties.diskSizeGB ?? -1,
      ) * 1024,
    leftovers: async (vmCid) => {
      const id = parseVmCid(vmCid, rg);
      const names = vmNames(id?.agentId ?? '');
      const left: string[] = [];
      for (const [type, name] of [
        ['Microsoft.Compute/virtualMachines', names.vm],
        ['Microsoft.Network/networkInterfaces', names.nic(0)],
        ['Microsoft.Compute/disks', names.osDisk],
        ['Microsoft.Network/publicIPAddresses', names.publicIp],
      ] as const) {
        if (fake.state.get(resourceId(type, name)) !== undefined) left.push(`${type}/${name}`);
      }
      const localCid = hv.everBooted.get(names.vm);
      if (localCid !== undefined)
        left.push(...findMarkedProcesses('DIRECTOR_VM_ID', localCid).map((p) => `process ${p.pid}: ${p.cmdline}`));
      const ip = ips.get(vmCid);
      if (ip !== undefined && (await isListening(ip, sshPort))) left.push(`port ${ip}:${sshPort}`);
      return left;
    },
    liveProcesses: () => findMarkedProcesses('DIRECTOR_CPI_ROOT', root).map((p) => `${p.pid}: ${p.cmdline}`),
    teardown: async () => {
      try {
        await local.deleteLoadBalancers();
      } finally {
        await killMarkedProcesses('DIRECTOR_CPI_ROOT', root);
        await fake.stop();
        await rm(root, { recursive: true, force: true });
      }
    },
  };
}

registerCpiContract('azure (fake ARM + local VM hosts)', azureSubject);
