// The operate commands on the local CPI, as a BOSH user runs them: stop (soft and --hard), start,
// restart, recreate on a deployment, a group and one instance (GROUP/INDEX and GROUP/ID), a
// selector that names nothing, and cloud-check for an unresponsive agent (reboot_vm,
// recreate_vm), a disk the VM lost (reattach_disk) and a missing disk. The deployment is a
// test-only release with one trivial job (test/fixtures/operate/), on its own loopback /24, so
// the file runs beside the deploy journey. The tests run in order and share the deployment.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LocalCpi } from '../../cpi/local/local-cpi.js';
import { environmentCpi } from '../../src/cli/context.js';
import { openStateStore, type StateStore } from '../../src/state/index.js';
import { runCli, type CliRun } from '../helpers/cli.js';
import { repoRoot, startDirector } from '../helpers/director-process.js';
import { findMarkedProcesses, killMarkedProcesses } from '../helpers/processes.js';

const NAME = 'operate';
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'operate');
/** The keeper job's process: `exec sleep` of this many seconds. */
const KEEPER = 'sleep 2147483647';

let home: string;
let env: Record<string, string>;
const seenVms = new Set<string>();
/** VM host processes this file stopped with SIGSTOP (continued in cleanup if still there). */
const frozen = new Set<number>();

const stateDir = () => join(home, '.director', 'local');

async function cli(args: readonly string[]): Promise<CliRun> {
  return runCli(args, { env, cwd: repoRoot });
}

async function director(args: readonly string[]): Promise<CliRun> {
  const r = await cli(args);
  assert.equal(r.code, 0, `director ${args.join(' ')} failed:\n${r.stdout.slice(-3000)}\n${r.stderr}`);
  return r;
}

