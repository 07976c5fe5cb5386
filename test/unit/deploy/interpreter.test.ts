// The step interpreter on its own: real planner, real state store (SQLite in a temporary
// folder), a real uploaded release, and the recording CPI and agents of test/fakes in place of
// the cloud and the VMs. No SSH, no process: the whole file runs in a few seconds. It checks what
// the deploy engine does and in which order (canaries, batches, creation pool), the intent rule
// around each CPI call, failures in the middle of a stage, recreate with a persistent disk, disk
// migration, and lifecycle commands as restricted step lists.
import { after, before, beforeEach, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EnvironmentCpi } from '../../../cpi/environment.js';
import { Director } from '../../../src/deploy/director.js';
import { parseInstanceSelector } from '../../../src/deploy/instance-selector.js';
import { startInstances, stopInstances } from '../../../src/deploy/lifecycle.js';
import { Task } from '../../../src/deploy/task.js';
import { formatErrorChain } from '../../../src/errors.js';
import { parseYaml } from '../../../src/manifest/yaml.js';
import { openBlobstore, type Blobstore } from '../../../src/release/blobstore.js';
import { uploadRelease } from '../../../src/release/upload-release.js';
import { openStateStore, type StateStore } from '../../../src/state/index.js';
import { RecordingAgents } from '../../fakes/recording-agents.js';
import { RecordingCpi } from '../../fakes/recording-cpi.js';

let dir: string;
let store: StateStore;
let blobstore: Blobstore;
let cpi: RecordingCpi;
let agents: RecordingAgents;
let deployments = 0;

const CLOUD = `azs: [{name: z1}]
vm_types:
- {name: small, cloud_properties: {instance_type: a}}
- {name: large, cloud_properties: {instance_type: b}}
networks: [{name: default, type: manual, subnets: [{range: 127.13.0.0/24, gateway: 127.13.0.1, azs: [z1]}]}]
compilation: {workers: 1, network: default, az: z1, vm_type: small}
`;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-interpreter-'));
  store = openStateStore(join(dir, 'state.db'));
  blobstore = openBlobstore(join(dir, 'blobs'));
  store.environment.create({
    name: 'unit',
    directorUuid: 'dir-uuid',
    cpiType: 'local',
    cpiProperties: {},
    sshKey: { privateKey: 'x', publicKey: 'ssh-ed25519 AAAA' },
  });
  store.stemcells.add({
    name: 'bosh-local-ubuntu-jammy',
    version: '1.0',
    os: 'ubuntu-jammy',
    cid: 'sc-1',
    cpi: 'local',
  });
  store.cloudConfigs.update(CLOUD);
  const w = async (rel: string, text: string) => {
    await mkdir(join(dir, 'release', rel, '..'), { recursive: true });
    await writeFile(join(dir, 'release', rel), text);
  };
  await w('release.yml', 'name: tiny\nversion: "1"\n');
  await w(
    'jobs/app/spec.yml',
    'name: app\ntemplates:\n  config.ejs: config/app.conf\npackages: []\nproperties:\n  greeting: {default: hello}\n',
  );
  await w('jobs/app/templates/config.ejs', 'greeting=<%= p("greeting") %>\n');
  await uploadRelease(join(dir, 'release'), store, blobstore);
});

