// The agent and its client end to end over a real OpenSSH server: bootstrap, apply, the
// supervisor (restarts, backoff, stop order), drain, scripts, errands, logs, typed errors.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import type { Server, Socket } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AgentStateValue, JobSpec } from '../../agent/protocol.js';
import { AgentPool } from '../../src/agent-client/agent-pool.js';
import type { AgentClient, AgentEndpoint } from '../../src/agent-client/agent-client.js';
import {
  AgentAuthError,
  AgentCommandError,
  AgentSocketError,
  AgentTimeoutError,
  HostKeyMismatchError,
} from '../../src/agent-client/errors.js';
import { generateSshKeyPair } from '../../src/crypto/ssh-keys.js';
import { findMarkedProcesses } from '../helpers/processes.js';
import { startSshd } from '../helpers/sshd.js';
import type { TestSshd } from '../helpers/sshd.js';
import { agentBundle } from './agent-bundle.js';
import type { AgentBundle } from './agent-bundle.js';

/** A service that logs its start and its SIGTERM to order.log (under the agent root). */
const service = (name: string): string => `#!/bin/sh
trap 'echo "stop ${name}" >> "$DIRECTOR_AGENT_ROOT/order.log"; exit 0' TERM
echo "start ${name}" >> "$DIRECTOR_AGENT_ROOT/order.log"
while true; do sleep 0.1; done
`;

const job = (name: string, templates: Record<string, string>, withProcess = true): JobSpec => ({
  name,
  templates,
  packages: [],
  processes: withProcess
    ? [{ name, executable: `jobs/${name}/bin/${name}`, args: [], env: { SECRET_PASSWORD: 'hunter2-not-logged' } }]
    : [],
  properties: { password: 'hunter2-not-logged' },
});

const dynamicDrain = `#!/bin/sh
n=$(cat "$DIRECTOR_AGENT_ROOT/drain-count" 2>/dev/null || echo 0); n=$((n+1)); echo $n > "$DIRECTOR_AGENT_ROOT/drain-count"
echo "$*" >> "$DIRECTOR_AGENT_ROOT/drain-args.log"
if [ "$1" = job_check_status ]; then echo 0; else echo -1; fi
`;

const baseJobs = (workerConf: string): JobSpec[] => [
  job('web', {
    'bin/web': service('web'),
    'bin/drain': '#!/bin/sh\necho 1\n',
    'bin/pre-start': '#!/bin/sh\necho "pre-start ran" > "$DIRECTOR_AGENT_ROOT/pre-start.ran"\n',
  }),
  job('worker', { 'bin/worker': service('worker'), 'bin/drain': dynamicDrain, 'config/worker.conf': workerConf }),
  job('stubborn', {
    'bin/stubborn': `#!/bin/sh\ntrap 'echo "ignore stubborn" >> "$DIRECTOR_AGENT_ROOT/order.log"' TERM\nwhile true; do sleep 0.1; done\n`,
  }),
  job('smoke', { 'bin/run': '#!/bin/sh\necho "out-line $*"\necho err-line >&2\nexit 3\n' }, false),
];

function pids(state: AgentStateValue): Record<string, number | null> {
  return Object.fromEntries(state.jobs.flatMap((j) => j.processes.map((p) => [`${j.name}/${p.name}`, p.pid])));
}

async function eventually<T>(what: string, probe: () => Promise<T>, ok: (v: T) => boolean): Promise<T> {
  let last: T | undefined;
  for (let i = 0; i < 150; i++) {
    last = await probe();
    if (ok(last)) return last;
    await sleep(100);
  }
  assert.fail(`${what}: never happened; last seen ${JSON.stringify(last)}`);
}

