// `deploy` writes nothing until the operator says yes: a dry run, a JSON plan and an answer of
// "n" leave the state file byte for byte as it was (variables generated for the plan are held in
// memory, the deployment row is not made). Through the CLI, in-process, on the local CPI; no VM
// is ever made, so nothing here starts a process.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore } from '../../../src/state/index.js';
import { runCli } from '../../helpers/cli.js';

let dir: string;
let state: string;
const env = () => ({ HOME: dir, DIRECTOR_HOME: join(dir, '.director') });
const cli = (args: string[], opts: { stdin?: string; interactive?: boolean } = {}) =>
  runCli([...args, '--state', state], { cwd: dir, env: env(), ...opts });

/** The state file and its WAL, hashed: what "byte-identical" is checked against. */
function stateHash(): string {
  const h = createHash('sha256');
  for (const f of [state, `${state}-wal`]) h.update(existsSync(f) ? readFileSync(f) : Buffer.from('absent'));
  return h.digest('hex');
}

async function write(path: string, text: string): Promise<void> {
  await mkdir(join(path, '..'), { recursive: true });
  await writeFile(path, text);
}

const manifest = (instanceType: string) =>
  [
    'name: dry',
    'releases: [{name: tiny, version: latest}]',
    'stemcells: [{alias: default, os: ubuntu-jammy, version: latest}]',
    'update: {canaries: 1, max_in_flight: 1, canary_watch_time: 1000, update_watch_time: 1000}',
    'instance_groups:',
    '- name: app',
    '  instances: 2',
    '  azs: [z1]',
    `  vm_type: ${instanceType}`,
    '  stemcell: default',
    '  networks: [{name: default}]',
    '  jobs: [{name: app, release: tiny, properties: {password: ((app_password))}}]',
    'variables:',
    '- {name: app_password, type: password}',
    '',
  ].join('\n');

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-dry-run-'));
  state = join(dir, 'env', 'state.db');
  await write(
    join(dir, 'env.yml'),
    `name: dry\ncpi:\n  type: local\n  properties:\n    ssh_port: 2222\n    load_balancers: {}\nstemcell:\n  name: bosh-local-ubuntu-jammy\n  os: ubuntu-jammy\n  version: "1.0"\n  cloud_properties: {}\ncloud_config:\n  azs: [{name: z1}]\n  vm_types: [{name: small, cloud_properties: {instance_type: a}}, {name: large, cloud_properties: {instance_type: b}}]\n  networks: [{name: default, type: manual, subnets: [{range: 127.12.0.0/24, gateway: 127.12.0.1, azs: [z1]}]}]\n  compilation: {workers: 1, network: default, az: z1, vm_type: small}\n`,
  );
  await write(join(dir, 'release', 'release.yml'), 'name: tiny\nversion: "1"\n');
  await write(
    join(dir, 'release', 'jobs', 'app', 'spec.yml'),
    'name: app\ntemplates:\n  config.ejs: config/app.conf\npackages: []\nproperties:\n  password: {}\n',
  );
  await write(join(dir, 'release', 'jobs', 'app', 'templates', 'config.ejs'), 'password=<%= p("password") %>\n');
  await write(join(dir, 'manifest.yml'), manifest('small'));
  for (const args of [
    ['create-env', join(dir, 'env.yml')],
    ['upload-release', join(dir, 'release')],
  ]) {
    const r = await cli(args);
    assert.equal(r.code, 0, `${args[0]}: ${r.stderr}`);
  }
});

after(async () => {
  await rm(dir, { recursive: true, force: true });
});

test('deploy --dry-run prints the plan and leaves the state file byte-identical', async () => {
  const before = stateHash();
  const r = await cli(['deploy', '-d', 'dry', join(dir, 'manifest.yml'), '--dry-run']);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /\+ {3}app\/[0-9a-f-]{36} \(0\) {2}create/);
  assert.match(r.stdout, /Plan: 2 to create, 0 to recreate, 0 to update, 0 to delete, 0 unchanged\./);
  assert.match(r.stdout, /Dry run: nothing was changed\./);
  assert.equal(stateHash(), before);
  const s = openStateStore(state);
  try {
    assert.equal(s.deployments.get('dry'), undefined, 'no deployment row');
    assert.deepEqual(s.variables.list('dry'), [], 'no generated variable');
  } finally {
    s.close();
  }
});

test('deploy --dry-run --json prints the plan alone on stdout: each instance, its changes and steps', async () => {
  const before = stateHash();
  const r = await cli(['deploy', '-d', 'dry', join(dir, 'manifest.yml'), '--dry-run', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const plan = JSON.parse(r.stdout) as {
    deployment: string;
    instances: { instance: string; action: string; steps: { kind: string }[] }[];
    summary: Record<string, number>;
  };
  assert.equal(plan.deployment, 'dry');
  assert.deepEqual(
    plan.instances.map((i) => i.action),
    ['create', 'create'],
  );
  assert.deepEqual(
    plan.instances[0]!.steps.map((s) => s.kind),
    ['create_vm', 'apply', 'pre_start', 'start', 'watch', 'post_start', 'record_state'],
  );
  assert.match(r.stderr, /Dry run: nothing was changed\./);
  assert.equal(stateHash(), before);
});

test('an answer of "n" stops the deploy and leaves the state file byte-identical', async () => {
  const before = stateHash();
  const r = await cli(['deploy', '-d', 'dry', join(dir, 'manifest.yml')], { stdin: 'n\n', interactive: true });
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /Continue\? \[yN\]: /);
  assert.match(r.stdout, /Stopped/);
  assert.equal(stateHash(), before);
});
