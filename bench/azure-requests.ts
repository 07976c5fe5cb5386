// The Azure CPI's request budget: ARM writes, reads and polls per CPI method, measured on the
// fake ARM with its time model on (operations take their time, every answer says Retry-After, and
// the CPI sleeps what it says on a clock scaled like the fake's), beside today's figures before
// the budget work (the journey's deploy: 31.3 ARM requests per VM, 25.3 reads and 6.0 writes).
// The VMs are the journey master's shape: static IP, NSG, load balancer pool, zone, ephemeral disk.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AzureCpi } from '../cpi/azure/azure-cpi.js';
import { buildAzureClients } from '../cpi/azure/clients.js';
import { parseAzureCpiConfig } from '../cpi/azure/config.js';
import { ensureFoundation, parseFoundationProps } from '../cpi/azure/foundation.js';
import type { Networks, VmEnv } from '../cpi/contract.js';
import { generateSshKeyPair } from '../src/crypto/ssh-keys.js';
import { startFakeArm } from '../test/fakes/arm/fake-arm.js';
import type { RequestLogEntry } from '../test/fakes/arm/request-log.js';
import { scaledArmClock } from '../test/helpers/arm-clock.js';
import { fmt } from './common.js';

/** Today's figures, before the request budget (issue 9): the journey deploy per VM. */
export const BEFORE = { requestsPerVm: 31.3, readsPerVm: 25.3, writesPerVm: 6.0 } as const;
/** The budget of create_vm, reads including polls. */
export const BUDGET = { writes: 2, reads: 4 } as const;

export interface MethodFigures {
  readonly calls: number;
  readonly writes: number;
  readonly reads: number;
  readonly polls: number;
}

const isPoll = (e: RequestLogEntry) =>
  e.method === 'GET' &&
  (/\/operations$/.test(e.resourceType) || e.resourceType === 'Microsoft.Resources/operationresults');
const isArm = (e: RequestLogEntry) =>
  e.resourceType !== 'auth' && e.resourceType !== 'admin' && e.resourceType !== 'managedIdentity';

/** Runs the CPI methods of `vms` VMs' lives and returns ARM requests per call, per method. */
export async function measureRequests(vms: number): Promise<Map<string, MethodFigures>> {
  const scratch = await mkdtemp(join(tmpdir(), 'bench-azure-requests-'));
  const fake = await startFakeArm({ lro: { pollsBeforeDone: 0, timeScale: 0.002 } });
  try {
    const properties = {
      location: 'westeurope',
      subscription_id: fake.subscriptionId,
      tenant_id: fake.tenantId,
      client_id: fake.clientId,
      client_secret: fake.clientSecret,
      resource_group_name: 'bench-rg',
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
          { name: 'cfcr-master', rules: [{ name: 'api', port: 8443, source: 'Internet', priority: 100 }] },
        ],
      },
    };
    const config = parseAzureCpiConfig(properties);
    const clients = buildAzureClients(config, { retry: { retryDelayInMs: 10, maxRetryDelayInMs: 100 } });
    // the foundation is create-env's, not the budget's: built on the poll-count model, quickly
    await ensureFoundation(clients, parseFoundationProps(properties), { pollIntervalMs: 5 });
    fake.lro.latency = 'time';
    const cpi = new AzureCpi(config, {
      clients,
      directorUuid: 'bench-director',
      clock: scaledArmClock(() => fake.lro.timeScale),
      lockDir: join(scratch, 'locks'),
    });
    const stemcell = await cpi.createStemcell('', {
      name: 'bosh-azure-hyperv-ubuntu-jammy-go_agent',
      version: '1',
      image: {
        publisher: 'Canonical',
        offer: '0001-com-ubuntu-server-jammy',
        sku: '22_04-lts-gen2',
        version: 'latest',
      },
    });
    const director = generateSshKeyPair('ed25519', 'director');
    const figures = new Map<string, { calls: number; writes: number; reads: number; polls: number }>();
    const measure = async <T>(method: string, work: () => Promise<T>): Promise<T> => {
      const before = fake.requestLog.entries().length;
      const out = await work();
      const entries = fake.requestLog.entries().slice(before).filter(isArm);
      const f = figures.get(method) ?? { calls: 0, writes: 0, reads: 0, polls: 0 };
      f.calls++;
      f.writes += entries.filter((e) => e.method !== 'GET' && e.method !== 'HEAD').length;
      f.polls += entries.filter(isPoll).length;
      f.reads += entries.filter((e) => (e.method === 'GET' || e.method === 'HEAD') && !isPoll(e)).length;
      figures.set(method, f);
      return out;
    };
    for (let i = 0; i < vms; i++) {
      const agentId = `agent-${i}`;
      const ip = `10.0.0.${10 + i}`;
      const networks: Networks = {
        default: {
          type: 'manual',
          ip,
          netmask: '255.255.255.0',
          gateway: '10.0.0.1',
          default: ['dns', 'gateway'],
          cloud_properties: { virtual_network_name: 'vnet', subnet_name: 'bosh' },
        },
      };
      const env: VmEnv = {
        bosh: { group: 'cfcr-master' },
        director: {
          uuid: 'bench-director',
          deployment: 'cfcr',
          instance: { group: 'master', index: i, id: `inst-${i}` },
          agentId,
        },
        ssh: { hostPrivateKey: generateSshKeyPair('ed25519', 'host').privateKey, authorizedKeys: [director.publicKey] },
      };
      const cp = {
        instance_type: 'Standard_D2s_v3',
        ephemeral_disk: { size: 10240 },
        load_balancer: { name: 'cfcr-lb', backend_pool_name: 'cfcr-lb-pool' },
        security_group: 'cfcr-master',
        availability_zone: String((i % 3) + 1),
      };
      const { vmCid } = await measure('create_vm', () => cpi.createVm(agentId, stemcell, cp, networks, [], env));
      await measure('set_vm_metadata', () =>
        cpi.setVmMetadata(vmCid, { director: 'bench', deployment: 'cfcr', name: `master/inst-${i}`, index: String(i) }),
      );
      const disk = await measure('create_disk', () =>
        cpi.createDisk(10240, { storage_account_type: 'Premium_LRS' }, vmCid),
      );
      await measure('attach_disk', () => cpi.attachDisk(vmCid, disk));
      await measure('detach_disk', () => cpi.detachDisk(vmCid, disk));
      await measure('delete_disk', () => cpi.deleteDisk(disk));
      await measure('delete_vm', () => cpi.deleteVm(vmCid));
    }
    return new Map([...figures].map(([k, f]) => [k, f]));
  } finally {
    await fake.stop();
    await rm(scratch, { recursive: true, force: true });
  }
}

