// An Azure "world" for end-to-end runs of the director CLI, with Azure's walls: the fake ARM
// (HTTPS, with its own CA and Entra ID authority) and Azurite for the storage account's blobs, and
// a local hypervisor that boots every Azure VM the fake is asked for as a local VM host on its
// private IP — inside a network namespace of its own, the vnet (10.0.16.0/24 exists only there).
// The CLI runs as a child process in the director's namespace (test/helpers/netns.ts): it reaches
// the fake, Azurite and the public addresses (the jumpbox create-env makes, the load balancer's
// frontend), and no private address — so it reaches the VMs through the jumpbox, as on Azure.
import { randomBytes } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stringify } from 'yaml';
import { LocalCpi } from '../../cpi/local/local-cpi.js';
import { startFakeArm, type FakeArm } from '../fakes/arm/fake-arm.js';
import type { FaultConfig } from '../fakes/arm/faults.js';
import { LocalHypervisor } from '../fakes/local-hypervisor.js';
import { findMarkedProcesses, killMarkedProcesses } from '../helpers/processes.js';
import { repoRoot } from '../helpers/director-process.js';
import { startAzurite } from '../helpers/azurite.js';
import { buildWalledNetwork, netnsUnavailable, VNET_CIDR, VNET_PREFIX, type WalledNetwork } from '../helpers/netns.js';

/** Why the world cannot be built here (a reason to skip outside CI; in CI a missing capability fails). */
export function azureWorldUnavailable(): string | false {
  const why = netnsUnavailable();
  if (why === undefined) return false;
  if (process.env['CI'] === 'true') return false; // let it fail, loudly
  return `the Azure world's network namespaces cannot be built: ${why}`;
}

export const STORAGE_ACCOUNT = 'cfcrstore01';
export const RESOURCE_GROUP = 'cfcr-rg';

/** ARM write requests the fake has answered so far (token requests excluded). */
export function armWrites(fake: FakeArm): number {
  return Object.entries(fake.requestLog.counters())
    .filter(([type]) => type !== 'auth')
    .reduce((n, [, c]) => n + c.writes, 0);
}

export interface AzureWorld {
  readonly fake: FakeArm;
  readonly hypervisor: LocalHypervisor;
  /** The namespaces: the director's and the vnet's. */
  readonly network: WalledNetwork;
  /** The subnet's first three octets, 10.0.16 (internal_cidr 10.0.16.0/24, in the vnet namespace only). */
  readonly net: string;
  /** The jumpbox's public address (the fake gives it to the public IP named jumpbox-ip). */
  readonly jumpboxAddress: string;
  /** The load balancer cfcr-lb's public address (its public IP cfcr-lb-ip). */
  readonly lbAddress: string;
  /** A temp dir: HOME of the CLI, the state, the vars files. */
  readonly home: string;
  /** Environment variables for the CLI child process (DIRECTOR_TEST_NETNS puts it in the director's namespace). */
  readonly env: Record<string, string>;
  /** The create-env arguments: manifests/env.yml with ops-files/azure.yml, pointed at the fake. */
  readonly createEnvArgs: readonly string[];
  /** The deploy arguments of the Azure journey (cloud provider, master in the LB pool, local VM hosts). */
  readonly deployArgs: readonly string[];
  /** Local VM host processes still running (each Azure VM the fake booted). */
  liveVmHosts(): number;
  /** ARM write requests so far (auth excluded), from the fake's request log. */
  armWrites(): number;
  /** Stops VM hosts, load balancer proxies, Azurite and the fake; removes every temp dir. */
  stop(): Promise<void>;
}

