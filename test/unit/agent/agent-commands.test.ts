// The agent program run directly (no SSH): its error semantics, validation, the one-supervisor
// lock, and the files it writes.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentResponse, JobSpec } from '../../../agent/protocol.js';
import { findMarkedProcesses, killMarkedProcesses } from '../../helpers/processes.js';
import { agentBundle } from '../../e2e/agent-bundle.js';
import type { AgentBundle } from '../../e2e/agent-bundle.js';

describe('agent commands', { concurrency: false }, () => {
  let bundle: AgentBundle;
  let root: string;
  const marker = `agent-unit-${randomBytes(6).toString('hex')}`;
  const env = { ...process.env, DIRECTOR_VM_ID: marker };

  const run = (command: string, request: unknown): AgentResponse & { exit: number | null } => {
    const r = spawnSync(process.execPath, [bundle.path, command, '--root', root], {
      input: typeof request === 'string' ? request : JSON.stringify(request),
      env,
      encoding: 'utf8',
    });
    const lines = r.stdout.trim().split('\n');
    return { ...(JSON.parse(lines[lines.length - 1] ?? '') as AgentResponse), exit: r.status };
  };
  const error = (command: string, request: unknown): { kind: string; message: string } => {
    const r = run(command, request);
    assert.equal(r.ok, false, `${command} should fail`);
    assert.equal(r.exit, 1);
    return (r as { error: { kind: string; message: string } }).error;
  };
  const job = (name: string, templates: Record<string, string>): JobSpec => ({
    name,
    templates,
    packages: [],
    processes: [],
  });

  before(async () => {
    bundle = await agentBundle();
    root = mkdtempSync(join(tmpdir(), 'agent-unit-'));
  });
  after(async () => {
    await killMarkedProcesses('DIRECTOR_VM_ID', marker);
    rmSync(root, { recursive: true, force: true });
    await bundle?.cleanup();
  });

  it('answers unknown commands and malformed requests with bad_request', () => {
    assert.deepEqual(error('frobnicate', {}), {
      kind: 'bad_request',
      message:
        "unknown command 'frobnicate' (expected one of ping, apply, get_state, start, stop, drain, mount_disk, unmount_disk, migrate_disk, run_errand, fetch_logs, run_script)",
    });
    assert.deepEqual(error('apply', '{"jobs": ['), {
      kind: 'bad_request',
      message: 'apply: the request on stdin is not JSON',
    });
    assert.deepEqual(error('apply', { jobs: [job('a', { '../escape': 'x' })] }), {
      kind: 'bad_request',
      message: "apply: jobs[0].templates['../escape'] must be a relative path inside the job with string content",
    });
    assert.deepEqual(error('apply', { jobs: [job('a', {}), job('a', {})] }), {
      kind: 'bad_request',
      message: "apply: job 'a' appears twice",
    });
    assert.deepEqual(error('drain', { type: 'later' }), {
      kind: 'bad_request',
      message: "drain: type must be 'shutdown' or 'update'",
    });
  });

  it('never echoes template content in errors, and keeps properties private', () => {
    const secret = 'p4ssw0rd-in-template';
    const bad = {
      ...job('a', { 'config/creds': secret }),
      processes: [{ name: 'x', executable: '', args: [], env: {} }],
    };
    const e = error('apply', { jobs: [bad] });
    assert.equal(e.message, 'apply: jobs[0].processes[0].executable must be a path or command');
    assert.ok(!e.message.includes(secret));
    const ok = run('apply', {
      jobs: [{ ...job('a', { 'config/creds': secret, 'bin/ctl': '#!/bin/sh\n' }), properties: { password: secret } }],
    });
    assert.equal(ok.ok, true);
    assert.equal(statSync(join(root, 'jobs/a/.bosh/properties.json')).mode & 0o777, 0o600);
    assert.equal(statSync(join(root, 'jobs/a/config/creds')).mode & 0o777, 0o640);
    assert.equal(statSync(join(root, 'jobs/a/bin/ctl')).mode & 0o777, 0o750);
    assert.equal(statSync(join(root, 'sys/run/desired.json')).mode & 0o777, 0o600, 'process env may hold secrets');
    assert.ok(!readFileSync(join(root, 'sys/log/supervisor.log'), 'utf8').includes(secret));
  });

  it('checks package blobs: missing is not_found, a wrong sha256 is bad_request', () => {
    const pkg = (path: string) => ({ ...job('p', {}), packages: [{ name: 'etcd', sha256: 'a'.repeat(64), path }] });
    assert.deepEqual(error('apply', { jobs: [pkg('bosh/blobs/nope')] }), {
      kind: 'not_found',
      message: "package 'etcd': no uploaded blob at 'bosh/blobs/nope'",
    });
    mkdirSync(join(root, 'bosh/blobs'), { recursive: true });
    writeFileSync(join(root, 'bosh/blobs/wrong'), 'not the package');
    assert.deepEqual(error('apply', { jobs: [pkg('bosh/blobs/wrong')] }), {
      kind: 'bad_request',
      message: `package 'etcd': blob 'bosh/blobs/wrong' does not have sha256 ${'a'.repeat(64)}`,
    });
    assert.deepEqual(error('apply', { jobs: [pkg('../outside')] }), {
      kind: 'bad_request',
      message: "path '../outside' is outside the agent root",
    });
  });

  it('fails drain on a script that prints no integer or exits non-zero, and names the job', () => {
    assert.equal(run('apply', { jobs: [job('chatty', { 'bin/drain': '#!/bin/sh\necho soon\n' })] }).ok, true);
    assert.deepEqual(error('drain', { type: 'shutdown' }), {
      kind: 'script_failed',
      message: "drain script of job 'chatty' printed 'soon' instead of an integer",
    });
    assert.equal(
      run('apply', { jobs: [job('broken', { 'bin/drain': '#!/bin/sh\necho cannot drain >&2\nexit 4\n' })] }).ok,
      true,
    );
    assert.deepEqual(error('drain', { type: 'update' }), {
      kind: 'script_failed',
      message: "drain script of job 'broken' exited with 4: cannot drain",
    });
    assert.equal(run('apply', { jobs: [job('greedy', { 'bin/drain': '#!/bin/sh\necho 900\n' })] }).ok, true);
    assert.deepEqual(error('drain', { type: 'shutdown', maxWaitSeconds: 60 }), {
      kind: 'timeout',
      message: "drain script of job 'greedy' asked to wait beyond 60 s",
    });
  });

  it('fails run_script naming the job and keeps the script output in sys/log', () => {
    assert.equal(
      run('apply', {
        jobs: [
          job('ok', { 'bin/post-start': '#!/bin/sh\necho fine\n' }),
          job('bad', { 'bin/post-start': '#!/bin/sh\necho nope >&2\nexit 2\n' }),
        ],
      }).ok,
      true,
    );
    assert.deepEqual(error('run_script', { name: 'post-start' }), {
      kind: 'script_failed',
      message: "post-start script failed for job 'bad' exited with 2 (see sys/log/<job>/post-start.stderr.log)",
    });
    assert.equal(readFileSync(join(root, 'sys/log/bad/post-start.stderr.log'), 'utf8'), 'nope\n');
    assert.equal(readFileSync(join(root, 'sys/log/ok/post-start.stdout.log'), 'utf8'), 'fine\n');
    assert.deepEqual(error('run_script', { name: 'pre-stop' }), {
      kind: 'bad_request',
      message: 'run_script: name must be pre-start, post-start or post-deploy',
    });
  });

  it('mounts folder disks only, from inside the root, never over data; migrates data to a second disk', () => {
    assert.deepEqual(error('mount_disk', { diskCid: 'd1', hint: { device: '/dev/sdc' } }), {
      kind: 'unsupported',
      message: "mount_disk: disk 'd1' has a device hint; this agent mounts folder and LUN disks only",
    });
    assert.deepEqual(error('mount_disk', { diskCid: 'd1', hint: { path: 'store-disks/d1' } }), {
      kind: 'not_found',
      message: "mount_disk: disk 'd1' is not attached (no folder at 'store-disks/d1')",
    });
    assert.deepEqual(error('mount_disk', { diskCid: 'd1', hint: { path: '../../etc' } }), {
      kind: 'bad_request',
      message: "mount_disk: hint path '../../etc' is outside the agent root",
    });
    mkdirSync(join(root, 'store-disks/d1'), { recursive: true });
    mkdirSync(join(root, 'store'), { recursive: true });
    writeFileSync(join(root, 'store/precious'), 'x');
    assert.deepEqual(error('mount_disk', { diskCid: 'd1', hint: { path: 'store-disks/d1' } }), {
      kind: 'bad_request',
      message: 'mount_disk: store/ is a non-empty folder; refusing to hide its content',
    });
    rmSync(join(root, 'store/precious'));
    assert.deepEqual(run('mount_disk', { diskCid: 'd1', hint: { path: 'store-disks/d1' } }), {
      ok: true,
      value: { mountPoint: 'store', alreadyMounted: false },
      exit: 0,
    });
    writeFileSync(join(root, 'store/data'), 'persisted');
    mkdirSync(join(root, 'store-disks/d2'));
    assert.deepEqual(run('mount_disk', { diskCid: 'd2', hint: { path: 'store-disks/d2' } }), {
      ok: true,
      value: { mountPoint: 'store_migration_target', alreadyMounted: false },
      exit: 0,
    });
    mkdirSync(join(root, 'store-disks/d3'));
    assert.deepEqual(error('mount_disk', { diskCid: 'd3', hint: { path: 'store-disks/d3' } }), {
      kind: 'bad_request',
      message: 'mount_disk: two disks are mounted already (d1, d2); unmount one first',
    });
    assert.deepEqual(error('migrate_disk', { fromCid: 'd2', toCid: 'd1' }), {
      kind: 'bad_request',
      message: "migrate_disk: disk 'd2' is not mounted at store/",
    });
    assert.deepEqual(run('migrate_disk', { fromCid: 'd1', toCid: 'd2' }), {
      ok: true,
      value: { copiedEntries: 1 },
      exit: 0,
    });
    assert.equal(
      readFileSync(join(root, 'store-disks/d2/data'), 'utf8'),
      'persisted',
      'the data moved to the new disk',
    );
    assert.equal(readFileSync(join(root, 'store/data'), 'utf8'), 'persisted');
    assert.equal(existsSync(join(root, 'store_migration_target')), false);
    assert.deepEqual(run('unmount_disk', { diskCid: 'd1' }), { ok: true, value: { unmounted: false }, exit: 0 });
    assert.deepEqual(run('unmount_disk', { diskCid: 'd2' }), { ok: true, value: { unmounted: true }, exit: 0 });
    assert.ok(statSync(join(root, 'store')).isDirectory());
  });

  it('resolves an Azure LUN hint to the folder store-disks/lun<N> a local hypervisor provides, keeping data across remounts', () => {
    const lunHint = (lun: unknown) => ({ lun, host_device_id: '{f8b3781b-1e82-4818-a1c3-63d806ec15bb}' });
    assert.deepEqual(error('mount_disk', { diskCid: 'a1', hint: lunHint('../1') }), {
      kind: 'bad_request',
      message: 'mount_disk: disk \'a1\': hint.lun must be a LUN from 0 to 63, found "../1"',
    });
    assert.deepEqual(error('mount_disk', { diskCid: 'a1', hint: lunHint('64') }), {
      kind: 'bad_request',
      message: 'mount_disk: disk \'a1\': hint.lun must be a LUN from 0 to 63, found "64"',
    });
    // this machine is no Azure VM: neither the folder nor /dev/disk/azure/scsi1/lun5 exists
    assert.deepEqual(error('mount_disk', { diskCid: 'a1', hint: lunHint('5') }), {
      kind: 'not_found',
      message:
        "mount_disk: disk 'a1' is not attached (no folder at 'store-disks/lun5', no device at /dev/disk/azure/scsi1/lun5)",
    });
    // the hypervisor's link: store-disks/lun5 -> a managed disk's folder outside the VM root
    const managed = mkdtempSync(join(tmpdir(), 'agent-unit-managed-'));
    try {
      symlinkSync(managed, join(root, 'store-disks/lun5'));
      assert.deepEqual(run('mount_disk', { diskCid: 'a1', hint: lunHint('5') }), {
        ok: true,
        value: { mountPoint: 'store', alreadyMounted: false },
        exit: 0,
      });
      assert.deepEqual(run('mount_disk', { diskCid: 'a1', hint: lunHint(5) }), {
        ok: true,
        value: { mountPoint: 'store', alreadyMounted: true },
        exit: 0,
      });
      writeFileSync(join(root, 'store/etcd-member'), 'on the managed disk');
      assert.equal(readFileSync(join(managed, 'etcd-member'), 'utf8'), 'on the managed disk');
      assert.deepEqual(run('unmount_disk', { diskCid: 'a1' }), { ok: true, value: { unmounted: true }, exit: 0 });
      assert.equal(existsSync(join(root, 'store/etcd-member')), false, 'store/ no longer shows the disk');
      assert.deepEqual(run('mount_disk', { diskCid: 'a1', hint: lunHint('5') }), {
        ok: true,
        value: { mountPoint: 'store', alreadyMounted: false },
        exit: 0,
      });
      assert.equal(readFileSync(join(root, 'store/etcd-member'), 'utf8'), 'on the managed disk');
      assert.deepEqual(run('unmount_disk', { diskCid: 'a1' }), { ok: true, value: { unmounted: true }, exit: 0 });
      rmSync(join(root, 'store-disks/lun5'));
    } finally {
      rmSync(managed, { recursive: true, force: true });
    }
  });

  it('keeps the supervisor alive when a process cannot be spawned, and when its job is removed mid-backoff', async () => {
    const pidFile = join(root, 'sys/run/supervisor.pid');
    const ghost: JobSpec = {
      ...job('ghost', { 'bin/ctl': '#!/bin/sh\n' }),
      processes: [{ name: 'ghost', executable: 'jobs/ghost/bin/not-there', args: [], env: {} }],
    };
    assert.equal(run('apply', { jobs: [ghost] }).ok, true);
    const supervisor = Number(readFileSync(pidFile, 'utf8'));
    const started = run('start', { timeoutSeconds: 20 });
    assert.equal(started.ok, true);
    let state = run('get_state', {});
    for (
      let i = 0;
      i < 100 &&
      ((state as { value?: { jobs: { processes: { restarts: number }[] }[] } }).value?.jobs[0]?.processes[0]
        ?.restarts ?? 0) < 2;
      i++
    ) {
      await sleep(50);
      state = run('get_state', {});
    }
    const ghostState = (
      state as {
        value: { jobs: { name: string; state: string; processes: { restarts: number; lastExit: unknown }[] }[] };
      }
    ).value.jobs[0];
    assert.equal(ghostState?.state, 'failing');
    assert.ok((ghostState?.processes[0]?.restarts ?? 0) >= 2);
    assert.deepEqual(ghostState?.processes[0]?.lastExit, { code: 127, signal: null });
    assert.match(
      readFileSync(join(root, 'sys/log/ghost/ghost.stderr.log'), 'utf8'),
      /supervisor: cannot start ghost\/ghost: spawn .*ENOENT/,
    );
    // removed while it waits to be restarted: the supervisor stops it before its folder goes
    const removed = run('apply', { jobs: [] });
    assert.equal(removed.ok, true);
    assert.equal(existsSync(join(root, 'jobs/ghost')), false);
    await sleep(400); // longer than the backoff it was in
    assert.equal(Number(readFileSync(pidFile, 'utf8')), supervisor, 'the same supervisor');
    assert.ok(
      findMarkedProcesses('DIRECTOR_VM_ID', marker).some((p) => p.pid === supervisor),
      'and it is alive',
    );
    assert.doesNotMatch(readFileSync(join(root, 'sys/log/supervisor.log'), 'utf8'), /EBADF|Error:/);
  });

  it('runs one supervisor per VM: a second one exits at once', async () => {
    const pidFile = join(root, 'sys/run/supervisor.pid');
    const first = Number(readFileSync(pidFile, 'utf8'));
    assert.ok(
      findMarkedProcesses('DIRECTOR_VM_ID', marker).some((p) => p.pid === first && p.cmdline.includes('supervise')),
    );
    const second = spawn(process.execPath, [bundle.path, 'supervise', '--root', root], { env, stdio: 'ignore' });
    const code = await new Promise<number | null>((r) => second.once('exit', (c) => r(c)));
    assert.equal(code, 0);
    assert.equal(Number(readFileSync(pidFile, 'utf8')), first, 'the lock still names the first');
    process.kill(first, 'SIGTERM');
    for (let i = 0; i < 100 && existsSync(pidFile); i++) await sleep(50);
    assert.equal(existsSync(pidFile), false);
    assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', marker), []);
  });
});
