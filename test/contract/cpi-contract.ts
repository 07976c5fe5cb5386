import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import type { CloudProperties, Cpi, Networks, VmEnv } from '../../cpi/contract.js';
import { CpiError } from '../../cpi/cpi-error.js';
import type { CpiErrorKind, CpiResource } from '../../cpi/cpi-error.js';
import { generateSshKeyPair } from '../../src/crypto/ssh-keys.js';
import type { SshKeyPair } from '../../src/crypto/ssh-keys.js';
import { isListening } from '../helpers/processes.js';
import { sftpCalls, sshConnect } from './ssh-probe.js';
import type { SshProbe } from './ssh-probe.js';

/** A CPI under test and the means to look at its side effects from outside. */
export interface CpiContractSubject {
  readonly cpi: Cpi;
  readonly stemcell: { readonly imagePath: string; readonly cloudProperties: CloudProperties };
  /** Cloud properties of an ordinary VM. */
  readonly vmCloudProperties: CloudProperties;
  /** A load balancer the VMs can join, and the vm_extension cloud properties that join it. */
  readonly loadBalancer: {
    readonly cloudProperties: CloudProperties;
    readonly address: string;
    readonly port: number;
    readonly backendPort: number;
  };
  /** A network with a static IP distinct for every `i` (IPs must be reachable from the test). */
  network(i: number): { readonly networks: Networks; readonly ip: string };
  /** Where the SSH server of the VM with `ip` listens. */
  sshEndpoint(ip: string): { readonly host: string; readonly port: number };
  /** The tags/metadata recorded on a VM. */
  vmMetadata(vmCid: string): Promise<Readonly<Record<string, string>>>;
  /** The tags recorded on a disk. */
  diskTags(diskCid: string): Promise<Readonly<Record<string, string>>>;
  diskSizeMiB(diskCid: string): Promise<number>;
  /** What a deleted VM left behind (processes, folders, ...), described; empty when nothing. */
  leftovers(vmCid: string): Promise<readonly string[]>;
  /** Every process this subject's CPI started (or that its VMs started) still alive, described. */
  liveProcesses(): readonly string[];
  teardown(): Promise<void>;
}

async function rejectsWith(
  promise: Promise<unknown>,
  kind: CpiErrorKind,
  opts: { resource?: CpiResource; message?: RegExp } = {},
): Promise<CpiError> {
  try {
    await promise;
  } catch (err) {
    assert.ok(err instanceof CpiError, `expected a CpiError, got ${String(err)}`);
    assert.equal(err.kind, kind, err.message);
    if (opts.resource !== undefined) assert.equal(err.resource, opts.resource);
    if (opts.message !== undefined) assert.match(err.message, opts.message);
    return err;
  }
  assert.fail(`expected a CpiError ${kind}`);
}

/** Reads what a TCP server sends until it closes ('' when refused or closed at once). */
function readAll(host: string, port: number): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const sock = connect({ host, port });
    sock.on('data', (d: Buffer) => chunks.push(d));
    sock.on('error', () => resolve(Buffer.concat(chunks).toString()));
    sock.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

async function waitUntil(what: string, check: () => Promise<boolean>, deadlineMs = 20_000): Promise<void> {
  const end = Date.now() + deadlineMs;
  while (!(await check())) {
    if (Date.now() > end) assert.fail(`gave up waiting: ${what}`);
    await sleep(20);
  }
}

/**
 * Registers the CPI contract suite: every CPI must pass it. `setup` builds a fresh subject; the
 * suite deletes everything it creates and finally checks that no process is left.
 */
