// The agent on a VM of the embedded local CPI (its own ssh2 server, agent root = login dir):
// bootstrap, a package from an uploaded tarball, jobs supervised, a folder disk mounted at
// store/, and nothing left once the VM is deleted.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { randomInt } from 'node:crypto';
import { existsSync, readFileSync, realpathSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { writeTar } from '../../agent/tar.js';
import { LocalCpi } from '../../cpi/local/local-cpi.js';
import { AgentPool } from '../../src/agent-client/agent-pool.js';
import type { AgentClient } from '../../src/agent-client/agent-client.js';
import { HostKeyMismatchError } from '../../src/agent-client/errors.js';
import { generateSshKeyPair } from '../../src/crypto/ssh-keys.js';
import { findMarkedProcesses, killMarkedProcesses } from '../helpers/processes.js';
import { agentBundle } from './agent-bundle.js';
import type { AgentBundle } from './agent-bundle.js';

describe('agent on a local CPI VM', { concurrency: false }, () => {
  let cpiRoot: string;
  let cpi: LocalCpi;
  let bundle: AgentBundle;
  let pool: AgentPool;
  let client: AgentClient;
  let vmCid: string;
  let vmRoot: string;
  let diskCid: string;
  const director = generateSshKeyPair('ed25519', 'director');
  const hostKey = generateSshKeyPair();

  before(async () => {
    bundle = await agentBundle();
    cpiRoot = await mkdtemp(join(tmpdir(), 'agent-local-cpi-'));
    const net = `127.${randomInt(16, 250)}.${randomInt(1, 250)}`;
    const sshPort = randomInt(20_000, 40_000);
    cpi = new LocalCpi(
      { root: cpiRoot, ssh_port: sshPort, load_balancers: {} },
      { directorUuid: 'director-uuid-1', path: process.env.PATH },
    );
    const stemcell = await cpi.createStemcell('', {
      name: 'bosh-local-ubuntu-jammy',
      version: '1.1',
      os: 'ubuntu-jammy',
    });
    const ip = `${net}.2`;
    const created = await cpi.createVm(
      'agent-0',
      stemcell,
      {},
      { default: { type: 'manual', ip, netmask: '255.255.255.0', gateway: `${net}.1`, default: ['dns', 'gateway'] } },
      [],
      {
        director: {
          uuid: 'director-uuid-1',
          deployment: 'cfcr',
          instance: { group: 'master', index: 0, id: 'uuid-0' },
          agentId: 'agent-0',
        },
        ssh: { hostPrivateKey: hostKey.privateKey, authorizedKeys: [director.publicKey] },
      },
    );
    vmCid = created.vmCid;
    vmRoot = realpathSync(join(cpiRoot, 'vms', vmCid, 'root'));
    pool = new AgentPool({ privateKey: director.privateKey, commandTimeoutMs: 60_000 });
    client = pool.client('master/0', { host: ip, port: sshPort, hostPublicKey: hostKey.publicKey });
  });

  after(async () => {
    await pool?.closeAll();
    if (cpi !== undefined) {
      await cpi.deleteVm(vmCid).catch(() => undefined);
      await killMarkedProcesses('DIRECTOR_CPI_ROOT', cpiRoot);
    }
    await rm(cpiRoot, { recursive: true, force: true });
    await bundle?.cleanup();
  });

  it('bootstraps into the login directory, once', async () => {
    const first = await client.bootstrap(bundle.bytes, { agentId: 'agent-0' });
    assert.equal(first.agent.uploaded, true);
    assert.ok(existsSync(join(vmRoot, 'bosh/blobs', first.agent.sha256)));
    await client.bootstrap(bundle.bytes, { agentId: 'agent-0' });
    assert.equal(client.stats.uploads, 2);
    const ping = await client.ping();
    assert.equal(ping.root, vmRoot);
  });

  it('refuses the VM under another host key', async () => {
    const other = new AgentPool({ privateKey: director.privateKey });
    try {
      await assert.rejects(
        other.client('x', { ...client.endpoint, hostPublicKey: generateSshKeyPair().publicKey }).ping(),
        HostKeyMismatchError,
      );
    } finally {
      await other.closeAll();
    }
  });

  it('installs a package from an uploaded tarball and supervises the job that uses it', async () => {
    const now = Math.floor(Date.now() / 1000);
    const tgz = gzipSync(
      writeTar([
        { path: 'bin', type: 'dir', mode: 0o755, mtime: now },
        {
          path: 'bin/serve',
          type: 'file',
          mode: 0o755,
          mtime: now,
          data: Buffer.from('#!/bin/sh\necho "serving $1"\nexec sleep 1000\n'),
        },
      ]),
    );
    const blob = await client.uploadBlob(tgz);
    const jobs = [
      {
        name: 'api',
        templates: { 'config/api.yml': 'port: 8443\n' },
        packages: [{ name: 'api-server', sha256: blob.sha256, path: blob.path }],
        processes: [{ name: 'api', executable: 'packages/api-server/bin/serve', args: ['8443'], env: {} }],
      },
    ];
    assert.deepEqual((await client.apply(jobs)).changed, ['api']);
    const started = await client.start();
    assert.equal(started.state, 'running');
    const pid = started.jobs[0]?.processes[0]?.pid;
    assert.ok(typeof pid === 'number');
    assert.ok(
      findMarkedProcesses('DIRECTOR_VM_ID', vmCid).some((p) => p.pid === pid && p.cmdline.includes('sleep 1000')),
    );
    for (let i = 0; i < 50 && !existsSync(join(vmRoot, 'sys/log/api/api.stdout.log')); i++) await sleep(50);
    assert.equal(readFileSync(join(vmRoot, 'sys/log/api/api.stdout.log'), 'utf8'), 'serving 8443\n');
    assert.deepEqual((await client.apply(jobs)).unchanged, ['api']);
    assert.equal((await client.getState()).jobs[0]?.processes[0]?.pid, pid);
  });

  it('mounts an attached folder disk at store/ and unmounts it', async () => {
    diskCid = await cpi.createDisk(64, {}, vmCid);
    const hint = await cpi.attachDisk(vmCid, diskCid);
    const mounted = await client.mountDisk(diskCid, hint as { path: string });
    assert.equal(mounted.alreadyMounted, false);
    assert.equal((await client.mountDisk(diskCid, hint as { path: string })).alreadyMounted, true);
    const errand = await client.apply([
      {
        name: 'writer',
        templates: { 'bin/run': '#!/bin/sh\necho persisted > "$DIRECTOR_AGENT_ROOT/store/file"\n' },
        packages: [],
        processes: [],
      },
    ]);
    assert.deepEqual(errand.removed, ['api']);
    assert.equal((await client.runErrand('writer')).exitCode, 0);
    const state = await client.getState({ vitals: true });
    assert.ok(state.vitals?.disk.persistent !== undefined, 'persistent disk vitals once mounted');
    assert.deepEqual(await client.unmountDisk(diskCid), { unmounted: true });
    assert.equal(existsSync(join(vmRoot, 'store/file')), false);
    assert.equal(readFileSync(join(vmRoot, `store-disks/${diskCid}/file`), 'utf8'), 'persisted\n');
  });

  it('leaves no process once the VM is deleted', async () => {
    await client.start();
    await pool.closeAll();
    await cpi.detachDisk(vmCid, diskCid);
    await cpi.deleteVm(vmCid);
    await cpi.deleteDisk(diskCid);
    assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', vmCid), []);
  });
});
