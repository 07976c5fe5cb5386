// An Azure "world" for end-to-end runs of the director CLI: the fake ARM (HTTPS, with its own CA
// and Entra ID authority), Azurite for the storage account's blobs, and a local hypervisor that
// boots every Azure VM the fake is asked for as a local VM host on its private IP. The CLI runs as
// a child process and reaches all of it through the CPI properties of a vars file.
import { randomBytes, randomInt } from 'node:crypto';
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
  /** The subnet's first three octets, e.g. 127.42.7 (internal_cidr 127.42.7.0/24). */
  readonly net: string;
  /** A temp dir: HOME of the CLI, the state, the vars files. */
  readonly home: string;
  /** Environment variables for the CLI child process. */
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
  const home = await mkdtemp(join(tmpdir(), 'director-azure-'));
  const root = join(home, 'hypervisor');
  const net = `127.${randomInt(16, 250)}.${randomInt(1, 250)}`;
  const sshPort = randomInt(20_000, 40_000);
  const keys = { key1: randomBytes(64).toString('base64'), key2: randomBytes(64).toString('base64') };
  const azurite = await startAzurite(STORAGE_ACCOUNT, keys);
  let fake: FakeArm | undefined;
  let local: LocalCpi | undefined;
  const stop = async () => {
    try {
      // a VM host's agent and jobs outlive its host process: delete_vm stops them all
      for (const vm of (await local?.listVms()) ?? []) await local?.deleteVm(vm.cid);
      await local?.deleteLoadBalancers();
    } finally {
      await killMarkedProcesses('DIRECTOR_CPI_ROOT', root);
      await fake?.stop();
      await azurite.stop();
      await rm(home, { recursive: true, force: true });
    }
  };
  try {
    fake = await startFakeArm({
      faults,
      blobEndpoint: (account) => (account === STORAGE_ACCOUNT ? `${azurite.url}/` : `https://${account}.blob.core.windows.net/`),
      storageAccountKeys: (account) => (account === STORAGE_ACCOUNT ? keys : undefined),
    });
    local = new LocalCpi({ root, ssh_port: sshPort, load_balancers: { 'cfcr-lb': { address: `${net}.250`, ports: [{ frontend: 8443, backend: 8443 }] } } }, { path: process.env['PATH'] });
    const hypervisor = new LocalHypervisor(local, fake, 'cfcr-lb', { root }).attach();
    const vars = {
      env_name: 'azure',
      internal_cidr: `${net}.0/24`,
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
      vm_ssh_port: sshPort,
    };
    const varsFile = join(home, 'azure-vars.yml');
    await writeFile(varsFile, stringify(vars), { mode: 0o600 });
    const env = { HOME: home, DIRECTOR_HOME: join(home, '.director') };
    const fixture = (f: string) => join(repoRoot, 'test', 'fixtures', 'ops', f);
    return {
      fake,
      hypervisor,
      net,
      home,
      env,
      liveVmHosts: () => findMarkedProcesses('DIRECTOR_CPI_ROOT', root).length,
      armWrites: () => armWrites(fake as FakeArm),
      createEnvArgs: ['create-env', join(repoRoot, 'manifests', 'env.yml'), '-o', join(repoRoot, 'ops-files', 'azure.yml'), '-o', join(repoRoot, 'ops-files', 'no-jumpbox.yml'), '-o', fixture('azure-fake-env.yml'), '-l', varsFile],
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