after(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

beforeEach(() => {
  cpi = new RecordingCpi();
  agents = new RecordingAgents();
});

function director(): Director {
  const environment = store.environment.get()!;
  const envCpi: EnvironmentCpi = {
    cpi,
    sshPort: 22,
    findVmByAgentId: async (agentId) => [...cpi.vms].find(([, v]) => v.agentId === agentId)?.[0],
    findStemcell: async () => undefined,
    teardown: async () => undefined,
  };
  return new Director({ store, environment, cpi: envCpi, agents, blobstore, sleep: async () => undefined });
}

interface Group {
  readonly name: string;
  readonly instances: number;
  readonly vmType?: string;
  readonly disk?: number;
  readonly greeting?: string;
}

function manifest(name: string, groups: readonly Group[], update = 'canaries: 1, max_in_flight: 1'): string {
  return [
    `name: ${name}`,
    'releases: [{name: tiny, version: latest}]',
    'stemcells: [{alias: default, os: ubuntu-jammy, version: latest}]',
    `update: {${update}, canary_watch_time: 1000, update_watch_time: 1000}`,
    'instance_groups:',
    ...groups.flatMap((g) => [
      `- name: ${g.name}`,
      `  instances: ${g.instances}`,
      '  azs: [z1]',
      `  vm_type: ${g.vmType ?? 'small'}`,
      '  stemcell: default',
      ...(g.disk ? [`  persistent_disk: ${g.disk}`] : []),
      '  networks: [{name: default}]',
      `  jobs: [{name: app, release: tiny, properties: {greeting: ${g.greeting ?? 'hello'}}}]`,
    ]),
    '',
  ].join('\n');
}

function newTask(deployment: string): Task {
  const t = store.tasks.create({ description: 'unit', deployment, user: 'admin' });
  store.tasks.start(t.id);
  return new Task(t.id, store, { now: () => new Date() }, { started: () => undefined, finished: () => undefined });
}

/** Plans and applies a manifest; returns the task and the plan's text. */
async function deploy(text: string, opts: { vmCreationPool?: number } = {}): Promise<{ task: Task; planText: string }> {
  const d = director();
  const name = /^name: (\S+)/.exec(text)![1]!;
  const prepared = await d.prepare(name, parseYaml(text, 'manifest'), { get: () => undefined, names: () => [] }, {});
  const task = newTask(name);
  await d.apply(prepared, task, opts);
  return { task, planText: prepared.planText };
}

/** A fresh deployment name, so the tests do not see each other's instances. */
const fresh = () => `d${++deployments}`;

/** `stage: task` of each step that started, in order. */
function started(task: Task): string[] {
  return store.tasks
    .events(task.id)
    .filter((e) => e.state === 'started')
    .map((e) => `${e.stage}: ${e.task.replace(/\/[0-9a-f-]{36} /, '/')}`);
}

function instanceOf(deployment: string, group: string, index: number) {
  const i = store.instances.list(deployment).find((x) => x.group === group && x.index === index);
  assert.ok(i, `${group}/${index} of ${deployment}`);
  return i;
}

function vmOf(uuid: string) {
  return store.vms.listByInstance(uuid).find((v) => v.state === 'created' && v.cid);
}

test('a fresh deploy creates every VM first, then updates canaries, then batches, group by group', async () => {
  const name = fresh();
  const { task } = await deploy(
    manifest(name, [
      { name: 'a', instances: 3 },
      { name: 'b', instances: 1 },
    ]),
  );
  const steps = started(task);
  assert.deepEqual(steps, [
    'Preparing deployment: Preparing deployment',
    'Creating missing vms: a/(0)',
    'Creating missing vms: a/(1)',
    'Creating missing vms: a/(2)',
    'Creating missing vms: b/(0)',
    'Updating instance a: a/(0) (canary)',
    'Updating instance a: a/(1)',
    'Updating instance a: a/(2)',
    'Updating instance b: b/(0) (canary)',
  ]);
  assert.deepEqual(cpi.log('create_vm').length, 4);
  const a0 = vmOf(instanceOf(name, 'a', 0).uuid)!;
  // A new VM: bootstrapped in the creation stage, then its jobs applied, started and watched.
  assert.deepEqual(agents.of(a0.agentId), [
    'bootstrap',
    'apply',
    'runScript pre-start',
    'start',
    'getState',
    'runScript post-start',
  ]);
  assert.equal(instanceOf(name, 'a', 0).state, 'started');
  assert.deepEqual(Object.keys((instanceOf(name, 'a', 0).appliedSpec as { jobs: object }).jobs), ['app']);
});

test('each VM and disk is recorded as an intent before the CPI call that makes it, and completed after', async () => {
  const name = fresh();
  const seen: string[] = [];
  cpi.during = (c) => {
    if (c.method === 'create_vm') {
      const row = store.vms.listIncomplete().find((v) => v.agentId === c.subject);
      seen.push(`create_vm: ${row?.state} cid=${row?.cid}`);
    }
    if (c.method === 'create_disk') seen.push(`create_disk: ${store.disks.listIncomplete().length} intent`);
  };
  await deploy(manifest(name, [{ name: 'a', instances: 1, disk: 1024 }]));
  assert.deepEqual(seen, ['create_vm: intent cid=null', 'create_disk: 1 intent']);
  assert.deepEqual(store.vms.listIncomplete(), []);
  assert.deepEqual(store.disks.listIncomplete(), []);
  const a0 = instanceOf(name, 'a', 0);
  const disk = store.disks.listByInstance(a0.uuid)[0]!;
  assert.equal(disk.active, true);
  assert.equal(disk.state, 'attached');
  assert.deepEqual(agents.of(vmOf(a0.uuid)!.agentId), [
    'bootstrap',
    `mountDisk ${disk.cid}`,
    'apply',
    'runScript pre-start',
    'start',
    'getState',
    'runScript post-start',
  ]);
});

test('a create_vm failure in the creation pool: the VM made before it is recorded, the error names the instance and step', async () => {
  const name = fresh();
  let n = 0;
  cpi.failWhen('create_vm', 'quota exceeded', () => ++n === 2);
  const err = await deploy(manifest(name, [{ name: 'w', instances: 2 }]), { vmCreationPool: 1 }).then(
    () => assert.fail('the deploy should fail'),
    (e: unknown) => e,
  );
  const w1 = instanceOf(name, 'w', 1);
  assert.equal(formatErrorChain(err), `Creating instance 'w/${w1.uuid} (1)': Creating VM: quota exceeded`);
  const w0 = instanceOf(name, 'w', 0);
  assert.ok(vmOf(w0.uuid), 'the first VM is recorded');
  assert.equal(vmOf(w0.uuid)!.cid, [...cpi.vms.keys()][0]);
  assert.deepEqual(store.vms.listByInstance(w1.uuid), [], 'the failed create left no row (the CPI made nothing)');
});

test('a failure in a batch lets the batch finish, names its instance and step, and stops the run', async () => {
  const name = fresh();
  // Both instances in one batch (no canary); the second one's apply fails.
  const text = manifest(name, [{ name: 'w', instances: 3 }], 'canaries: 0, max_in_flight: 2');
  const d = director();
  const prepared = await d.prepare(name, parseYaml(text, 'manifest'), { get: () => undefined, names: () => [] }, {});
  const w1 = prepared.plan.groups[0]!.plans[1]!.desired!;
  agents.failWhen(
    (c) => c.method === 'apply' && store.vms.listByInstance(w1.uuid).some((v) => v.agentId === c.agentId),
    'job template failed',
  );
  const task = newTask(name);
  const err = await d.apply(prepared, task, {}).then(
    () => assert.fail('the deploy should fail'),
    (e: unknown) => e,
  );
  assert.equal(formatErrorChain(err), `Updating instance 'w/${w1.uuid} (1)': Applying jobs: job template failed`);
  assert.equal(instanceOf(name, 'w', 0).state, 'started', 'the other instance of the batch finished');
  assert.ok(
    !started(task).some((s) => s.includes('w/(2)') && s.startsWith('Updating')),
    'the next batch never started',
  );
});

test('a vm_type change prints the attribute before → after and recreates the VM, the persistent disk carried over', async () => {
  const name = fresh();
  await deploy(manifest(name, [{ name: 'm', instances: 1, vmType: 'small', disk: 1024 }]));
  const m0 = instanceOf(name, 'm', 0);
  const oldVm = vmOf(m0.uuid)!;
  const disk = store.disks.listByInstance(m0.uuid)[0]!.cid!;
  cpi.calls.length = 0;
  const { planText } = await deploy(manifest(name, [{ name: 'm', instances: 1, vmType: 'large', disk: 1024 }]));
  assert.match(planText, new RegExp(`-/\\+ m/${m0.uuid} \\(0\\)  recreate \\(cloud properties\\)`));
  assert.match(planText, /~ cloud_properties\.instance_type: "a" → "b" {2}# forces a new VM/);
  const newVm = vmOf(m0.uuid)!;
  assert.notEqual(newVm.cid, oldVm.cid);
  assert.deepEqual(cpi.log('create_vm', 'delete_vm', 'attach_disk', 'detach_disk', 'create_disk'), [
    `detach_disk ${disk}`,
    `delete_vm ${oldVm.cid}`,
    `create_vm ${newVm.agentId}`,
    `attach_disk ${disk}`,
  ]);
  assert.deepEqual(agents.of(oldVm.agentId).slice(-3), ['drain', 'stop', `unmountDisk ${disk}`]);
  assert.deepEqual(agents.of(newVm.agentId), [
    'bootstrap',
    `mountDisk ${disk}`,
    'apply',
    'runScript pre-start',
    'start',
    'getState',
    'runScript post-start',
  ]);
  assert.equal(cpi.vms.get(newVm.cid!)!.cloudProperties['instance_type'], 'b');
  assert.equal(store.disks.listByInstance(m0.uuid)[0]!.cid, disk, 'the same disk, still active');
  // The next plan knows what the VM was made from: nothing changes.
  const again = await deploy(manifest(name, [{ name: 'm', instances: 1, vmType: 'large', disk: 1024 }]));
  assert.match(again.planText, /No instance changes\./);
});

test('a bigger persistent disk is made, attached, the data migrated and the old disk orphaned, on the same VM', async () => {
  const name = fresh();
  await deploy(manifest(name, [{ name: 'e', instances: 1, disk: 1024 }]));
  const e0 = instanceOf(name, 'e', 0);
  const vm = vmOf(e0.uuid)!;
  const old = store.disks.listByInstance(e0.uuid)[0]!.cid!;
  cpi.calls.length = 0;
  const { planText } = await deploy(manifest(name, [{ name: 'e', instances: 1, disk: 2048 }]));
  assert.match(planText, /~ persistent_disk\.size: 1024 → 2048/);
  const now = store.disks.listByInstance(e0.uuid).filter((d) => d.state !== 'orphaned');
  assert.equal(now.length, 1);
  const fresh2 = now[0]!.cid!;
  assert.notEqual(fresh2, old);
  assert.deepEqual(cpi.log('create_vm', 'delete_vm', 'create_disk', 'attach_disk', 'detach_disk'), [
    'create_disk 2048',
    `attach_disk ${fresh2}`,
    `detach_disk ${old}`,
  ]);
  assert.deepEqual(agents.of(vm.agentId).slice(-10), [
    'drain',
    'stop',
    `mountDisk ${fresh2}`,
    `migrateDisk ${old} ${fresh2}`,
    `unmountDisk ${old}`,
    'apply',
    'runScript pre-start',
    'start',
    'getState',
    'runScript post-start',
  ]);
  assert.ok(
    store.disks.listOrphaned().some((d) => d.cid === old),
    'the old disk is an orphan',
  );
  assert.equal(vmOf(e0.uuid)!.cid, vm.cid, 'the VM stays');
});

test('stop --hard and start are restricted step lists: the VM goes, the disk stays, and comes back on a new VM', async () => {
  const name = fresh();
  await deploy(manifest(name, [{ name: 's', instances: 1, disk: 512 }]));
  const s0 = instanceOf(name, 's', 0);
  const vm = vmOf(s0.uuid)!;
  const disk = store.disks.listByInstance(s0.uuid)[0]!.cid!;
  cpi.calls.length = 0;
  await stopInstances(director(), name, parseInstanceSelector('s/0'), newTask(name), { hard: true });
  assert.equal(instanceOf(name, 's', 0).state, 'detached');
  assert.equal(vmOf(s0.uuid), undefined);
  assert.deepEqual(cpi.log('delete_vm', 'detach_disk'), [`detach_disk ${disk}`, `delete_vm ${vm.cid}`]);
  assert.deepEqual(agents.of(vm.agentId).slice(-3), ['drain', 'stop', `unmountDisk ${disk}`]);

  cpi.calls.length = 0;
  await startInstances(director(), name, parseInstanceSelector('s/0'), newTask(name));
  const back = vmOf(s0.uuid)!;
  assert.equal(instanceOf(name, 's', 0).state, 'started');
  assert.deepEqual(cpi.log('create_vm', 'attach_disk'), [`create_vm ${back.agentId}`, `attach_disk ${disk}`]);
  assert.deepEqual(agents.of(back.agentId), [
    'bootstrap',
    `mountDisk ${disk}`,
    'apply',
    'runScript pre-start',
    'start',
    'getState',
    'runScript post-start',
  ]);
});

test('a job that never runs fails the watch with the instance and the step; an agent that cannot stop fails stop with both', async () => {
  const name = fresh();
  agents.state = () => 'failing';
  const err = await deploy(manifest(name, [{ name: 'x', instances: 1 }])).then(
    () => assert.fail('the deploy should fail'),
    (e: unknown) => e,
  );
  const x0 = instanceOf(name, 'x', 0);
  assert.equal(
    formatErrorChain(err),
    `Updating instance 'x/${x0.uuid} (0)': Waiting for jobs to run: 'x/${x0.uuid} (0)' is not running after update. Review logs for failed jobs (state: failing)`,
  );

  const other = fresh();
  agents.state = () => 'running';
  await deploy(manifest(other, [{ name: 'yy', instances: 1 }]));
  agents.failWhen((c) => c.method === 'stop', 'stop refused');
  const stopErr = await stopInstances(director(), other, parseInstanceSelector('yy'), newTask(other), {
    skipDrain: true,
  }).then(
    () => assert.fail('stop should fail'),
    (e: unknown) => e,
  );
  assert.equal(
    formatErrorChain(stopErr),
    `Stopping instance 'yy/${instanceOf(other, 'yy', 0).uuid} (0)': Stopping jobs: stop refused`,
  );
  assert.equal(instanceOf(other, 'yy', 0).state, 'started', 'a stop that failed records nothing');
});
