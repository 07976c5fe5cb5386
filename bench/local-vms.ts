import { spawn } from 'node:child_process';
import type { VmEnv } from '../cpi/contract.js';
import { LocalCpi } from '../cpi/local/local-cpi.js';
import { generateSshKeyPair } from '../src/crypto/ssh-keys.js';
import { inPool } from '../src/deploy/pool.js';
import { fmt } from './common.js';
import { median, openSandbox, settledRssKb, type Sandbox } from './sandbox.js';

const VMS = 20;
const IN_FLIGHT = 8;

interface Round {
  readonly createMs: number;
  readonly deleteMs: number;
  /** VmRSS (KiB) of each idle VM host, read before the deletes. */
  readonly hostRssKb: readonly number[];
}

/**
 * Local VMs: creating and deleting 20 of them one at a time (the baseline) and 8 in flight (the
 * ratio says how much of the work overlaps on this machine), and what one idle VM host process
 * costs in memory against a bare Node process doing nothing, measured in the same run.
 */
export async function benchLocalVms(): Promise<string[]> {
  const box = await openSandbox('bench-local-vms');
  const cpi = new LocalCpi(
    { root: box.root, ssh_port: box.sshPort, load_balancers: {} },
    { directorUuid: 'bench-director', path: process.env['PATH'] ?? '/usr/bin:/bin' },
  );
  try {
    const stemcell = await cpi.createStemcell('', {
      name: 'bosh-local-ubuntu-jammy',
      version: '1.0',
      os: 'ubuntu-jammy',
    });
    const hostKey = generateSshKeyPair('ed25519', 'bench-vm-host');
    const director = generateSshKeyPair('ed25519', 'bench-director');
    const envFor = (i: number): VmEnv => ({
      director: {
        uuid: 'bench-director',
        deployment: 'bench',
        instance: { group: 'vm', index: i, id: `vm-${i}` },
        agentId: `agent-${i}`,
      },
      ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [director.publicKey] },
    });
    const round = async (count: number, inFlight: number, measureRss: boolean): Promise<Round> => {
      const t0 = performance.now();
      const cids = await inPool(
        Array.from({ length: count }, (_, i) => i),
        inFlight,
        async (i) => {
          const ip = `${box.net}.${i + 10}`;
          const vm = await cpi.createVm(
            `agent-${i}`,
            stemcell,
            {},
            { default: { type: 'manual', ip, netmask: '255.255.255.0', gateway: `${box.net}.1` } },
            [],
            envFor(i),
          );
          return vm.vmCid;
        },
      );
      const createMs = performance.now() - t0;
      const hostRssKb: number[] = [];
      if (measureRss) {
        for (const cid of cids) {
          const pid = cpi.hostPid(cid);
          if (pid === undefined) throw new Error(`VM ${cid} has no running host`);
          hostRssKb.push(await settledRssKb(pid));
        }
      }
      const t1 = performance.now();
      await inPool(cids, inFlight, (cid) => cpi.deleteVm(cid));
      return { createMs, deleteMs: performance.now() - t1, hostRssKb };
    };

    // A few warm-up VMs first, so that the baseline alone does not pay for cold caches.
    await round(2, 2, false);
    const serial = await round(VMS, 1, false);
    const parallel = await round(VMS, IN_FLIGHT, true);
    const bare = await bareNodeRssKb(box);
    const host = median(parallel.hostRssKb);

    const total = (r: Round) => r.createMs + r.deleteMs;
    const s = (ms: number) => `${fmt(ms / 1000, 2)} s`;
    return [
      `local-vms: ${VMS} VMs created, then deleted, one at a time (baseline)   create ${s(serial.createMs)}, delete ${s(serial.deleteMs)}, total ${s(total(serial))} (${fmt(total(serial) / VMS, 0)} ms per VM)`,
      `local-vms: ${VMS} VMs created, then deleted, ${IN_FLIGHT} in flight                create ${s(parallel.createMs)}, delete ${s(parallel.deleteMs)}, total ${s(total(parallel))}`,
      `local-vms: parallel/serial ratio                              create ${fmt(parallel.createMs / serial.createMs, 2)}, delete ${fmt(parallel.deleteMs / serial.deleteMs, 2)}, total ${fmt(total(parallel) / total(serial), 2)}`,
      `local-vms: idle VM host RSS (median of ${VMS})                      ${fmt(host / 1024)} MB (max ${fmt(Math.max(...parallel.hostRssKb) / 1024)} MB); bare node -e setInterval ${fmt(bare / 1024)} MB (baseline), ratio ${fmt(host / bare, 2)}`,
    ];
  } finally {
    await box.cleanup();
  }
}

/** VmRSS of `node -e "setInterval(()=>{},1e9)"` once settled; the process is stopped after. */
async function bareNodeRssKb(box: Sandbox): Promise<number> {
  // Marked like the sandbox's VMs, so that an interrupted bench stops it too.
  const child = spawn(process.execPath, ['-e', 'setInterval(()=>{},1e9)'], {
    stdio: 'ignore',
    cwd: box.dir,
    env: { ...process.env, DIRECTOR_CPI_ROOT: box.root },
  });
  try {
    if (child.pid === undefined) throw new Error('could not start a bare node process');
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    // Node is ready once its event loop runs; reading too early would see a half-loaded process.
    await new Promise((r) => setTimeout(r, 300));
    const kb = await settledRssKb(child.pid);
    child.kill('SIGKILL');
    await exited;
    return kb;
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}
