import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Cpi } from '../../cpi/contract.js';
import { debugAgents, debugCpi, debugValue, TaskDebugSink } from '../../src/cli/debug-log.js';
import type { AgentDialer, InstanceAgent } from '../../src/deploy/ports.js';
import { wrap } from '../../src/errors.js';
import { packTgz } from '../../src/release/tar.js';
import { openStateStore } from '../../src/state/index.js';
import { runCli } from '../helpers/cli.js';
import { repoRoot } from '../helpers/director-process.js';

/**
 * bosh-cli's task commands: `task` (the last one), `task N --debug|--cpi|--result`,
 * `tasks --recent`, `cancel-task`, and Ctrl-C during a task. On a local environment made by
 * create-env in-process; the only CPI work is a light stemcell upload.
 */

let dir: string;
let state: string;
const cli = (...args: string[]) =>
  runCli([...args, '--state', state], { cwd: dir, env: { HOME: dir, DIRECTOR_HOME: join(dir, '.director') } });

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-tasks-'));
  state = join(dir, 'env', 'state.db');
  const created = await cli('create-env', join(repoRoot, 'test', 'fixtures', 'bad-input', 'env.yml'));
  assert.equal(created.code, 0, created.stderr);
  const mf =
    "---\nname: bosh-local-light\nversion: '7'\nbosh_protocol: '1'\napi_version: 3\noperating_system: ubuntu-jammy\nstemcell_formats:\n- local\ncloud_properties: {}\n";
  await writeFile(
    join(dir, 'light.tgz'),
    packTgz([
      { path: 'stemcell.MF', mode: 0o644, data: Buffer.from(mf) },
      { path: 'image', mode: 0o644, data: Buffer.alloc(0) },
    ]),
  );
  const uploaded = await cli('upload-stemcell', join(dir, 'light.tgz'));
  assert.equal(uploaded.code, 0, uploaded.stderr);
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('task without an id is the last task; --debug shows every CPI call with its arguments, duration and answer; --cpi only those; --result the result', async () => {
  const last = await cli('task');
  assert.equal(last.code, 0, last.stderr);
  const id = /^Task (\d+)\n/.exec(last.stdout)?.[1];
  assert.ok(id, last.stdout);
  assert.match(last.stdout, /Update stemcell: Uploading stemcell bosh-local-light\/7 to the cloud/);

  const debug = await cli('task', id, '--debug');
  assert.equal(debug.code, 0, debug.stderr);
  assert.match(debug.stdout, new RegExp(`^\\S+ Task ${id} 'create stemcell' started by admin \\(pid \\d+ on `));
  assert.match(debug.stdout, /\S+ CPI 'info' request: \[\]\n\S+ CPI 'info' response \(\d+\.\d ms\): \{/);
  assert.match(
    debug.stdout,
    /CPI 'create_stemcell' request: \[".*image",\{.*"name":"bosh-local-light","version":"7","os":"ubuntu-jammy"\}\]\n\S+ CPI 'create_stemcell' response \(\d+\.\d ms\): "[^"]+"/,
  );

  const cpi = await cli('task', id, '--cpi');
  const lines = cpi.stdout.trimEnd().split('\n');
  assert.ok(lines.length >= 4, cpi.stdout);
  for (const l of lines) assert.match(l, /^\S+ CPI '/);

  assert.equal((await cli('task', id, '--result')).stdout, 'ok\n');
  const none = await cli('task', '999');
  assert.deepEqual([none.code, none.stderr], [1, 'Error: Task 999 does not exist\n']);
});

test('tasks --recent alone shows 30 (as bosh-cli), --recent N that many; a bad count is one clear line', async () => {
  for (const args of [['--recent'], ['-r', '30'], []]) {
    const r = await cli('tasks', ...args, '--json');
    assert.equal(r.code, 0, r.stderr);
    assert.ok(JSON.parse(r.stdout).Tables[0].Rows.length >= 2, args.join(' '));
  }
  const one = await cli('tasks', '--recent', '1', '--json');
  assert.equal(JSON.parse(one.stdout).Tables[0].Rows.length, 1);
  const bad = await cli('tasks', '--recent', 'lots');
  assert.deepEqual(
    [bad.code, bad.stderr],
    [1, "Error: Expected --recent to be a whole number of tasks, found 'lots'\n"],
  );
});

test('cancel-task cancels a queued task and refuses a finished one', async () => {
  const store = openStateStore(state);
  const queued = store.tasks.create({ description: 'waiting', user: 'admin' });
  store.close();
  const r = await cli('cancel-task', String(queued.id));
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, new RegExp(`^Task ${queued.id} is cancelled\n`));
  const again = await cli('cancel-task', String(queued.id));
  assert.deepEqual(
    [again.code, again.stderr],
    [1, `Error: Task ${queued.id} is not in a cancellable state: it is cancelled\n`],
  );
});