export function registerCpiContract(name: string, setup: () => Promise<CpiContractSubject>): void {
  describe(`CPI contract: ${name}`, { concurrency: false }, () => {
    let s: CpiContractSubject;
    let stemcell: string;
    const director: SshKeyPair = generateSshKeyPair('ed25519', 'director');
    const hostKeys = new Map<string, SshKeyPair>();
    let nextIndex = 0;
    let scratch: string;

    const envFor = (agentId: string, index: number, hostKey: SshKeyPair): VmEnv => ({
      bosh: { group: 'contract-web', groups: ['director', 'contract', 'web'] },
      director: {
        uuid: 'director-uuid-1',
        deployment: 'contract',
        instance: { group: 'web', index, id: `instance-${index}` },
        agentId,
      },
      ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [director.publicKey] },
    });

    const newVm = async (cloudProperties: CloudProperties = s.vmCloudProperties) => {
      const i = nextIndex++;
      const { networks, ip } = s.network(i);
      const hostKey = generateSshKeyPair();
      const agentId = `agent-${i}`;
      const created = await s.cpi.createVm(
        agentId,
        stemcell,
        cloudProperties,
        networks,
        [],
        envFor(agentId, i, hostKey),
      );
      hostKeys.set(created.vmCid, hostKey);
      return { cid: created.vmCid, ip, hostKey, agentId, index: i };
    };

    const ssh = (ip: string, hostKey: SshKeyPair, clientKey: SshKeyPair = director): Promise<SshProbe> => {
      const { host, port } = s.sshEndpoint(ip);
      return sshConnect({ host, port, privateKey: clientKey.privateKey, expectedHostKey: hostKey.publicKey });
    };

    before(async () => {
      s = await setup();
      scratch = await mkdtemp(join(tmpdir(), 'cpi-contract-'));
    });
    after(async () => {
      await s?.teardown();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    it('info: API version 2 with stemcell formats', async () => {
      const info = await s.cpi.info();
      assert.equal(info.api_version, 2);
      assert.ok(info.stemcell_formats.length > 0);
    });

    it('create_stemcell records a stemcell; bad properties are InvalidCloudProperties naming the property', async () => {
      stemcell = await s.cpi.createStemcell(s.stemcell.imagePath, s.stemcell.cloudProperties);
      assert.ok(stemcell.length > 0);
      await rejectsWith(
        s.cpi.createStemcell(s.stemcell.imagePath, { ...s.stemcell.cloudProperties, name: 42 }),
        'InvalidCloudProperties',
        { message: /name/ },
      );
      const extra = await s.cpi.createStemcell(s.stemcell.imagePath, s.stemcell.cloudProperties);
      await s.cpi.deleteStemcell(extra);
      await s.cpi.deleteStemcell(extra); // already gone: succeeds
    });

    it('create_vm failures leave nothing behind and carry their kind', async () => {
      const before = s.liveProcesses().length;
      const { networks } = s.network(900);
      const key = generateSshKeyPair();
      await rejectsWith(
        s.cpi.createVm('agent-x', 'no-such-stemcell', s.vmCloudProperties, networks, [], envFor('agent-x', 900, key)),
        'NotFound',
        {
          resource: 'stemcell',
        },
      );
      await rejectsWith(
        s.cpi.createVm(
          'agent-x',
          stemcell,
          { ...s.vmCloudProperties, load_balancer: 'no-such-lb' },
          networks,
          [],
          envFor('agent-x', 900, key),
        ),
        'InvalidCloudProperties',
        { message: /load_balancer.*no-such-lb/ },
      );
      const badKey = {
        ...envFor('agent-x', 900, key),
        ssh: { hostPrivateKey: 'not a key', authorizedKeys: [director.publicKey] },
      };
      const err = await rejectsWith(
        s.cpi.createVm('agent-x', stemcell, s.vmCloudProperties, networks, [], badKey),
        'InvalidCloudProperties',
        {
          message: /hostPrivateKey/,
        },
      );
      assert.equal(err.okToRetry, false);
      assert.equal(err.message.includes('not a key'), false); // never echo a key
      assert.equal(s.liveProcesses().length, before);
    });

    let a: Awaited<ReturnType<typeof newVm>>;
    it('create_vm starts a VM reachable over SSH with its director-generated host key', async () => {
      a = await newVm();
      assert.equal(await s.cpi.hasVm(a.cid), true);
      const probe = await ssh(a.ip, a.hostKey);
      const r = await probe.exec('echo hello');
      probe.close();
      assert.deepEqual(r, { code: 0, signal: undefined, stdout: 'hello\n', stderr: '' });
    });

    it('SSH refuses a wrong expected host key and an unknown client key', async () => {
      await assert.rejects(ssh(a.ip, generateSshKeyPair()), /verification failed/i);
      await assert.rejects(ssh(a.ip, a.hostKey, generateSshKeyPair()), /authentication methods failed/i);
    });

    it('exec streams stdin, stdout, stderr, exit codes and signals', async () => {
      const probe = await ssh(a.ip, a.hostKey);
      try {
        assert.deepEqual(await probe.exec('cat; echo oops >&2; exit 3', 'round trip\n'), {
          code: 3,
          signal: undefined,
          stdout: 'round trip\n',
          stderr: 'oops\n',
        });
        const killed = await probe.exec('kill -TERM $$; sleep 5');
        assert.equal(killed.signal, 'SIGTERM'); // ssh2 reports the protocol's 'TERM' as 'SIGTERM'
        const signalled = await probe.execWith('echo ready; sleep 30', (ch) => {
          ch.once('data', () => ch.signal('KILL')); // reaches sleep too: the whole command dies
        });
        assert.deepEqual([signalled.signal, signalled.stdout], ['SIGKILL', 'ready\n']);
        assert.equal((await probe.exec('echo "$DEPLOY_COLOR"', '', { DEPLOY_COLOR: 'blue' })).stdout, 'blue\n');
        const big = 'x'.repeat(300_000);
        assert.equal((await probe.exec('wc -c', big)).stdout.trim(), String(big.length));
      } finally {
        probe.close();
      }
    });

    it('SFTP: upload, download, stat, mkdir, readdir, rename, chmod, remove, rmdir in the login directory', async () => {
      const probe = await ssh(a.ip, a.hostKey);
      try {
        const f = sftpCalls(await probe.sftp());
        assert.equal(await f.realpath('.'), '/');
        assert.equal(await f.realpath('../../..'), '/');
        await f.mkdir('up');
        await f.writeFile('up/a.txt', 'content one');
        assert.equal((await f.readFile('/up/a.txt')).toString(), 'content one');
        assert.equal((await f.stat('up/a.txt')).size, 11);
        assert.deepEqual(
          (await f.readdir('up')).map((e) => e.filename).filter((n) => n !== '.' && n !== '..'),
          ['a.txt'],
        );
        await f.rename('up/a.txt', 'up/b.txt');
        await f.chmod('up/b.txt', 0o750);
        assert.equal((await f.stat('up/b.txt')).mode & 0o777, 0o750);
        const big = Buffer.alloc(3 * 1024 * 1024 + 17, 7);
        await writeFile(join(scratch, 'big'), big);
        await f.fastPut(join(scratch, 'big'), 'up/big');
        await f.fastGet('up/big', join(scratch, 'big.back'));
        assert.ok((await readFile(join(scratch, 'big.back'))).equals(big));
        // the SFTP root is the exec working directory (the agent root)
        const seen = await probe.exec('cat up/b.txt; echo; ls -l up/b.txt | cut -c1-10');
        assert.equal(seen.stdout, 'content one\n-rwxr-x---\n');
        await f.writeFile('../../escape.txt', 'inside');
        assert.equal((await probe.exec('cat escape.txt')).stdout, 'inside');
        await assert.rejects(f.stat('up/missing'), /no such file/i);
        await f.unlink('up/b.txt');
        await f.unlink('up/big');
        await f.unlink('/escape.txt');
        await f.rmdir('up');
        assert.equal((await probe.exec('ls up 2>/dev/null || echo gone')).stdout, 'gone\n');
      } finally {
        probe.close();
      }
    });

    it('tags the VM with the director, deployment, instance and agent; set_vm_metadata merges', async () => {
      const before = await s.vmMetadata(a.cid);
      assert.equal(before.director, 'director-uuid-1');
      assert.equal(before.deployment, 'contract');
      assert.equal(before.instance_id, `instance-${a.index}`);
      assert.equal(before.agent_id, a.agentId);
      await s.cpi.setVmMetadata(a.cid, { name: 'web/instance-0', created_at: '2026-01-01T00:00:00Z' });
      const after = await s.vmMetadata(a.cid);
      assert.equal(after.name, 'web/instance-0');
      assert.equal(after.deployment, 'contract');
      await rejectsWith(s.cpi.setVmMetadata('vm-missing', { a: 'b' }), 'NotFound', { resource: 'vm' });
    });

    let disk: string;
    it('disks: create (tagged), attach with a hint, get_disks, and the data survives reboot', async () => {
      disk = await s.cpi.createDisk(1024, {}, a.cid);
      assert.equal(await s.cpi.hasDisk(disk), true);
      assert.equal(await s.diskSizeMiB(disk), 1024);
      assert.equal((await s.diskTags(disk)).instance_id, `instance-${a.index}`);
      const hint = await s.cpi.attachDisk(a.cid, disk);
      assert.deepEqual(await s.cpi.attachDisk(a.cid, disk), hint); // again: same hint
      assert.deepEqual(await s.cpi.getDisks(a.cid), [disk]);
      const probe = await ssh(a.ip, a.hostKey);
      if ('path' in hint)
        assert.equal((await probe.exec(`echo persisted > ${hint.path}/data.txt && echo ok`)).stdout, 'ok\n');
      probe.close();

      await s.cpi.rebootVm(a.cid);
      assert.equal(await s.cpi.hasVm(a.cid), true);
      const again = await ssh(a.ip, a.hostKey); // same IP, same host key
      if ('path' in hint) assert.equal((await again.exec(`cat ${hint.path}/data.txt`)).stdout, 'persisted\n');
      again.close();
      assert.deepEqual(await s.cpi.getDisks(a.cid), [disk]);
    });

    it('disks: detach, resize, snapshot, delete; errors are typed', async () => {
      await s.cpi.detachDisk(a.cid, disk);
      assert.deepEqual(await s.cpi.getDisks(a.cid), []);
      await rejectsWith(s.cpi.detachDisk(a.cid, disk), 'DiskNotAttached');
      await s.cpi.resizeDisk(disk, 2048);
      assert.equal(await s.diskSizeMiB(disk), 2048);
      await rejectsWith(s.cpi.resizeDisk(disk, 1024), 'Unknown', { message: /shrink/ });
      const snap = await s.cpi.snapshotDisk(disk, { purpose: 'contract' });
      await s.cpi.deleteSnapshot(snap);
      await s.cpi.deleteSnapshot(snap); // already gone: succeeds
      await s.cpi.deleteDisk(disk);
      assert.equal(await s.cpi.hasDisk(disk), false);
      await s.cpi.deleteDisk(disk); // already gone: succeeds
      await rejectsWith(s.cpi.attachDisk(a.cid, disk), 'NotFound', { resource: 'disk' });
      await rejectsWith(s.cpi.attachDisk('vm-missing', disk), 'NotFound', { resource: 'vm' });
      await rejectsWith(s.cpi.resizeDisk('disk-missing', 10), 'NotFound', { resource: 'disk' });
      await rejectsWith(s.cpi.snapshotDisk('disk-missing', {}), 'NotFound', { resource: 'disk' });
      await rejectsWith(s.cpi.createDisk(0, {}), 'InvalidCloudProperties');
    });

    it('a disk attached when its VM is deleted is detached and kept', async () => {
      const d = await s.cpi.createDisk(10, {});
      const vm = await newVm();
      await s.cpi.attachDisk(vm.cid, d);
      await s.cpi.deleteVm(vm.cid);
      assert.equal(await s.cpi.hasDisk(d), true);
      const other = await s.cpi.attachDisk(a.cid, d); // free to attach elsewhere
      assert.ok(other);
      await s.cpi.detachDisk(a.cid, d);
      await s.cpi.deleteDisk(d);
    });

    it('load balancer forwards to live members round robin and follows delete_vm', async () => {
      const lb = s.loadBalancer;
      const members = [
        await newVm({ ...s.vmCloudProperties, ...lb.cloudProperties }),
        await newVm({ ...s.vmCloudProperties, ...lb.cloudProperties }),
      ];
      for (const m of members) {
        const probe = await ssh(m.ip, m.hostKey);
        // a daemon in its own session, like a job's process: delete_vm must still find it
        const server = `require('net').createServer(s => { s.on('error', () => {}); s.end('${m.cid}'); }).listen(${lb.backendPort}, '${m.ip}')`;
        const r = await probe.exec(`setsid nohup node -e "${server}" >/dev/null 2>&1 < /dev/null & echo started`);
        probe.close();
        assert.equal(r.stdout, 'started\n');
        await waitUntil(`backend on ${m.ip}`, () => isListening(m.ip, lb.backendPort));
      }
      const answers = new Set<string>();
      for (let i = 0; i < 4; i++) answers.add(await readAll(lb.address, lb.port));
      assert.deepEqual([...answers].sort(), members.map((m) => m.cid).sort());

      const [gone, stays] = members as [(typeof members)[0], (typeof members)[0]];
      await s.cpi.deleteVm(gone.cid);
      assert.deepEqual(await s.leftovers(gone.cid), []);
      assert.equal(await isListening(gone.ip, lb.backendPort), false);
      for (let i = 0; i < 3; i++) assert.equal(await readAll(lb.address, lb.port), stays.cid);

      await s.cpi.deleteVm(stays.cid);
      assert.deepEqual(await s.leftovers(stays.cid), []);
      assert.equal(await readAll(lb.address, lb.port), '');
    });

    it('8 VMs created in parallel all work and are all deleted', async () => {
      const vms = await Promise.all(Array.from({ length: 8 }, () => newVm()));
      assert.equal(new Set(vms.map((v) => v.cid)).size, 8);
      const outs = await Promise.all(
        vms.map(async (vm) => {
          const probe = await ssh(vm.ip, vm.hostKey);
          const r = await probe.exec('echo up');
          probe.close();
          return r.stdout;
        }),
      );
      assert.deepEqual(outs, Array(8).fill('up\n'));
      await Promise.all(vms.map((vm) => s.cpi.deleteVm(vm.cid)));
      for (const vm of vms) {
        assert.equal(await s.cpi.hasVm(vm.cid), false);
        assert.deepEqual(await s.leftovers(vm.cid), []);
      }
    });

    it('delete_vm leaves no process, port or folder; a deleted VM is NotFound for the rest', async () => {
      const probe = await ssh(a.ip, a.hostKey);
      await probe.exec('setsid nohup sleep 300 >/dev/null 2>&1 < /dev/null &');
      probe.close();
      await s.cpi.deleteVm(a.cid);
      assert.equal(await s.cpi.hasVm(a.cid), false);
      assert.deepEqual(await s.leftovers(a.cid), []);
      const { host, port } = s.sshEndpoint(a.ip);
      assert.equal(await isListening(host, port), false);
      await s.cpi.deleteVm(a.cid); // already gone: succeeds
      await rejectsWith(s.cpi.rebootVm(a.cid), 'NotFound', { resource: 'vm' });
      await rejectsWith(s.cpi.getDisks(a.cid), 'NotFound', { resource: 'vm' });
      await s.cpi.deleteStemcell(stemcell);
    });

    it('no process started by the suite is left', () => {
      assert.deepEqual(s.liveProcesses(), []);
    });
  });
}