/** Starts a fresh fake ARM (with `faults`), Azurite and the local hypervisor. */
export async function startAzureWorld(faults: Partial<FaultConfig> = {}): Promise<AzureWorld> {
  const network = buildWalledNetwork();
  const home = await mkdtemp(join(tmpdir(), 'director-azure-'));
  const root = join(home, 'hypervisor');
  const net = VNET_PREFIX;
  const jumpboxAddress = `${network.publicPrefix}.10`;
  const lbAddress = `${network.publicPrefix}.20`;
  let nextPublic = 100;
  const keys = { key1: randomBytes(64).toString('base64'), key2: randomBytes(64).toString('base64') };
  let azurite: Awaited<ReturnType<typeof startAzurite>> | undefined;
  let fake: FakeArm | undefined;
  let local: LocalCpi | undefined;
  const stop = async () => {
    try {
      // a VM host's agent and jobs outlive its host process: delete_vm stops them all
      for (const vm of (await local?.listVms()) ?? []) await local?.deleteVm(vm.cid);
      await local?.deleteLoadBalancers();
    } finally {
      try {
        await killMarkedProcesses('DIRECTOR_CPI_ROOT', root);
        await fake?.stop();
        await azurite?.stop();
        await rm(home, { recursive: true, force: true });
      } finally {
        network.remove();
      }
    }
  };
  try {
    azurite = await startAzurite(STORAGE_ACCOUNT, keys, network.hostAddress);
    const blobUrl = azurite.url;
    fake = await startFakeArm({
      host: network.hostAddress,
      // public IPs live at the vnet's edge, where the director's namespace routes them
      publicIpAddress: (name) =>
        name === 'jumpbox-ip'
          ? jumpboxAddress
          : name === 'cfcr-lb-ip'
            ? lbAddress
            : `${network.publicPrefix}.${nextPublic++}`,
      faults,
      blobEndpoint: (account) =>
        account === STORAGE_ACCOUNT ? `${blobUrl}/` : `https://${account}.blob.core.windows.net/`,
      storageAccountKeys: (account) => (account === STORAGE_ACCOUNT ? keys : undefined),
    });
    // VM hosts and the load balancer's proxy run in the vnet namespace, SSH on port 22 as on Azure
    local = new LocalCpi(
      {
        root,
        ssh_port: 22,
        load_balancers: { 'cfcr-lb': { address: lbAddress, ports: [{ frontend: 8443, backend: 8443 }] } },
      },
      { path: process.env['PATH'] ?? '/usr/bin:/bin', netns: network.vnet },
    );
    const hypervisor = new LocalHypervisor(local, fake, 'cfcr-lb', { root }).attach();
    const vars = {
      env_name: 'azure',
      internal_cidr: VNET_CIDR,
      internal_gw: `${net}.1`,
      internal_ip: `${net}.6`,
      internal_net: net,
      vnet_name: 'boshvnet-crp',
      subnet_name: 'Bosh',
      subscription_id: fake.subscriptionId,
      tenant_id: fake.tenantId,
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      resource_group_name: RESOURCE_GROUP,
      vnet_resource_group_name: RESOURCE_GROUP,
      storage_account_name: STORAGE_ACCOUNT,
      default_security_group: 'nsg-bosh',
      location: 'westeurope',
      azure_cloud_name: 'AzurePublicCloud',
      primary_availability_set: 'cfcr-workers',
      arm_endpoint: fake.endpoint,
      arm_authority_host: fake.authorityHost,
      arm_ca_cert: fake.caPem,
      vm_ssh_port: 22,
      lb_address: lbAddress,
      // the director's own address, as the jumpbox sees it: the only source allowed to SSH to it
      jumpbox_allowed_cidrs: [`${network.directorAddress}/32`],
    };
    const varsFile = join(home, 'azure-vars.yml');
    await writeFile(varsFile, stringify(vars), { mode: 0o600 });
    const env = { HOME: home, DIRECTOR_HOME: join(home, '.director'), DIRECTOR_TEST_NETNS: network.director };
    const fixture = (f: string) => join(repoRoot, 'test', 'fixtures', 'ops', f);
    return {
      fake,
      hypervisor,
      network,
      net,
      jumpboxAddress,
      lbAddress,
      home,
      env,
      liveVmHosts: () => findMarkedProcesses('DIRECTOR_CPI_ROOT', root).length,
      armWrites: () => armWrites(fake as FakeArm),
      createEnvArgs: [
        'create-env',
        join(repoRoot, 'manifests', 'env.yml'),
        '-o',
        join(repoRoot, 'ops-files', 'azure.yml'),
        '-o',
        fixture('azure-fake-env.yml'),
        '-l',
        varsFile,
      ],
      deployArgs: [
        'deploy',
        '-d',
        'my-cluster',
        join(repoRoot, 'manifests', 'cfcr.yml'),
        '-o',
        join(repoRoot, 'ops-files', 'azure-cloud-provider.yml'),
        '-o',
        join(repoRoot, 'ops-files', 'use-vm-extensions.yml'),
        '-o',
        fixture('azure-fake-deploy.yml'),
        '-l',
        varsFile,
        '-n',
      ],
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}