describe('agent over a real sshd', { concurrency: false }, () => {
  let sshd: TestSshd;
  let bundle: AgentBundle;
  let root: string;
  let pool: AgentPool;
  let endpoint: AgentEndpoint;
  let client: AgentClient;
  const logLines: string[] = [];
  const settings = { agentId: 'agent-7', deployment: 'cfcr', instance: 'master/0' };

  before(async () => {
    bundle = await agentBundle();
    sshd = await startSshd();
    root = join(sshd.dir, 'vm-root');
    mkdirSync(root);
    pool = new AgentPool({
      privateKey: sshd.clientKey.privateKey,
      log: (l) => logLines.push(l),
      commandTimeoutMs: 60_000,
    });
    endpoint = {
      host: sshd.host,
      port: sshd.port,
      username: sshd.username,
      hostPublicKey: sshd.hostKey.publicKey,
      root,
    };
    client = pool.client('master/0', endpoint);
  });

  after(async () => {
    const pidFile = join(root, 'sys/run/supervisor.pid');
    if (existsSync(pidFile)) {
      try {
        process.kill(Number(readFileSync(pidFile, 'utf8')), 'SIGKILL');
      } catch {
        // gone
      }
    }
    await pool?.closeAll();
    await sshd?.stop();
    await bundle?.cleanup();
  });

  it('bootstrap uploads the agent and settings once; a second bootstrap uploads nothing', async () => {
    const first = await client.bootstrap(bundle.bytes, settings);
    assert.equal(first.agent.uploaded, true);
    assert.equal(first.settings.uploaded, true);
    assert.equal(client.stats.uploads, 2);
    assert.equal(readlinkSync(join(root, 'bosh/agent.cjs')), `blobs/${first.agent.sha256}`);
    assert.deepEqual(JSON.parse(readFileSync(join(root, 'bosh/settings.json'), 'utf8')), settings);

    const second = await client.bootstrap(bundle.bytes, settings);
    assert.equal(second.agent.uploaded, false);
    assert.equal(second.settings.uploaded, false);
    assert.equal(client.stats.uploads, 2, 'nothing is sent twice');

    const otherPool = new AgentPool({ privateKey: sshd.clientKey.privateKey });
    try {
      const fresh = otherPool.client('master/0', endpoint);
      await fresh.bootstrap(bundle.bytes, { ...settings, deployment: 'cfcr-2' });
      assert.equal(fresh.stats.uploads, 1, 'a new connection sends only the changed settings');
      assert.equal(fresh.stats.connections, 1);
    } finally {
      await otherPool.closeAll();
    }
    await client.bootstrap(bundle.bytes, settings);
    assert.equal(client.stats.connections, 1, 'one connection reused for every call');
    assert.deepEqual((await client.ping()).agentId, 'agent-7');
  });

  it('refuses a host key other than the generated one with HostKeyMismatchError (no trust on first use)', async () => {
    const strangerKey = generateSshKeyPair();
    const otherPool = new AgentPool({ privateKey: sshd.clientKey.privateKey, connectTimeoutMs: 5000 });
    try {
      const c = otherPool.client('master/0', { ...endpoint, hostPublicKey: strangerKey.publicKey });
      const err = await c.ping().then(
        () => assert.fail('connected to a VM presenting the wrong host key'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof HostKeyMismatchError, String(err));
      assert.equal(err.expectedFingerprint, strangerKey.fingerprint);
      assert.equal(err.presentedFingerprint, sshd.hostKey.fingerprint);
      assert.equal(
        err.message,
        `Host key mismatch for master/0: expected ${strangerKey.fingerprint}, the server presented ${sshd.hostKey.fingerprint}`,
      );
      const rsa = generateSshKeyPair('rsa');
      const wrongType = otherPool.client('master/1', { ...endpoint, hostPublicKey: rsa.publicKey });
      await assert.rejects(
        wrongType.ping(),
        (e: unknown) =>
          e instanceof HostKeyMismatchError &&
          e.message ===
            `Host key mismatch for master/1: expected ${rsa.fingerprint}, the server presented no ssh-rsa host key`,
      );
    } finally {
      await otherPool.closeAll();
    }
  });

  it('reports a refused key, a closed port and a silent server with typed errors', async () => {
    const wrongClient = new AgentPool({ privateKey: generateSshKeyPair().privateKey });
    const sockets: Socket[] = [];
    const silent: Server = createServer((sock) => void sockets.push(sock));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', () => r()));
    const silentPort = (silent.address() as { port: number }).port;
    const closedPool = new AgentPool({ privateKey: sshd.clientKey.privateKey, connectTimeoutMs: 400 });
    try {
      await assert.rejects(
        wrongClient.client('a', endpoint).ping(),
        (e: unknown) => e instanceof AgentAuthError && !String((e as Error).message).includes('PRIVATE KEY'),
      );
      await assert.rejects(closedPool.client('b', { ...endpoint, port: 1 }).ping(), AgentSocketError);
      await assert.rejects(closedPool.client('c', { ...endpoint, port: silentPort }).ping(), AgentTimeoutError);
    } finally {
      await wrongClient.closeAll();
      await closedPool.closeAll();
      for (const sock of sockets) sock.destroy();
      await new Promise<void>((r) => silent.close(() => r()));
    }
  });

  it('apply installs jobs, start runs them in order, get_state reports processes and vitals', async () => {
    const applied = await client.apply(baseJobs('v1'));
    assert.deepEqual(applied, { changed: ['web', 'worker', 'stubborn', 'smoke'], unchanged: [], removed: [] });
    assert.equal(readFileSync(join(root, 'jobs/worker/config/worker.conf'), 'utf8'), 'v1');
    const started = await client.start();
    assert.equal(started.state, 'running');
    assert.deepEqual(
      started.jobs.map((j) => [j.name, j.state]),
      [
        ['web', 'running'],
        ['worker', 'running'],
        ['stubborn', 'running'],
        ['smoke', 'stopped'],
      ],
    );
    await eventually(
      'both services logged their start',
      async () => readFileSync(join(root, 'order.log'), 'utf8'),
      (t) => t.includes('start worker'),
    );
    assert.equal(readFileSync(join(root, 'order.log'), 'utf8'), 'start web\nstart worker\n');

    const state = await client.getState({ vitals: true });
    assert.equal(state.state, 'running');
    for (const [name, pid] of Object.entries(pids(state))) {
      assert.ok(typeof pid === 'number' && pid > 0, `${name} has a pid`);
      assert.ok(
        findMarkedProcesses('DIRECTOR_VM_ID', sshd.marker).some((p) => p.pid === pid),
        `${name} (pid ${pid}) is alive`,
      );
    }
    const v = state.vitals;
    assert.ok(v !== undefined);
    assert.equal(v.load.length, 3);
    assert.match(v.cpu.user, /^\d+\.\d$/);
    assert.ok(Number(v.mem.kb) > 0);
    assert.match(v.mem.percent, /^\d+\.\d$/);
    assert.match(v.swap.percent, /^\d+\.\d$/);
    assert.match(v.disk.system.percent, /^\d+\.\d$/);
    assert.match(v.disk.ephemeral.inode_percent, /^\d+\.\d$/);
    assert.equal(v.disk.persistent, undefined, 'no persistent disk is mounted');
    assert.ok(logLines.length > 0 && logLines.every((l) => !l.includes('hunter2')), 'secrets never reach the log');
  });

  it('a process killed with SIGKILL is restarted by the supervisor', async () => {
    const before = pids(await client.getState());
    process.kill(before['web/web'] as number, 'SIGKILL');
    const after = await eventually(
      'web restarted',
      () => client.getState(),
      (s) => s.state === 'running' && pids(s)['web/web'] !== before['web/web'],
    );
    const web = after.jobs.find((j) => j.name === 'web')?.processes[0];
    assert.equal(web?.restarts, 1);
    assert.deepEqual(web?.lastExit, { code: null, signal: 'SIGKILL' });
    assert.equal(pids(after)['worker/worker'], before['worker/worker'], 'other jobs untouched');
  });

  it('re-applying the same spec changes nothing and restarts nothing', async () => {
    const before = pids(await client.getState());
    const applied = await client.apply(baseJobs('v1'));
    assert.deepEqual(applied, { changed: [], unchanged: ['web', 'worker', 'stubborn', 'smoke'], removed: [] });
    const after = await client.getState();
    assert.equal(after.state, 'running');
    assert.deepEqual(pids(after), before);
  });

  it('a changed template restarts only the job it belongs to', async () => {
    const before = pids(await client.getState());
    const applied = await client.apply(baseJobs('v2'));
    assert.deepEqual(applied.changed, ['worker']);
    const after = await eventually(
      'worker running again',
      () => client.getState(),
      (s) => s.state === 'running',
    );
    assert.notEqual(pids(after)['worker/worker'], before['worker/worker']);
    assert.equal(pids(after)['web/web'], before['web/web']);
    assert.equal(pids(after)['stubborn/stubborn'], before['stubborn/stubborn']);
    assert.equal(readFileSync(join(root, 'jobs/worker/config/worker.conf'), 'utf8'), 'v2');
    assert.equal(readdirSync(join(root, 'jobs/.store')).length, 4, "the worker's previous version is collected");
  });

  it('a crash loop shows failing with backoff; removing the job stops it', async () => {
    const crashy: JobSpec = {
      name: 'crashy',
      templates: { 'bin/crashy': '#!/bin/sh\necho boom >&2\nexit 3\n' },
      packages: [],
      processes: [{ name: 'crashy', executable: 'jobs/crashy/bin/crashy', args: [], env: {} }],
    };
    await client.apply([...baseJobs('v2'), crashy]);
    await client.start();
    const failing = await eventually(
      'crashy failing',
      () => client.getState(),
      // between two crashes the process is briefly `starting` again; most of the time it backs off
      (s) =>
        (s.jobs.find((j) => j.name === 'crashy')?.processes[0]?.restarts ?? 0) >= 2 &&
        s.jobs.find((j) => j.name === 'crashy')?.state === 'failing',
    );
    const c = failing.jobs.find((j) => j.name === 'crashy');
    assert.equal(c?.state, 'failing');
    assert.equal(failing.state, 'failing');
    assert.deepEqual(c?.processes[0]?.lastExit, { code: 3, signal: null });
    assert.match(readFileSync(join(root, 'sys/log/crashy/crashy.stderr.log'), 'utf8'), /boom/);
    const removed = await client.apply(baseJobs('v2'));
    assert.deepEqual(removed.removed, ['crashy']);
    assert.equal((await client.getState()).state, 'running');
    assert.equal(existsSync(join(root, 'jobs/crashy')), false);
  });

  it('the supervisor outlives SSH sessions; a dead one is restarted by the next command', async () => {
    const supervisorPid = Number(readFileSync(join(root, 'sys/run/supervisor.pid'), 'utf8'));
    const before = pids(await client.getState());
    process.kill(supervisorPid, 'SIGKILL');
    const after = await eventually(
      'processes back under a new supervisor',
      () => client.getState(),
      (s) => s.state === 'running' && pids(s)['web/web'] !== before['web/web'],
    );
    const newPid = Number(readFileSync(join(root, 'sys/run/supervisor.pid'), 'utf8'));
    assert.notEqual(newPid, supervisorPid);
    const alive = new Set(findMarkedProcesses('DIRECTOR_VM_ID', sshd.marker).map((p) => p.pid));
    assert.ok(alive.has(newPid));
    for (const pid of Object.values(before))
      assert.ok(!alive.has(pid as number), `orphan ${pid} of the dead supervisor was stopped`);
    for (const pid of Object.values(pids(after))) assert.ok(alive.has(pid as number));
  });

  it('run_script runs the pre-start of the jobs that have one', async () => {
    const r = await client.runScript('pre-start');
    assert.deepEqual(r.jobs, [{ name: 'web', exitCode: 0 }]);
    assert.equal(readFileSync(join(root, 'pre-start.ran'), 'utf8'), 'pre-start ran\n');
    assert.deepEqual((await client.runScript('post-deploy')).jobs, []);
  });

  it('drain: a static drain waits as asked, a dynamic one is polled with job_check_status', async () => {
    const r = await client.drain({ type: 'shutdown' });
    assert.deepEqual(r.jobs, [
      { name: 'web', calls: 1, waitedSeconds: 1 },
      { name: 'worker', calls: 2, waitedSeconds: 1 },
    ]);
    assert.equal(
      readFileSync(join(root, 'drain-args.log'), 'utf8'),
      'job_shutdown hash_unchanged\njob_check_status hash_unchanged\n',
    );
    await client.drain({ type: 'update', changedJobs: ['worker'], changedPackages: ['etcd'] });
    assert.match(
      readFileSync(join(root, 'drain-args.log'), 'utf8'),
      /\njob_changed hash_changed etcd\njob_check_status hash_unchanged\n$/,
    );
  });

  it('run_errand streams the output and returns the exit code', async () => {
    const out: string[] = [];
    const err: string[] = [];
    const r = await client.runErrand('smoke', {
      args: ['a b', 'c'],
      onOutput: (s, d) => (s === 'stdout' ? out : err).push(d),
    });
    assert.deepEqual(r, { exitCode: 3, signal: null });
    assert.equal(out.join(''), 'out-line a b c\n');
    assert.equal(err.join(''), 'err-line\n');
    await assert.rejects(
      client.runErrand('web'),
      (e: unknown) => e instanceof AgentCommandError && e.kind === 'not_found' && /no bin\/run/.test(e.message),
    );
  });

  it('a command that outlives its timeout fails with AgentTimeoutError and leaves nothing running', async () => {
    const sleeper = {
      name: 'sleeper',
      templates: { 'bin/run': '#!/bin/sh\necho started\nexec sleep 1000\n' },
      packages: [],
      processes: [],
    };
    assert.deepEqual((await client.apply([...baseJobs('v2'), sleeper])).changed, ['sleeper']);
    const started: string[] = [];
    await assert.rejects(
      client.call(
        'run_errand',
        { job: 'sleeper' },
        { timeoutMs: 1500, onEvent: (e) => void (e.stream === 'stdout' && started.push(e.data)) },
      ),
      (e: unknown) =>
        e instanceof AgentTimeoutError && e.message === 'Running a command on master/0: no answer within 2 s',
    );
    assert.deepEqual(started, ['started\n']);
    await eventually(
      'the errand is stopped',
      async () => findMarkedProcesses('DIRECTOR_VM_ID', sshd.marker).filter((p) => p.cmdline.includes('sleep 1000')),
      (l) => l.length === 0,
    );
    assert.equal((await client.getState()).state, 'running', 'the connection is still usable');
    assert.deepEqual((await client.apply(baseJobs('v2'))).removed, ['sleeper']);
  });

  it('fetch_logs returns a .tgz that tar -tzf reads', async () => {
    const logs = await client.fetchLogs();
    assert.ok(logs.files >= 4);
    const file = join(sshd.dir, 'logs.tgz');
    writeFileSync(file, logs.tgz);
    const listing = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).split('\n');
    for (const entry of ['log/', 'log/web/web.stdout.log', 'log/crashy/crashy.stderr.log', 'log/supervisor.log'])
      assert.ok(listing.includes(entry), `${entry} in ${listing.join(' ')}`);
    const content = execFileSync('tar', ['-xzOf', file, 'log/crashy/crashy.stderr.log'], { encoding: 'utf8' });
    assert.match(content, /boom/);
    const only = await client.fetchLogs({ jobs: ['web'] });
    writeFileSync(file, only.tgz);
    const webOnly = execFileSync('tar', ['-tzf', file], { encoding: 'utf8' }).trim().split('\n');
    assert.ok(webOnly.includes('log/web/web.stdout.log'));
    assert.ok(!webOnly.some((l) => l.includes('crashy')));
  });

  it('stop stops jobs in reverse order, SIGKILLs a process that outlives the grace period', async () => {
    writeFileSync(join(root, 'order.log'), '');
    const stopped = await client.stop({ graceSeconds: 1 });
    assert.equal(stopped.state, 'stopped');
    assert.equal(readFileSync(join(root, 'order.log'), 'utf8'), 'ignore stubborn\nstop worker\nstop web\n');
    const alive = findMarkedProcesses('DIRECTOR_VM_ID', sshd.marker);
    const supervisorPid = Number(readFileSync(join(root, 'sys/run/supervisor.pid'), 'utf8'));
    assert.deepEqual(
      alive.map((p) => p.pid),
      [supervisorPid],
      'only the supervisor is left',
    );
  });

  it('leaves no process behind once the supervisor is stopped', async () => {
    const supervisorPid = Number(readFileSync(join(root, 'sys/run/supervisor.pid'), 'utf8'));
    process.kill(supervisorPid, 'SIGTERM');
    await eventually(
      'supervisor gone',
      async () => findMarkedProcesses('DIRECTOR_VM_ID', sshd.marker),
      (l) => l.length === 0,
    );
    assert.equal(existsSync(join(root, 'sys/run/supervisor.pid')), false, 'the lock is released');
  });
});
