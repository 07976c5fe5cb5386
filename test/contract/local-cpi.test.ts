import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomInt } from 'node:crypto';
import { LocalCpi } from '../../cpi/local/local-cpi.js';
import { findMarkedProcesses, isListening, killMarkedProcesses } from '../helpers/processes.js';
import { registerCpiContract } from './cpi-contract.js';
import type { CpiContractSubject } from './cpi-contract.js';

/** A local CPI on a random 127.x.y.0/24 and random ports, so parallel runs never meet. */
export async function localSubject(): Promise<CpiContractSubject> {
  const root = await mkdtemp(join(tmpdir(), 'local-cpi-'));
  const net = `127.${randomInt(16, 250)}.${randomInt(1, 250)}`;
  const sshPort = randomInt(20_000, 40_000);
  const lbPort = randomInt(40_000, 50_000);
  const backendPort = randomInt(50_000, 60_000);
  const lbAddress = `${net}.250`;
  const cpi = new LocalCpi(
    {
      root,
      ssh_port: sshPort,
      load_balancers: { web: { address: lbAddress, ports: [{ frontend: lbPort, backend: backendPort }] } },
    },
    { directorUuid: 'director-uuid-1', path: process.env.PATH },
  );
  const ips = new Map<string, string>();
  return {
    cpi,
    stemcell: {
      imagePath: '',
      cloudProperties: { name: 'bosh-local-ubuntu-jammy', version: '1.1', os: 'ubuntu-jammy' },
    },
    vmCloudProperties: {},
    loadBalancer: { cloudProperties: { load_balancer: 'web' }, address: lbAddress, port: lbPort, backendPort },
    network: (i) => {
      const ip = `${net}.${(i % 240) + 2}`;
      return {
        ip,
        networks: {
          default: { type: 'manual', ip, netmask: '255.255.255.0', gateway: `${net}.1`, default: ['dns', 'gateway'] },
        },
      };
    },
    sshEndpoint: (ip) => ({ host: ip, port: sshPort }),
    vmMetadata: async (vmCid) => {
      const vm = await cpi.vmRecord(vmCid);
      if (vm === undefined) throw new Error(`no VM ${vmCid}`);
      for (const ip of vm.ips) ips.set(vmCid, ip);
      return { ...vm.tags, ...vm.metadata };
    },
    diskTags: async (diskCid) => (await cpi.diskRecord(diskCid))?.tags ?? {},
    diskSizeMiB: async (diskCid) => (await cpi.diskRecord(diskCid))?.size_mib ?? -1,
    leftovers: async (vmCid) => {
      const left = findMarkedProcesses('DIRECTOR_VM_ID', vmCid).map((p) => `process ${p.pid}: ${p.cmdline}`);
      if (existsSync(join(root, 'vms', vmCid))) left.push(`folder vms/${vmCid}`);
      const ip = ips.get(vmCid);
      if (ip !== undefined && (await isListening(ip, sshPort))) left.push(`port ${ip}:${sshPort}`);
      return left;
    },
    liveProcesses: () => findMarkedProcesses('DIRECTOR_CPI_ROOT', root).map((p) => `${p.pid}: ${p.cmdline}`),
    teardown: async () => {
      await cpi.deleteLoadBalancers();
      await killMarkedProcesses('DIRECTOR_CPI_ROOT', root);
      await rm(root, { recursive: true, force: true });
    },
  };
}

registerCpiContract('local', localSubject);