test('a failed CPI call is in the debug log with its whole error chain; secrets in arguments are redacted', async () => {
  const lines: string[] = [];
  const sink = new TaskDebugSink();
  const detach = sink.attach((l) => lines.push(l));
  const failing = {
    deleteVm: () => Promise.reject(wrap('Deleting VM vm-1', new Error('the cloud said no'))),
  } as unknown as Cpi;
  await assert.rejects(debugCpi(failing, sink).deleteVm('vm-1'));
  detach();
  sink.write('after detach: dropped');
  assert.equal(lines[0], 'CPI \'delete_vm\' request: ["vm-1"]');
  assert.match(lines[1]!, /^CPI 'delete_vm' failed \(\d+\.\d ms\): Deleting VM vm-1: the cloud said no$/);
  assert.equal(lines.length, 2);
  const recorded: string[] = [];
  const agentSink = new TaskDebugSink();
  agentSink.attach((l) => recorded.push(l));
  const dialer: AgentDialer = {
    agent: () => ({ getState: () => Promise.resolve({ state: 'running', jobs: [] }) }) as unknown as InstanceAgent,
    closeAll: () => Promise.resolve(),
  };
  await debugAgents(dialer, agentSink)
    .agent({ address: '127.0.0.1', hostPublicKey: 'k', agentId: 'a1', instance: 'worker/u1 (0)' })
    .getState({ vitals: true });
  assert.equal(recorded[0], "Agent 'get_state' to instance 'worker/u1 (0)' (agent a1) request: [{\"vitals\":true}]");
  assert.match(
    recorded[1]!,
    /^Agent 'get_state' to instance 'worker\/u1 \(0\)' \(agent a1\) response \(\d+\.\d ms\): \{"state":"running","jobs":\[\]\}$/,
  );
  const applied: string[] = [];
  const applySink = new TaskDebugSink();
  applySink.attach((l) => applied.push(l));
  const applying: AgentDialer = {
    agent: () => ({ apply: () => Promise.resolve() }) as unknown as InstanceAgent,
    closeAll: () => Promise.resolve(),
  };
  const job = {
    name: 'etcd',
    release: 'kubo',
    releaseVersion: '1',
    templates: { 'config/key.pem': 'SECRET PEM' },
    packages: { etcd: 'sha' },
    processes: [],
    digest: 'd1',
  };
  await debugAgents(applying, applySink)
    .agent({ address: '127.0.0.1', hostPublicKey: 'k', agentId: 'a2' })
    .apply([job]);
  assert.equal(
    applied[0],
    'Agent \'apply\' to agent a2 request: [[{"name":"etcd","release":"kubo/1","templates":["config/key.pem"],"packages":["etcd"],"digest":"d1"}]]',
  );
  assert.ok(!applied.join('\n').includes('SECRET'), 'rendered template contents never reach the debug log');
  assert.equal(
    debugValue([{ user: 'vcap', password: 'hunter2', nested: { private_key: 'PEM', client_secret: 's' } }]),
    '[{"user":"vcap","password":"<redacted>","nested":{"private_key":"<redacted>","client_secret":"<redacted>"}}]',
  );
});

test('Ctrl-C during a task prints its number and what it left under way, and records it cancelled', async () => {
  const script = `
    import { runTask } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'src', 'cli', 'task-runner.js')).href)};
    import { openStateStore } from ${JSON.stringify(pathToFileURL(join(repoRoot, 'dist', 'src', 'state', 'index.js')).href)};
    const store = openStateStore(${JSON.stringify(state)});
    await runTask({ store, clock: { now: () => new Date() }, out: process.stdout, description: 'create deployment', deployment: 'ctrl-c', locks: ['deployment:ctrl-c'] }, (task) =>
      task.step('Creating missing vms', 'worker/0b5e (0)', () => new Promise(() => { process.stdout.write('waiting\\n'); setInterval(() => {}, 1000); })));
  `;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()));
  await new Promise<void>((resolve) =>
    child.stdout.on('data', (c: Buffer) => {
      out += c.toString();
      if (out.includes('waiting\n')) resolve();
    }),
  );
  child.kill('SIGINT');
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  assert.equal(code, 130, err);
  const id = /^Task (\d+)\n/.exec(out)?.[1];
  assert.ok(id, out);
  assert.match(
    out,
    new RegExp(
      `\nTask ${id} interrupted: recorded as cancelled; it left under way: Creating missing vms: worker/0b5e \\(0\\)\\.\n`,
    ),
  );
  const store = openStateStore(state);
  try {
    assert.equal(store.tasks.get(Number(id))?.state, 'cancelled');
    assert.deepEqual(
      store.locks.list().filter((l) => l.taskId === Number(id)),
      [],
      'its locks are released',
    );
  } finally {
    store.close();
  }
});

test('errands lists the errand groups of the manifest as deployed; an unknown deployment is an error', async () => {
  const store = openStateStore(state);
  try {
    store.deployments.ensure('with-errands');
    store.deployments.recordDeployed(
      'with-errands',
      'name: with-errands\ninstance_groups:\n- name: web\n  lifecycle: service\n- name: smoke-tests\n  lifecycle: errand\n- name: migrate\n  lifecycle: errand\n',
      null,
    );
  } finally {
    store.close();
  }
  const r = await cli('errands', '-d', 'with-errands', '--json');
  assert.equal(r.code, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout).Tables[0].Rows, [{ name: 'smoke-tests' }, { name: 'migrate' }]);
  const none = await cli('-d', 'nope', 'errands');
  assert.deepEqual([none.code, none.stderr], [1, "Error: Deployment 'nope' does not exist\n"]);
});
