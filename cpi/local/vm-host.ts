// The process that IS a local VM: an SSH server on the VM's loopback IPs. Started detached by
// the local CPI as `node vm-host.js <vm dir>`; stopped with SIGTERM (or SIGKILL).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { writeJson } from './json-file.js';
import type { HostRecord, VmRecord } from './layout.js';
import { startVmSshServer } from './ssh-server.js';

async function main(): Promise<void> {
  const vmDir = process.argv[2];
  if (vmDir === undefined) throw new Error('usage: vm-host <vm dir>');
  const vm = JSON.parse(readFileSync(join(vmDir, 'vm.json'), 'utf8')) as VmRecord;
  const authorizedKeys = readFileSync(join(vmDir, 'authorized_keys'), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));
  const log = (line: string): void => void process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  const server = await startVmSshServer({
    hostPrivateKey: readFileSync(join(vmDir, 'ssh_host_key'), 'utf8'),
    authorizedKeys,
    root: join(vmDir, 'root'),
    env: {
      PATH: `${dirname(process.execPath)}:${process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin'}`,
      LANG: 'C.UTF-8',
      SHELL: '/bin/sh',
      DIRECTOR_VM_ID: vm.cid,
      ...(process.env.DIRECTOR_CPI_ROOT === undefined ? {} : { DIRECTOR_CPI_ROOT: process.env.DIRECTOR_CPI_ROOT }),
    },
    addresses: vm.ips,
    port: vm.ssh_port,
    log,
  });
  const stop = (): void => {
    void server.close().finally(() => process.exit(0));
    setTimeout(() => process.exit(0), 500).unref();
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  process.on('SIGHUP', () => undefined);
  const ready: HostRecord = { pid: process.pid, addresses: vm.ips, port: vm.ssh_port };
  await writeJson(join(vmDir, 'host.json'), ready);
  log(`VM ${vm.cid} listening on ${vm.ips.join(', ')} port ${vm.ssh_port}`);
}

main().catch((err: unknown) => {
  process.stderr.write(`vm-host: ${(err as Error).message}\n`);
  process.exit(1);
});