/** `npm run bench -- azure-requests`: the table, and whether create_vm meets the budget. */
export async function benchAzureRequests(): Promise<string[]> {
  const vms = 6;
  const figures = await measureRequests(vms);
  const per = (f: MethodFigures, n: number) => fmt(n / Math.max(1, f.calls), 1);
  const lines = [
    `azure-requests: ARM requests per call, time model on, Retry-After honoured (${vms} VMs; reads exclude polls)`,
  ];
  for (const [method, f] of figures) {
    lines.push(
      `azure-requests:   ${method.padEnd(16)} writes ${per(f, f.writes).padStart(4)}  reads ${per(f, f.reads).padStart(4)}  polls ${per(f, f.polls).padStart(4)}`,
    );
  }
  const create = figures.get('create_vm')!;
  const meta = figures.get('set_vm_metadata')!;
  const writes = create.writes / create.calls;
  const reads = (create.reads + create.polls) / create.calls;
  const vmLife = ['create_vm', 'set_vm_metadata', 'create_disk', 'attach_disk']
    .map((m) => figures.get(m)!)
    .reduce((n, f) => n + (f.writes + f.reads + f.polls) / f.calls, 0);
  lines.push(
    `azure-requests: create_vm: ${fmt(writes)} writes (budget ${BUDGET.writes}), ${fmt(reads)} reads with polls (budget ${BUDGET.reads}): ${writes <= BUDGET.writes && reads <= BUDGET.reads ? 'within the budget' : 'OVER the budget'}`,
    `azure-requests: a deployed VM (create_vm + set_vm_metadata + create_disk + attach_disk): ${fmt(vmLife)} ARM requests; before: ${BEFORE.requestsPerVm} (${BEFORE.readsPerVm} reads, ${BEFORE.writesPerVm} writes): ${fmt(BEFORE.requestsPerVm / Math.max(vmLife, 0.1), 1)}x fewer; set_vm_metadata ${fmt((meta.writes + meta.reads + meta.polls) / meta.calls)} request (one Tags merge)`,
  );
  return lines;
}
