import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomInt } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { LocalCpi } from '../../../../cpi/local/local-cpi.js';
import { generateSshKeyPair } from '../../../../src/crypto/ssh-keys.js';
import type { SshKeyType } from '../../../../src/crypto/ssh-keys.js';
import { findMarkedProcesses, killMarkedProcesses } from '../../../helpers/processes.js';

// The real OpenSSH client (openssh-client comes with the openssh-server peer) against a local VM.
interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}
function run(cmd: string, args: readonly string[], input?: string): Promise<Run> {
  return new Promise((resolve) => {
    const child = execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) =>
      resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr }),
    );
    child.stdin?.end(input ?? '');
  });
}

describe('local VM with the OpenSSH client', { concurrency: false }, () => {
  let root: string;
  let cpi: LocalCpi;
  let stemcell: string;
  const net = `127.${randomInt(16, 250)}.${randomInt(1, 250)}`;
  const port = randomInt(20_000, 40_000);
  const director = generateSshKeyPair('ed25519', 'director');
  let nextIp = 2;

  const sshOpts = (knownHosts: string): string[] => [
    '-F',
    '/dev/null',
    '-o',
    'BatchMode=yes',
    '-o',
    'StrictHostKeyChecking=yes',
    '-o',
    `UserKnownHostsFile=${knownHosts}`,
    '-o',
    'IdentitiesOnly=yes',
    '-o',
    'ConnectTimeout=20',
    '-i',
    join(root, 'director_key'),
  ];

  const vmWith = async (type: SshKeyType) => {
    const ip = `${net}.${nextIp++}`;
    const hostKey = generateSshKeyPair(type);
    const { vmCid } = await cpi.createVm(`agent-${ip}`, stemcell, {}, { default: { type: 'manual', ip } }, [], {
      director: { uuid: 'd', deployment: 'dep', instance: { group: 'g', index: 0, id: 'i' }, agentId: `agent-${ip}` },
      ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [director.publicKey] },
    });
    const knownHosts = join(root, `known_hosts_${ip}`);
    writeFileSync(knownHosts, `[${ip}]:${port} ${hostKey.publicKey}\n`);
    return { ip, vmCid, hostKey, knownHosts };
  };

  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'local-cpi-openssh-'));
    writeFileSync(join(root, 'director_key'), director.privateKey, { mode: 0o600 });
    cpi = new LocalCpi({ root: join(root, 'cpi'), ssh_port: port, load_balancers: {} }, { path: process.env.PATH });
    stemcell = await cpi.createStemcell('', { name: 's', version: '1' });
  });
  after(async () => {
    await killMarkedProcesses('DIRECTOR_CPI_ROOT', join(root, 'cpi'));
    await rm(root, { recursive: true, force: true });
  });

  for (const type of ['ed25519', 'rsa'] as const) {
    it(`ssh exec with strict host key checking (${type} host key)`, async () => {
      const vm = await vmWith(type);
      const ok = await run(
        'ssh',
        [...sshOpts(vm.knownHosts), '-p', String(port), `vcap@${vm.ip}`, 'echo "$DIRECTOR_VM_ID"; cat; exit 4'],
        'from stdin\n',
      );
      assert.equal(ok.stdout, `${vm.vmCid}\nfrom stdin\n`);
      assert.equal(ok.code, 4);
      const other = join(root, 'known_hosts_wrong');
      writeFileSync(other, `[${vm.ip}]:${port} ${generateSshKeyPair(type).publicKey}\n`);
      const refused = await run('ssh', [...sshOpts(other), '-p', String(port), `vcap@${vm.ip}`, 'true']);
      assert.equal(refused.code, 255);
      assert.match(refused.stderr, /Host key verification failed/);
      await cpi.deleteVm(vm.vmCid);
    });
  }

  it('sftp batch: put, mkdir, rename, chmod, ls, get, rm, rmdir, and no way out of the root', async () => {
    const vm = await vmWith('ed25519');
    const local = join(root, 'payload.bin');
    writeFileSync(local, Buffer.alloc(200_000, 9));
    const batch = [
      'mkdir jobs',
      `put ${local} jobs/payload.tmp`,
      'rename jobs/payload.tmp jobs/payload.bin',
      'chmod 600 jobs/payload.bin',
      'cd ../../..',
      'pwd',
      'ls -l jobs',
      `get jobs/payload.bin ${join(root, 'back.bin')}`,
      'rm jobs/payload.bin',
      'rmdir jobs',
      'ls',
    ].join('\n');
    const r = await run(
      'sftp',
      [...sshOpts(vm.knownHosts), '-P', String(port), '-b', '-', `vcap@${vm.ip}`],
      batch + '\n',
    );
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Remote working directory: \/\n/);
    assert.match(r.stdout, /-rw------- .* 200000 .*payload\.bin/);
    assert.ok(readFileSync(join(root, 'back.bin')).equals(Buffer.alloc(200_000, 9)));
    await cpi.deleteVm(vm.vmCid);
    assert.deepEqual(findMarkedProcesses('DIRECTOR_CPI_ROOT', join(root, 'cpi')), []);
  });
});