function withStore<T>(fn: (s: StateStore) => T): T {
  const s = openStateStore(join(stateDir(), 'state.db'));
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

async function localCpi(): Promise<LocalCpi> {
  const cpi = (
    await environmentCpi(
      withStore((s) => s.environment.get()!),
      stateDir(),
    )
  ).cpi;
  assert.ok(cpi instanceof LocalCpi);
  return cpi;
}

interface Row {
  readonly instance: string;
  readonly process_state: string;
  readonly ips: string;
  readonly state: string;
  readonly vm_cid: string;
  readonly disk_cids: string;
  readonly index: string;
}

/** `instances --details --json`: one row per instance (process rows left out), keyed `group/index`. */
async function instances(): Promise<Map<string, Row>> {
  const r = await director(['instances', '-d', NAME, '--details', '--json']);
  const rows = (JSON.parse(r.stdout).Tables[0].Rows as Row[]).filter((x) => x.instance !== '~');
  for (const x of rows) if (x.vm_cid) seenVms.add(x.vm_cid);
  return new Map(rows.map((x) => [`${x.instance.split('/')[0]}/${x.index}`, x]));
}

/** `vms --json`, keyed `group/uuid`. */
async function vms(): Promise<Map<string, Record<string, string>>> {
  const r = await director(['vms', '-d', NAME, '--json']);
  return new Map((JSON.parse(r.stdout).Tables[0].Rows as Record<string, string>[]).map((x) => [x['instance']!, x]));
}

/** `instances --ps --json`: the process rows under an instance (`~` rows follow their instance). */
async function processStates(): Promise<Map<string, string[]>> {
  const r = await director(['instances', '-d', NAME, '--ps', '--json']);
  const out = new Map<string, string[]>();
  let current = '';
  for (const x of JSON.parse(r.stdout).Tables[0].Rows as Record<string, string>[]) {
    if (x['instance'] !== '~') current = x['instance']!;
    else out.set(current, [...(out.get(current) ?? []), `${x['process']}=${x['process_state']}`]);
  }
  return out;
}

const uuidOf = (row: Row) => row.instance.split('/')[1]!;

/** The pids of the keeper process on a VM, found by the local CPI's process marker. */
function keeperPids(vmCid: string): number[] {
  return findMarkedProcesses('DIRECTOR_VM_ID', vmCid)
    .filter((p) => p.cmdline === KEEPER)
    .map((p) => p.pid)
    .sort();
}

/** What the keeper's pre-start wrote on the instance's persistent disk, read on its VM ('' if none). */
async function dataOn(slug: string): Promise<string> {
  return (await director(['ssh', '-d', NAME, slug, '-c', 'cat store/keeper/id 2>/dev/null || true'])).stdout.trim();
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, tries = 100): Promise<T> {
  for (let i = 0; i < tries; i++) {
    const v = await fn();
    if (v !== undefined) return v;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not happen`);
}

/** Makes a VM unreachable without deleting it: its host process (the SSH server) is stopped. */
async function freeze(vmCid: string): Promise<number> {
  const pid = (await localCpi()).hostPid(vmCid);
  assert.ok(pid, `no host process for ${vmCid}`);
  process.kill(pid, 'SIGSTOP');
  frozen.add(pid);
  return pid;
}

/**
 * The update steps of the deployment's newest task, in order: `+keeper/0*` started (`*`: a
 * canary), `-keeper/0*` finished, from the task's recorded events.
 */
function updateSteps(): string[] {
  return withStore((s) => {
    const t = s.tasks.list({ deployment: NAME, recent: 1 })[0]!;
    return s.tasks
      .events(t.id)
      .filter((e) => e.stage.startsWith('Updating instance '))
      .map((e) => {
        const m = /^([\w-]+)\/[0-9a-f-]{36} \((\d+)\)( \(canary\))?$/.exec(e.task);
        assert.ok(m, e.task);
        return `${e.state === 'started' ? '+' : e.state === 'finished' ? '-' : '!'}${m[1]}/${m[2]}${m[3] ? '*' : ''}`;
      });
  });
}

/** Each group's batches in a run of `updateSteps`: the instances that started before any of them finished. */
function batchesOf(steps: readonly string[]): Record<string, string[][]> {
  const out: Record<string, string[][]> = {};
  const open: Record<string, boolean> = {};
  for (const x of steps) {
    const group = x.slice(1).split('/')[0]!;
    if (x.startsWith('+')) {
      if (!open[group]) (out[group] ??= []).push([]);
      out[group]!.at(-1)!.push(x.slice(1));
    }
    open[group] = x.startsWith('+');
  }
  return out;
}

let before0: Map<string, Row>;
const data = new Map<string, string>();

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'director-operate-'));
  env = { HOME: home, DIRECTOR_HOME: join(home, '.director'), PATH: process.env['PATH'] ?? '/usr/bin:/bin' };
});

after(async () => {
  for (const pid of frozen) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // gone already
    }
  }
  if (existsSync(join(stateDir(), 'state.db')))
    withStore((s) => s.vms.list().forEach((v) => v.cid && seenVms.add(v.cid)));
  await cli(['delete-env', '--force', '-n']);
  for (const cid of seenVms) await killMarkedProcesses('DIRECTOR_VM_ID', cid);
  await rm(home, { recursive: true, force: true });
});

test('deploy: two keepers with persistent disks and an idler, all running', async () => {
  await director(['create-env', join(repoRoot, 'manifests', 'env.yml'), '-o', join(FIXTURES, 'env-ops.yml')]);
  await director(['upload-release', join(FIXTURES, 'release')]);
  await director(['deploy', '-d', NAME, join(FIXTURES, 'manifest.yml'), '-n']);
  before0 = await instances();
  assert.deepEqual([...before0.keys()].sort(), ['idler/0', 'keeper/0', 'keeper/1']);
  for (const [k, r] of before0) {
    assert.equal(r.process_state, 'running', k);
    assert.equal(keeperPids(r.vm_cid).length, 1, k);
  }
  for (const k of ['keeper/0', 'keeper/1']) {
    data.set(k, await dataOn(k));
    assert.match(data.get(k)!, /^[0-9a-f]{16}$/);
  }
  assert.notEqual(data.get('keeper/0'), data.get('keeper/1'));
});

test('ssh GROUP -c runs on every instance of the group, each line behind its instance; -r prints a results table; a failing one sets the exit code', async () => {
  const keepers = withStore((s) =>
    s.instances
      .list(NAME)
      .filter((i) => i.group === 'keeper')
      .sort((a, b) => a.index - b.index),
  );
  assert.equal(keepers.length, 2);
  const r = await director(['-d', NAME, 'ssh', 'keeper', '-c', 'echo "hello from $(cat store/keeper/id)"']);
  const lines = r.stdout.trimEnd().split('\n').sort();
  assert.deepEqual(
    lines,
    keepers.map((k) => `keeper/${k.uuid} (${k.index}): stdout | hello from ${data.get(`keeper/${k.index}`)}`).sort(),
  );
  const table = await director(['ssh', 'keeper', '-d', NAME, '-c', 'echo out; echo err >&2', '-r', '--json']);
  const rows = JSON.parse(table.stdout).Tables[0].Rows as Record<string, string>[];
  assert.deepEqual(
    rows.map((x) => [x['instance'], x['stdout'], x['stderr'], x['exit_code']]).sort(),
    keepers.map((k) => [`keeper/${k.uuid} (${k.index})`, 'out', 'err', '0']).sort(),
  );
  const vitals = JSON.parse((await director(['instances', '-d', NAME, '--vitals', '--json'])).stdout).Tables[0] as {
    Header: Record<string, string>;
    Rows: Record<string, string>[];
  };
  assert.equal(vitals.Header['memory_usage'], 'Memory Usage');
  assert.equal(vitals.Rows.length, 3);
  for (const row of vitals.Rows) {
    assert.match(row['memory_usage']!, /^\d+% \(\d+\.\d GB\)$/, row['instance']);
    assert.match(
      row['vm_created_at']!,
      /^[A-Z][a-z]{2} [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d UTC \d{4}$/,
      row['instance'],
    );
    assert.match(row['load_1m_5m_15m']!, /^\d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/, row['instance']);
  }
  // logs of a group, and of the whole deployment: a tarball per instance.
  for (const [what, count] of [
    [['keeper'], 2],
    [[], 3],
  ] as const) {
    const dir = join(home, `logs-${count}`);
    await mkdir(dir);
    const fetched = await director(['logs', '-d', NAME, ...what, '--dir', dir]);
    assert.equal((await readdir(dir)).filter((f) => f.endsWith('.tgz')).length, count, fetched.stdout);
    assert.equal(fetched.stdout.match(/Downloading resource to '/g)?.length, count);
  }
  // logs -f follows every keeper's job logs, each line behind its instance, until stopped.
  const follow = startDirector(['logs', '-d', NAME, 'keeper', '-f'], env);
  const header = (k: { uuid: string; index: number }) =>
    `keeper/${k.uuid} (${k.index}): ==> sys/log/keeper/keeper.stdout.log <==`;
  await eventually(
    'both keepers followed',
    () => (keepers.every((k) => follow.stdout().includes(header(k))) ? true : undefined),
    300,
  );
  follow.child.kill('SIGTERM');
  await follow.done;
  const failing = await cli(['ssh', '-d', NAME, 'keeper', '-c', 'exit 3']);
  assert.deepEqual([failing.code, failing.stderr], [1, "Error: Running command on 'keeper' exited with 3\n"]);
});

test('stop GROUP/INDEX: the jobs stop, the VM stays; start brings them back on the same VM', async () => {
  const k0 = before0.get('keeper/0')!;
  const pid = keeperPids(k0.vm_cid);
  await director(['stop', '-d', NAME, 'keeper/0', '-n']);
  // One instance is its group's canary, as a deploy would update it.
  assert.deepEqual(updateSteps(), ['+keeper/0*', '-keeper/0*']);
  const rows = await instances();
  assert.equal(rows.get('keeper/0')!.process_state, 'stopped');
  assert.equal(rows.get('keeper/0')!.state, 'stopped');
  assert.equal(rows.get('keeper/0')!.vm_cid, k0.vm_cid);
  assert.equal((await vms()).get(k0.instance)?.['process_state'], 'stopped');
  assert.deepEqual((await processStates()).get(k0.instance), ['keeper=stopped']);
  assert.deepEqual(keeperPids(k0.vm_cid), []);
  // instances -f lists the failing ones only; --ps counts instances, not process rows.
  const failing = await director(['instances', '-d', NAME, '-f', '--ps']);
  assert.ok(
    failing.stdout.split('\n').some((l) => l.startsWith(k0.instance) && /\s+stopped\b/.test(l)),
    failing.stdout,
  );
  assert.doesNotMatch(failing.stdout, /idler\//);
  assert.match(failing.stdout, /\n1 instances\n/);
  assert.match((await director(['instances', '-d', NAME, '--ps'])).stdout, /\n3 instances\n/);
  // The others were not touched.
  for (const k of ['keeper/1', 'idler/0']) assert.equal(rows.get(k)!.process_state, 'running', k);

  await director(['start', '-d', NAME, 'keeper/0', '-n']);
  assert.deepEqual(updateSteps(), ['+keeper/0*', '-keeper/0*']);
  const back = (await instances()).get('keeper/0')!;
  assert.deepEqual([back.process_state, back.state, back.vm_cid], ['running', 'started', k0.vm_cid]);
  assert.equal(keeperPids(k0.vm_cid).length, 1);
  assert.notDeepEqual(keeperPids(k0.vm_cid), pid);
});

test('stop --hard GROUP/ID deletes the VM and keeps the disk; start GROUP gives it a new VM, same disk and data', async () => {
  const k1 = before0.get('keeper/1')!;
  const cpi = await localCpi();
  await director(['stop', '-d', NAME, `keeper/${uuidOf(k1)}`, '--hard', '-n']);
  const rows = await instances();
  const hard = rows.get('keeper/1')!;
  assert.deepEqual([hard.state, hard.vm_cid, hard.process_state, hard.disk_cids], ['detached', '', '', k1.disk_cids]);
  assert.equal((await vms()).has(k1.instance), false);
  assert.equal(await cpi.hasVm(k1.vm_cid), false);
  assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', k1.vm_cid), []);
  assert.equal((await cpi.diskRecord(k1.disk_cids))?.vm, null);
  withStore((s) =>
    assert.deepEqual(
      s.disks.listByInstance(uuidOf(k1)).map((d) => [d.cid, d.state]),
      [[k1.disk_cids, 'detached']],
    ),
  );
  assert.equal(rows.get('keeper/0')!.process_state, 'running');

  const k0pids = keeperPids(rows.get('keeper/0')!.vm_cid);
  await director(['start', '-d', NAME, 'keeper', '-n']);
  const after = await instances();
  const back = after.get('keeper/1')!;
  assert.deepEqual(
    [back.process_state, back.state, back.ips, back.disk_cids, back.instance],
    ['running', 'started', k1.ips, k1.disk_cids, k1.instance],
  );
  assert.notEqual(back.vm_cid, k1.vm_cid);
  assert.equal((await cpi.diskRecord(k1.disk_cids))?.vm, back.vm_cid);
  assert.equal(await dataOn('keeper/1'), data.get('keeper/1'));
  // keeper/0 was running: start left it alone.
  assert.deepEqual(keeperPids(after.get('keeper/0')!.vm_cid), k0pids);
});

test('restart: the whole deployment under its update policy, a group with --canaries/--max-in-flight, one instance; new pids, same VMs', async () => {
  const rows = await instances();
  const pids = new Map([...rows].map(([k, r]) => [k, keeperPids(r.vm_cid)]));
  const whole = await director(['restart', '-d', NAME, '-n']);
  // canaries: 1, max_in_flight: 2, serial: false: each group's canary first, then the rest;
  // keeper and idler side by side (idler's canary starts before keeper's has finished).
  assert.match(whole.stdout, /Updating instance keeper: keeper\/[0-9a-f-]{36} \(0\) \(canary\)/);
  const steps = updateSteps();
  assert.deepEqual(batchesOf(steps), { keeper: [['keeper/0*'], ['keeper/1']], idler: [['idler/0*']] });
  assert.ok(steps.indexOf('+idler/0*') < steps.indexOf('-keeper/0*'), steps.join(' '));
  const all = await instances();
  for (const [k, r] of all) {
    assert.deepEqual([r.process_state, r.vm_cid], ['running', rows.get(k)!.vm_cid], k);
    assert.equal(keeperPids(r.vm_cid).length, 1, k);
    assert.notDeepEqual(keeperPids(r.vm_cid), pids.get(k), k);
  }
  const again = new Map([...all].map(([k, r]) => [k, keeperPids(r.vm_cid)]));
  // The flags override the manifest: no canary, both keepers in one batch; idler left alone.
  await director(['restart', '-d', NAME, 'keeper', '--canaries', '0', '--max-in-flight', '100%', '-n']);
  assert.deepEqual(batchesOf(updateSteps()), { keeper: [['keeper/0', 'keeper/1']] });
  const group = await instances();
  for (const k of ['keeper/0', 'keeper/1']) assert.notDeepEqual(keeperPids(group.get(k)!.vm_cid), again.get(k), k);
  assert.deepEqual(keeperPids(group.get('idler/0')!.vm_cid), again.get('idler/0'));
  const bad = await cli(['restart', '-d', NAME, 'keeper', '--max-in-flight', 'lots', '-n']);
  assert.deepEqual(
    [bad.code, bad.stderr],
    [1, "Error: Expected --max-in-flight to be a positive number or a percentage such as '25%', found 'lots'\n"],
  );
  const badDeploy = await cli(['deploy', '-d', NAME, join(FIXTURES, 'manifest.yml'), '--canaries', 'x', '-n']);
  assert.deepEqual(
    [badDeploy.code, badDeploy.stderr],
    [1, "Error: Expected --canaries to be a whole number, found 'x'\n"],
  );

  const before1 = new Map([...group].map(([k, r]) => [k, keeperPids(r.vm_cid)]));
  await director(['restart', '-d', NAME, 'idler/0', '-n']);
  assert.deepEqual(updateSteps(), ['+idler/0*', '-idler/0*']);
  const one = await instances();
  assert.notDeepEqual(keeperPids(one.get('idler/0')!.vm_cid), before1.get('idler/0'));
  for (const k of ['keeper/0', 'keeper/1']) assert.deepEqual(keeperPids(one.get(k)!.vm_cid), before1.get(k), k);
});

test('recreate: a group, one instance by id, the deployment; new VMs, same instances, addresses and data', async () => {
  const rows = await instances();
  await director(['recreate', '-d', NAME, 'idler', '-n']);
  let now = await instances();
  assert.notEqual(now.get('idler/0')!.vm_cid, rows.get('idler/0')!.vm_cid);
  for (const k of ['keeper/0', 'keeper/1']) assert.equal(now.get(k)!.vm_cid, rows.get(k)!.vm_cid, k);

  const k0 = rows.get('keeper/0')!;
  await director(['recreate', '-d', NAME, `keeper/${uuidOf(k0)}`, '-n']);
  now = await instances();
  const r0 = now.get('keeper/0')!;
  assert.notEqual(r0.vm_cid, k0.vm_cid);
  assert.deepEqual(
    [r0.instance, r0.ips, r0.disk_cids, r0.process_state],
    [k0.instance, k0.ips, k0.disk_cids, 'running'],
  );
  assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', k0.vm_cid), []);
  assert.equal(await dataOn('keeper/0'), data.get('keeper/0'));
  assert.equal(now.get('keeper/1')!.vm_cid, rows.get('keeper/1')!.vm_cid);

  const before = now;
  const all = await director(['recreate', '-d', NAME, '-n']);
  assert.match(all.stdout, /Updating instance keeper: keeper\/[0-9a-f-]{36} \(0\) \(canary\)/);
  now = await instances();
  for (const [k, r] of now) {
    const was = before.get(k)!;
    assert.notEqual(r.vm_cid, was.vm_cid, k);
    assert.deepEqual(
      [r.instance, r.ips, r.disk_cids, r.process_state, r.state],
      [was.instance, was.ips, was.disk_cids, 'running', 'started'],
      k,
    );
  }
  for (const k of ['keeper/0', 'keeper/1']) assert.equal(await dataOn(k), data.get(k), k);
});

test('a selector that names nothing is one clear line and exit 1, and changes nothing', async () => {
  const rows = await instances();
  const tasks = withStore((s) => s.tasks.list({}).length);
  for (const [verb, slug, message] of [
    ['stop', 'nope', "Error: No instance 'nope' in deployment 'operate' (groups: idler, keeper)"],
    ['start', 'keeper/7', "Error: No instance 'keeper/7' in deployment 'operate' (groups: idler, keeper)"],
    [
      'restart',
      'keeper/00000000-0000-4000-8000-000000000000',
      "Error: No instance 'keeper/00000000-0000-4000-8000-000000000000' in deployment 'operate' (groups: idler, keeper)",
    ],
    [
      'recreate',
      `idler/${uuidOf(rows.get('keeper/0')!)}`,
      `Error: No instance 'idler/${uuidOf(rows.get('keeper/0')!)}' in deployment 'operate' (groups: idler, keeper)`,
    ],
    [
      'stop',
      'keeper/0/1',
      "Error: Expected an instance group 'NAME', or an instance 'NAME/INDEX' or 'NAME/ID', found 'keeper/0/1'",
    ],
  ] as const) {
    const r = await cli([verb, '-d', NAME, slug, '-n']);
    assert.equal(r.code, 1, `${verb} ${slug}: ${r.stdout}`);
    assert.equal(r.stderr, `${message}\n`, `${verb} ${slug}`);
  }
  assert.equal(
    withStore((s) => s.tasks.list({}).length),
    tasks,
  );
  const same = await instances();
  for (const [k, r] of rows)
    assert.deepEqual([same.get(k)!.vm_cid, same.get(k)!.process_state], [r.vm_cid, r.process_state], k);
});

test('cloud-check: a disk the VM lost (report, reattach_disk) and an unresponsive agent (reboot_vm)', async () => {
  const rows = await instances();
  const k0 = rows.get('keeper/0')!;
  const k1 = rows.get('keeper/1')!;
  // The cloud detaches keeper/1's disk behind the director's back: the state still says attached.
  await (await localCpi()).detachDisk(k1.vm_cid, k1.disk_cids);
  const mismatch = new RegExp(
    `^\\d +mount_info_mismatch +Disk '${k1.disk_cids}' \\(${esc(k1.instance)}, 64M\\) is not attached to VM '${k1.vm_cid}'$`,
    'm',
  );
  const report = await cli(['cloud-check', '-d', NAME, '--report']);
  assert.equal(report.code, 1, report.stdout);
  assert.equal(report.stderr, 'Error: 1 problem found\n');
  assert.match(report.stdout, mismatch);
  assert.match(report.stdout, /^1 problems$/m);
  assert.equal(await dataOn('keeper/1'), '', 'the VM still sees its disk');

  // keeper/0's VM stops answering. The listing and cloud-check run at once (each waits for the
  // agent); cloud-check lists both problems and resolves each with the resolution named.
  const hostPid = await freeze(k0.vm_cid);
  const [listed, fixed] = await Promise.all([
    vms(),
    director(['cloud-check', '-d', NAME, '--resolution', 'reboot_vm', '--resolution', 'reattach_disk']),
  ]);
  assert.equal(listed.get(k0.instance)?.['process_state'], 'unresponsive agent');
  assert.match(
    fixed.stdout,
    new RegExp(
      `^\\d +unresponsive_agent +VM for '${esc(k0.instance)} \\(0\\)' with cloud ID '${k0.vm_cid}' is not responding\\.$`,
      'm',
    ),
  );
  assert.match(fixed.stdout, mismatch);
  assert.match(fixed.stdout, /^2 problems$/m);
  assert.match(fixed.stdout, /Applying problem resolutions: VM for .* is not responding\.: Reboot VM/);
  assert.match(
    fixed.stdout,
    /Applying problem resolutions: Disk .* is not attached to VM .*: Reattach disk to instance/,
  );
  const now = await instances();
  // Rebooted: the same VM, a new host process, the jobs running again.
  assert.deepEqual([now.get('keeper/0')!.vm_cid, now.get('keeper/0')!.process_state], [k0.vm_cid, 'running']);
  const newHost = (await localCpi()).hostPid(k0.vm_cid);
  assert.ok(newHost !== undefined && newHost !== hostPid);
  await eventually('the frozen host to be gone', () =>
    findMarkedProcesses('DIRECTOR_VM_ID', k0.vm_cid).some((p) => p.pid === hostPid) ? undefined : true,
  );
  assert.equal(keeperPids(k0.vm_cid).length, 1);
  assert.equal(await dataOn('keeper/0'), data.get('keeper/0'));
  // Reattached: the VM has its disk and its data again.
  assert.deepEqual(await (await localCpi()).getDisks(k1.vm_cid), [k1.disk_cids]);
  assert.equal(await dataOn('keeper/1'), data.get('keeper/1'));
  assert.match((await director(['cloud-check', '-d', NAME, '--report'])).stdout, /^0 problems$/m);
});

test('cloud-check --auto recreates the VM of an unresponsive agent: same instance, address and data', async () => {
  const k0 = (await instances()).get('keeper/0')!;
  const hostPid = await freeze(k0.vm_cid);
  const fixed = await director(['cloud-check', '-d', NAME, '--auto']);
  assert.match(
    fixed.stdout,
    new RegExp(
      `^1 +unresponsive_agent +VM for '${esc(k0.instance)} \\(0\\)' with cloud ID '${k0.vm_cid}' is not responding\\.$`,
      'm',
    ),
  );
  assert.match(fixed.stdout, /Applying problem resolutions: .*: Recreate VM/);
  assert.match(fixed.stdout, /Creating missing vms: keeper\/[0-9a-f-]{36} \(0\)/);
  const back = (await instances()).get('keeper/0')!;
  assert.notEqual(back.vm_cid, k0.vm_cid);
  assert.deepEqual(
    [back.instance, back.ips, back.disk_cids, back.process_state],
    [k0.instance, k0.ips, k0.disk_cids, 'running'],
  );
  assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', k0.vm_cid), []);
  assert.equal(
    findMarkedProcesses('DIRECTOR_VM_ID').some((p) => p.pid === hostPid),
    false,
  );
  assert.equal(await dataOn('keeper/0'), data.get('keeper/0'));
  assert.match((await director(['cloud-check', '-d', NAME, '--report'])).stdout, /^0 problems$/m);
});

test('cloud-check: a missing disk is listed, --auto leaves it, delete_disk_reference forgets it', async () => {
  const k1 = (await instances()).get('keeper/1')!;
  await rm(join(stateDir(), 'local', 'disks', k1.disk_cids), { recursive: true });
  const report = await cli(['cloud-check', '-d', NAME, '--report']);
  assert.equal(report.code, 1, report.stdout);
  assert.match(
    report.stdout,
    new RegExp(`^1 +missing_disk +Disk '${k1.disk_cids}' \\(${esc(k1.instance)}, 64M\\) is missing$`, 'm'),
  );
  assert.match(report.stdout, /^1 problems$/m);

  // BOSH's auto resolution for a missing disk is to skip it: nothing changes.
  const auto = await director(['cloud-check', '-d', NAME, '--auto']);
  assert.doesNotMatch(auto.stdout, /Applying problem resolutions/);
  assert.equal((await cli(['cloud-check', '-d', NAME, '--report'])).code, 1);

  const fixed = await director(['cloud-check', '-d', NAME, '--resolution', 'delete_disk_reference']);
  assert.match(fixed.stdout, /Applying problem resolutions: Disk .* is missing: Delete disk reference \(DANGEROUS!\)/);
  withStore((s) =>
    assert.deepEqual(
      s.disks.listByInstance(uuidOf(k1)).filter((d) => d.cid === k1.disk_cids),
      [],
    ),
  );
  assert.match((await director(['cloud-check', '-d', NAME, '--report'])).stdout, /^0 problems$/m);
  assert.equal((await instances()).get('keeper/1')!.process_state, 'running');
});

test('delete-deployment leaves no process of any VM this file saw', async () => {
  await instances();
  await director(['delete-deployment', '-d', NAME, '-n']);
  for (const cid of seenVms) assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', cid), [], cid);
  for (const pid of frozen)
    assert.equal(
      findMarkedProcesses('DIRECTOR_VM_ID').some((p) => p.pid === pid),
      false,
      String(pid),
    );
});

function esc(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
