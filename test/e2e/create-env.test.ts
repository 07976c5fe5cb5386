import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { openStateStore, processStartTime, ENVIRONMENT_LOCK } from '../../src/state/index.js';
import { repoRoot, runDirector, startDirector } from '../helpers/director-process.js';

let home: string;
let env: Record<string, string>;

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'director-create-env-'));
  env = { HOME: home, DIRECTOR_HOME: join(home, '.director') };
});

after(async () => {
  // Leave nothing: delete-env removes what create-env made (it started no VMs).
  await runDirector(['delete-env', '-n'], env);
  await rm(home, { recursive: true, force: true });
});

const statePath = () => join(home, '.director', 'local', 'state.db');

test('create-env records the environment; env shows it; a second run changes nothing', async () => {
  const first = await runDirector(['create-env', join(repoRoot, 'manifests', 'env.yml')], env);
  assert.equal(first.code, 0, first.stderr);
  assert.match(
    first.stdout,
    /Task 1 \| \d\d:\d\d:\d\d \| Uploading stemcell: bosh-local-ubuntu-jammy\/1\.0 \(00:00:0\d\)/,
  );
  assert.match(first.stdout, /identity, stemcell, cloud-config recorded/);
  assert.equal((await stat(statePath())).mode & 0o777, 0o600);

  const shown = await runDirector(['env'], env);
  assert.equal(shown.code, 0, shown.stderr);
  assert.match(shown.stdout, /^Name\s+local$/m);
  assert.match(shown.stdout, /^CPI\s+local_cpi$/m);
  assert.match(shown.stdout, /^Cloud-Config\s+version 1$/m);

  const second = await runDirector(['create-env', join(repoRoot, 'manifests', 'env.yml')], env);
  assert.equal(second.code, 0, second.stderr);
  assert.match(second.stdout, /: no changes/);
  const store = openStateStore(statePath());
  try {
    assert.equal(store.cloudConfigs.list().length, 1);
    assert.equal(store.stemcells.list().length, 1);
  } finally {
    store.close();
  }
  const json = await runDirector(['stemcells', '--json'], env);
  assert.equal(JSON.parse(json.stdout).Tables[0].Rows[0].name, 'bosh-local-ubuntu-jammy');
});

test('a second create-env while one runs is refused, naming the task that holds the lock', async () => {
  const store = openStateStore(statePath());
  const task = store.tasks.create({ description: 'create environment', user: 'admin' });
  store.locks.acquire(ENVIRONMENT_LOCK, task.id, {
    holder: { pid: process.pid, hostname: hostname(), processStart: processStartTime(process.pid) },
  });
  try {
    const r = await runDirector(['create-env', join(repoRoot, 'manifests', 'env.yml')], env);
    assert.equal(r.code, 1);
    assert.match(
      r.stderr,
      new RegExp(
        `^Error: Environment is being changed by task ${task.id} \\(${userInfo().username}@${hostname()}, pid ${process.pid}, since `,
      ),
    );
    assert.equal(r.stderr.trim().split('\n').length, 1);
  } finally {
    store.locks.release(ENVIRONMENT_LOCK, task.id);
    store.tasks.finish(task.id, 'done', 'ok');
    store.close();
  }
});

test('bad input is one line naming the file and path, and changes nothing', async () => {
  const before = (await stat(statePath())).mtimeMs;
  const r = await runDirector(
    [
      'create-env',
      join(repoRoot, 'manifests', 'env.yml'),
      '-o',
      join(repoRoot, 'test', 'fixtures', 'ops', 'bad-env.yml'),
    ],
    env,
  );
  assert.equal(r.code, 1);
  assert.equal(r.stderr.trim().split('\n').length, 1);
  assert.match(r.stderr, /bad-env\.yml/);
  assert.equal((await stat(statePath())).mtimeMs, before);
});

test('a create-env killed midway completes on the next run with nothing leaked', async () => {
  const fresh = { ...env, DIRECTOR_HOME: join(home, '.director-killed') };
  const run = startDirector(['create-env', join(repoRoot, 'manifests', 'env.yml')], fresh);
  // Kill it as soon as it is working on the stemcell (before or after the CPI answered).
  for (let i = 0; i < 400 && !/Uploading stemcell/.test(run.stdout()); i++) await new Promise((r) => setTimeout(r, 5));
  run.child.kill('SIGKILL');
  await run.done;
  const again = await runDirector(['create-env', join(repoRoot, 'manifests', 'env.yml')], fresh);
  assert.equal(again.code, 0, again.stderr);
  const root = join(home, '.director-killed', 'local', 'local', 'stemcells');
  assert.equal(
    (await readdir(root)).filter((f) => f.endsWith('.json')).length,
    1,
    'exactly one stemcell registered with the CPI',
  );
  const store = openStateStore(join(home, '.director-killed', 'local', 'state.db'));
  try {
    assert.equal(store.stemcells.list().length, 1);
    assert.equal(store.locks.list().length, 0);
  } finally {
    store.close();
  }
  const del = await runDirector(['delete-env', '-n'], fresh);
  assert.equal(del.code, 0, del.stderr);
  await assert.rejects(stat(join(home, '.director-killed', 'local', 'state.db')));
});
