// stop, start and restart follow the deployment's update policy, as a deploy does: driven through
// the real lifecycle code, the real state store and the real local CPI (never called for these),
// with the recording agents of test/fakes in place of the VMs' agents. The batches are read back from
// the task's recorded events: the instances of one batch all start before any of them finishes,
// and the next batch starts only when the whole batch has finished.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Director } from '../../../src/deploy/director.js';
import { parseInstanceSelector } from '../../../src/deploy/instance-selector.js';
import {
  restartInstances,
  startInstances,
  stopInstances,
  type LifecycleOptions,
} from '../../../src/deploy/lifecycle.js';
import type { AgentDialer } from '../../../src/deploy/ports.js';
import { parseUpdateOverrides } from '../../../src/deploy/schedule.js';
import { Task } from '../../../src/deploy/task.js';
import { parseLocalCpiConfig } from '../../../cpi/local/config.js';
import { localEnvironmentCpi } from '../../../cpi/local/environment.js';
import { formatErrorChain } from '../../../src/errors.js';
import { openBlobstore } from '../../../src/release/blobstore.js';
import { openStateStore, type StateStore } from '../../../src/state/index.js';
import { RecordingAgents } from '../../fakes/recording-agents.js';

let dir: string;
let store: StateStore;
let nextIp = 10;

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'director-lifecycle-order-'));
  store = openStateStore(join(dir, 'state.db'));
  store.environment.create({
    name: 'local',
    directorUuid: 'dir-uuid',
    cpiType: 'local',
    cpiProperties: { root: join(dir, 'local'), ssh_port: 2222, load_balancers: {} },
    sshKey: { privateKey: 'x', publicKey: 'y' },
  });
});

after(async () => {
  store.close();
  await rm(dir, { recursive: true, force: true });
});

function directorWith(agents: AgentDialer): Director {
  const environment = store.environment.get()!;
  return new Director({
    store,
    environment,
    cpi: localEnvironmentCpi(parseLocalCpiConfig(environment.cpiProperties), environment.directorUuid),
    agents,
    blobstore: openBlobstore(join(dir, 'blobs')),
    sleep: async () => undefined,
  });
}

/**
 * A deployed deployment: its recorded manifest (`update` given as YAML lines) and, for each
 * group, `size` instances with a VM each, in `state`. Instance uuids are `NAME-GROUP-INDEX`, the
 * agent ids the same with `agent-` in front.
 */
function deployed(
  name: string,
  update: string,
  groups: { name: string; size: number; update?: string; state?: 'started' | 'stopped' }[],
  extra = '',
): void {
  const manifest = [
    `name: ${name}`,
    'update:',
    ...update.split('\n').map((l) => `  ${l}`),
    'instance_groups:',
    ...groups.flatMap((g) => [
      `- name: ${g.name}`,
      `  instances: ${g.size}`,
      ...(g.update ? ['  update:', ...g.update.split('\n').map((l) => `    ${l}`)] : []),
      '  jobs: []',
    ]),
    extra,
  ].join('\n');
  store.deployments.ensure(name);
  store.deployments.recordDeployed(name, manifest, null);
  for (const g of groups) {
    for (let index = 0; index < g.size; index++) {
      const uuid = `${name}-${g.name}-${index}`;
      store.instances.create({
        deployment: name,
        group: g.name,
        index,
        uuid,
        az: 'z1',
        bootstrap: index === 0,
        state: g.state ?? 'started',
      });
      store.instances.setDesiredSpec(uuid, { lifecycle: 'service' });
      store.vms.recordIntent({
        agentId: `agent-${uuid}`,
        instance: uuid,
        stemcellCid: null,
        ips: [`127.20.0.${nextIp++}`],
        cloudProperties: {},
        hostPublicKey: 'ssh-ed25519 AAAA',
      });
      store.vms.complete(`agent-${uuid}`, `vm-${uuid}`);
    }
  }
}

function task(deployment: string): Task {
  const t = store.tasks.create({ description: 'lifecycle', deployment, user: 'admin' });
  store.tasks.start(t.id);
  return new Task(t.id, store, { now: () => new Date() }, { started: () => undefined, finished: () => undefined });
}

/** `GROUP/INDEX`, with `*` for a canary, from a step's task text `GROUP/UUID (INDEX)[ (canary)]`. */
function short(text: string): string {
  const m = /^([\w-]+)\/\S+ \((\d+)\)( \(canary\))?$/.exec(text);
  assert.ok(m, text);
  return `${m[1]}/${m[2]}${m[3] ? '*' : ''}`;
}

/** The update steps of a task, in order: `+g/0*` started, `-g/0*` finished, `!g/0*` failed. */
function steps(t: Task): string[] {
  return store.tasks
    .events(t.id)
    .filter((e) => e.stage.startsWith('Updating instance '))
    .map((e) => `${e.state === 'started' ? '+' : e.state === 'finished' ? '-' : '!'}${short(e.task)}`);
}

/** Each group's batches: maximal runs of its steps starting, in the order they ran. */
function batches(t: Task): Record<string, string[][]> {
  const out: Record<string, string[][]> = {};
  const open: Record<string, boolean> = {};
  for (const s of steps(t)) {
    const group = s.slice(1).split('/')[0]!;
    if (s.startsWith('+')) {
      if (!open[group]) (out[group] ??= []).push([]);
      out[group]!.at(-1)!.push(s.slice(1));
      open[group] = true;
    } else {
      open[group] = false;
    }
  }
  return out;
}

async function run(
  fn: typeof stopInstances,
  name: string,
  slug: string | undefined,
  agents: RecordingAgents,
  opts: LifecycleOptions = {},
): Promise<Task> {
  const t = task(name);
  await fn(directorWith(agents), name, parseInstanceSelector(slug), t, opts);
  return t;
}

test('stop: canaries 1 and max_in_flight 2 give a canary, then batches of two', async () => {
  deployed('d1', 'canaries: 1\nmax_in_flight: 2', [{ name: 'w', size: 5 }]);
  const agents = new RecordingAgents();
  const t = await run(stopInstances, 'd1', undefined, agents);
  assert.deepEqual(batches(t), { w: [['w/0*'], ['w/1', 'w/2'], ['w/3', 'w/4']] });
  // Each instance was drained, then stopped, and is recorded stopped.
  for (let i = 0; i < 5; i++) {
    const calls = agents.calls.filter((c) => c.startsWith(`agent-d1-w-${i}:`));
    assert.deepEqual(calls, [`agent-d1-w-${i}:drain`, `agent-d1-w-${i}:stop`]);
  }
  assert.deepEqual(
    store.instances.list('d1').map((i) => i.state),
    ['stopped', 'stopped', 'stopped', 'stopped', 'stopped'],
  );
});

test('start: only the instances that change take turns, the first of them the canary', async () => {
  deployed('d2', 'canaries: 1\nmax_in_flight: 2', [{ name: 'w', size: 4, state: 'stopped' }]);
  store.instances.update('d2-w-0', { state: 'started' });
  const agents = new RecordingAgents();
  const t = await run(startInstances, 'd2', 'w', agents);
  assert.deepEqual(batches(t), { w: [['w/1*'], ['w/2', 'w/3']] });
  assert.equal(
    agents.calls.some((c) => c.startsWith('agent-d2-w-0:')),
    false,
    'a started instance is left alone',
  );
  assert.deepEqual(
    store.instances.list('d2').map((i) => i.state),
    ['started', 'started', 'started', 'started'],
  );
});

test('percentages are of the group size; a group update is merged over the deployment one; flags override both', async () => {
  deployed('d3', 'canaries: 2\nmax_in_flight: 40%\nserial: true', [
    { name: 'a', size: 5 },
    { name: 'b', size: 4, update: 'canaries: 0\nmax_in_flight: 75%' },
  ]);
  let t = await run(restartInstances, 'd3', undefined, new RecordingAgents());
  // a: 40% of 5 is 2, two canaries in one batch; b: no canaries, 75% of 4 is 3.
  assert.deepEqual(batches(t), { a: [['a/0*', 'a/1*'], ['a/2', 'a/3'], ['a/4']], b: [['b/0', 'b/1', 'b/2'], ['b/3']] });

  // --canaries 1 --max-in-flight 50%: over both groups' own settings; 50% of 5 is 2, of 4 is 2.
  t = await run(
    restartInstances,
    'd3',
    undefined,
    new RecordingAgents(),
    parseUpdateOverrides({ canaries: '1', maxInFlight: '50%' }),
  );
  assert.deepEqual(batches(t), {
    a: [['a/0*'], ['a/1', 'a/2'], ['a/3', 'a/4']],
    b: [['b/0*'], ['b/1', 'b/2'], ['b/3']],
  });

  // A percentage below one instance still lets one through.
  t = await run(restartInstances, 'd3', 'b', new RecordingAgents(), parseUpdateOverrides({ maxInFlight: '10%' }));
  assert.deepEqual(batches(t), { b: [['b/0'], ['b/1'], ['b/2'], ['b/3']] });
});

test('serial groups run alone in manifest order; consecutive serial: false groups run at once', async () => {
  deployed('d4', 'canaries: 1\nmax_in_flight: 1', [
    { name: 'a', size: 2 },
    { name: 'b', size: 2, update: 'serial: false' },
    { name: 'c', size: 2, update: 'serial: false' },
    { name: 'd', size: 1 },
  ]);
  const t = await run(restartInstances, 'd4', undefined, new RecordingAgents());
  const s = steps(t);
  const first = (x: string) => s.findIndex((e) => e.startsWith(`+${x}/`));
  const last = (x: string) => s.findLastIndex((e) => e.startsWith(`-${x}/`));
  assert.ok(last('a') < first('b'), `a finishes before b starts: ${s.join(' ')}`);
  assert.ok(first('c') < last('b') && first('b') < last('c'), `b and c overlap: ${s.join(' ')}`);
  assert.ok(Math.max(last('b'), last('c')) < first('d'), `d starts after b and c: ${s.join(' ')}`);
  // b and c share a stage: their canaries start together, before either finishes.
  assert.deepEqual(s.slice(first('b'), first('b') + 2), ['+b/0*', '+c/0*']);
  assert.deepEqual(batches(t), {
    a: [['a/0*'], ['a/1']],
    b: [['b/0*'], ['b/1']],
    c: [['c/0*'], ['c/1']],
    d: [['d/0*']],
  });
});

test('a failing canary stops the run with the error chain; nothing after it is touched', async () => {
  deployed('d5', 'canaries: 1\nmax_in_flight: 2', [
    { name: 'w', size: 3 },
    { name: 'x', size: 1 },
  ]);
  const agents = new RecordingAgents().failWhen(
    (c) => c.method === 'stop' && c.agentId === 'agent-d5-w-0',
    'stop refused',
  );
  const t = task('d5');
  const err = await stopInstances(directorWith(agents), 'd5', parseInstanceSelector(undefined), t).then(
    () => assert.fail('expected an error'),
    (e: unknown) => e,
  );
  assert.equal(formatErrorChain(err), "Stopping instance 'w/d5-w-0 (0)': Stopping jobs: stop refused");
  assert.deepEqual(steps(t), ['+w/0*', '!w/0*']);
  assert.deepEqual(
    store.tasks.events(t.id).find((e) => e.state === 'failed')?.error,
    "Stopping instance 'w/d5-w-0 (0)': Stopping jobs: stop refused",
  );
  assert.deepEqual(agents.calls, ['agent-d5-w-0:drain', 'agent-d5-w-0:stop']);
  assert.deepEqual(
    store.instances.list('d5').map((i) => `${i.group}/${i.index}=${i.state}`),
    ['w/0=started', 'w/1=started', 'w/2=started', 'x/0=started'],
  );
});

test('a failure in a batch lets the batch finish, then stops the run', async () => {
  deployed('d6', 'canaries: 1\nmax_in_flight: 2', [{ name: 'w', size: 5 }]);
  const agents = new RecordingAgents().failWhen(
    (c) => c.method === 'stop' && c.agentId === 'agent-d6-w-1',
    'stop refused',
  );
  const t = task('d6');
  await assert.rejects(
    stopInstances(directorWith(agents), 'd6', parseInstanceSelector(undefined), t, { skipDrain: true }),
    (e: unknown) => formatErrorChain(e) === "Stopping instance 'w/d6-w-1 (1)': Stopping jobs: stop refused",
  );
  assert.deepEqual(batches(t), { w: [['w/0*'], ['w/1', 'w/2']] });
  assert.deepEqual(
    store.instances.list('d6').map((i) => i.state),
    ['stopped', 'started', 'stopped', 'started', 'started'],
  );
  assert.equal(
    agents.calls.some((c) => c.endsWith(':drain')),
    false,
    '--skip-drain',
  );
});

test('an update setting given as a ((variable)) is read from the deployment variables', async () => {
  deployed(
    'd7',
    'canaries: 0\nmax_in_flight: ((mif))',
    [{ name: 'w', size: 3 }],
    'variables:\n- name: mif\n  type: password',
  );
  store.variables.put('d7', 'mif', '3');
  const t = await run(stopInstances, 'd7', undefined, new RecordingAgents());
  assert.deepEqual(batches(t), { w: [['w/0', 'w/1', 'w/2']] });
});

test('--canaries and --max-in-flight: a bad value is one clear line', () => {
  assert.deepEqual(parseUpdateOverrides({ canaries: '2', maxInFlight: '25%' }), {
    canaries: 2,
    maxInFlight: { percent: 25 },
  });
  assert.deepEqual(parseUpdateOverrides({ maxInFlight: ' 3 ' }), { maxInFlight: { count: 3 } });
  assert.deepEqual(parseUpdateOverrides({}), {});
  assert.throws(() => parseUpdateOverrides({ canaries: 'two' }), {
    message: "Expected --canaries to be a whole number, found 'two'",
  });
  for (const bad of ['0', 'x', '-1', '0%', '5%%'])
    assert.throws(() => parseUpdateOverrides({ maxInFlight: bad }), {
      message: `Expected --max-in-flight to be a positive number or a percentage such as '25%', found '${bad}'`,
    });
});
