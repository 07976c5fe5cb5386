// The README journey on the local CPI, end to end, in one file (it is slow: one deployment is
// made and changed step by step): create-env, upload-release, deploy, vms, etcd over TLS, the
// API server through the load balancer, scaling, a property change that touches one group, a
// re-deploy that changes nothing, resurrection by cloud-check, delete-deployment, delete-env.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { LocalCpi } from '../../cpi/local/local-cpi.js';
import { CallCounter, countingAgents, countingCpi } from '../../src/deploy/call-counter.js';
import type { Director } from '../../src/deploy/director.js';
import { deploymentManifest } from '../../src/deploy/director.js';
import { directorFor, environmentCpi } from '../../src/cli/context.js';
import { runTask } from '../../src/cli/task-runner.js';
import { deploymentLock, openStateStore, type StateStore } from '../../src/state/index.js';
import { repoRoot, runDirector, type DirectorRun } from '../helpers/director-process.js';
import { findMarkedProcesses, isListening, killMarkedProcesses } from '../helpers/processes.js';

const NAME = 'my-cluster';
const LB = '127.10.0.250';
const MASTERS = ['127.10.0.10', '127.10.0.11', '127.10.0.12'];
const LOCAL_OPS = join(repoRoot, 'ops-files', 'local.yml');
const CFCR = join(repoRoot, 'manifests', 'cfcr.yml');

let home: string;
let env: Record<string, string>;
const seenVms = new Set<string>();

const statePath = () => join(home, '.director', 'local', 'state.db');
const localRoot = () => join(home, '.director', 'local', 'local');

async function director(args: readonly string[]): Promise<DirectorRun> {
  const r = await runDirector(args, env);
  assert.equal(r.code, 0, `director ${args.join(' ')} failed:\n${r.stdout.slice(-3000)}\n${r.stderr}`);
  return r;
}

function withStore<T>(fn: (s: StateStore) => T): T {
  const s = openStateStore(statePath());
  try {
    return fn(s);
  } finally {
    s.close();
  }
}

function recordVms(): void {
  withStore((s) => s.vms.list().forEach((v) => v.cid && seenVms.add(v.cid)));
}

/** The `vms --json` rows of the deployment. */
async function vmRows(): Promise<Record<string, string>[]> {
  const r = await director(['vms', '-d', NAME, '--json']);
  recordVms();
  return JSON.parse(r.stdout).Tables[0].Rows;
}

/** Deploys in-process through the Director with counting CPI and agent ports, as `deploy -n` does. */
async function countedDeploy(
  opsFiles: readonly string[],
  varKVs: readonly string[] = [],
): Promise<{ counter: CallCounter; planText: string }> {
  const store = openStateStore(statePath());
  const counter = new CallCounter();
  try {
    const d: Director = await directorFor(store, {
      wrapCpi: (c) => countingCpi(c, counter),
      wrapAgents: (a) => countingAgents(a, counter),
    });
    const { raw, vars } = await deploymentManifest(CFCR, opsFiles, {
      varKVs,
      varFiles: [],
      varsFiles: [],
      varsEnv: [],
      env: {},
      cwd: repoRoot,
    });
    const prepared = await d.prepare(NAME, raw, vars, {});
    await runTask(
      {
        store,
        clock: { now: () => new Date() },
        out: new PassThrough().resume(),
        description: 'create deployment',
        deployment: NAME,
        locks: [deploymentLock(NAME)],
      },
      (task) => d.apply(prepared, task, {}),
    );
    return { counter, planText: prepared.planText };
  } finally {
    store.close();
  }
}

interface Tls {
  readonly ca: string;
  readonly cert?: string;
  readonly key?: string;
}

function httpsCall(url: string, tls: Tls, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: body === undefined ? 'GET' : 'POST',
        ca: tls.ca,
        ...(tls.cert ? { cert: tls.cert, key: tls.key } : {}),
        timeout: 5000,
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('timeout', () => req.destroy(new Error(`timeout: ${url}`)));
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** etcd's client TLS: the etcdctl root certificate and the etcd CA, from the deployment's variables. */
function etcdTls(): Tls {
  return withStore((s) => {
    const root = s.variables.get(NAME, 'tls-etcdctl-root')!.value as Record<string, string>;
    const client = s.variables.get(NAME, 'tls-etcdctl-v0-29-0')!.value as Record<string, string>;
    return { ca: client['ca']!, cert: root['certificate']!, key: root['private_key']! };
  });
}

const b64 = (s: string) => Buffer.from(s).toString('base64');

async function etcdPut(ip: string, key: string, value: string): Promise<void> {
  const r = await httpsCall(`https://${ip}:2379/v3/kv/put`, etcdTls(), { key: b64(key), value: b64(value) });
  assert.equal(r.status, 200, r.text);
}

async function etcdGet(ip: string, key: string): Promise<string | undefined> {
  const r = await httpsCall(`https://${ip}:2379/v3/kv/range`, etcdTls(), { key: b64(key) });
  assert.equal(r.status, 200, r.text);
  const kv = (JSON.parse(r.text) as { kvs?: { value: string }[] }).kvs?.[0];
  return kv ? Buffer.from(kv.value, 'base64').toString() : undefined;
}

async function eventually<T>(what: string, fn: () => Promise<T | undefined>, tries = 40): Promise<T> {
  let last: unknown;
  for (let i = 0; i < tries; i++) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`${what} did not happen${last ? `: ${String(last)}` : ''}`);
}

before(async () => {
  // The journey uses the shipped addresses; another deployment on them would make it meaningless.
  assert.equal(
    await isListening(LB, 8443),
    false,
    `something already listens on ${LB}:8443: another local journey is running`,
  );
  home = await mkdtemp(join(tmpdir(), 'director-journey-'));
  env = { HOME: home, DIRECTOR_HOME: join(home, '.director') };
});

after(async () => {
  if (existsSync(statePath())) recordVms();
  await runDirector(['delete-env', '--force', '-n'], env);
  for (const cid of seenVms) await killMarkedProcesses('DIRECTOR_VM_ID', cid);
  await rm(home, { recursive: true, force: true });
});

test('the journey: deploy, check, scale, change, no-op, resurrect, delete', { timeout: 600_000 }, async () => {
  await director(['create-env', join(repoRoot, 'manifests', 'env.yml')]);
  await director(['upload-release', join(repoRoot, 'release')]);
  const deployed = await director(['deploy', '-d', NAME, CFCR, '-o', LOCAL_OPS, '-n']);
  assert.match(deployed.stdout, /Creating missing vms: master\/[0-9a-f-]{36} \(0\)/);

  // vms: every instance of the two service groups runs.
  let rows = await vmRows();
  assert.deepEqual(rows.map((r) => r['instance']!.split('/')[0]).sort(), [
    'master',
    'master',
    'master',
    'worker',
    'worker',
    'worker',
  ]);
  for (const r of rows) assert.equal(r['process_state'], 'running', JSON.stringify(r));

  const vitals = JSON.parse((await director(['vms', '-d', NAME, '--vitals', '--json'])).stdout).Tables[0]
    .Rows as Record<string, string>[];
  for (const r of vitals) {
    assert.match(r['load_1m_5m_15m']!, /^\d+\.\d\d, \d+\.\d\d, \d+\.\d\d$/);
    assert.match(r['memory_usage']!, /^\d+% \(\d+\.\d GB\)$/);
    assert.match(r['system_disk_usage']!, /^\d+% \(\d+i%\)$/);
  }
  assert.ok(
    vitals.filter((r) => r['instance']!.startsWith('master/')).every((r) => /^\d+% /.test(r['persistent_disk_usage']!)),
  );

  // etcd: a healthy three-member cluster over TLS, with the generated certificates.
  for (const ip of MASTERS) {
    const h = await httpsCall(`https://${ip}:2379/health`, etcdTls());
    assert.equal(JSON.parse(h.text).health, 'true', `${ip}: ${h.text}`);
  }
  const members = await httpsCall(`https://${MASTERS[0]}:2379/v3/cluster/member/list`, etcdTls(), {});
  assert.equal((JSON.parse(members.text) as { members: unknown[] }).members.length, 3);

  // The API server answers through the load balancer, with the tls-kubernetes CA.
  const kca = withStore((s) => (s.variables.get(NAME, 'tls-kubernetes')!.value as Record<string, string>)['ca']!);
  const healthz = await httpsCall(`https://${LB}:8443/healthz`, { ca: kca });
  assert.deepEqual([healthz.status, healthz.text.trim()], [200, 'ok']);
  const kubeconfig = await director(['kubeconfig', '-d', NAME]);
  assert.match(kubeconfig.stdout, new RegExp(`server: https://${LB.replace(/\./g, '\\.')}:8443`));
  assert.match(kubeconfig.stdout, new RegExp(`certificate-authority-data: ${Buffer.from(kca).toString('base64')}`));

  // Re-deploy unchanged: not one mutating CPI call, not one agent apply.
  const noop = await countedDeploy([LOCAL_OPS]);
  assert.equal(noop.counter.mutating('cpi'), 0, JSON.stringify([...noop.counter.calls]));
  assert.equal(noop.counter.calls.get('agent.apply') ?? 0, 0, JSON.stringify([...noop.counter.calls]));
  assert.equal(noop.counter.mutating('agent'), 0, JSON.stringify([...noop.counter.calls]));

  // Scale workers up, then down again.
  const countOps = join(repoRoot, 'ops-files', 'worker_count.yml');
  const up = await director([
    'deploy',
    '-d',
    NAME,
    CFCR,
    '-o',
    LOCAL_OPS,
    '-o',
    countOps,
    '-v',
    'worker_count=4',
    '-n',
  ]);
  assert.match(up.stdout, /Creating missing vms: worker\/[0-9a-f-]{36} \(3\)/);
  rows = await vmRows();
  assert.equal(rows.filter((r) => r['instance']!.startsWith('worker/')).length, 4);
  assert.ok(rows.every((r) => r['process_state'] === 'running'));
  const down = await director([
    'deploy',
    '-d',
    NAME,
    CFCR,
    '-o',
    LOCAL_OPS,
    '-o',
    countOps,
    '-v',
    'worker_count=3',
    '-n',
  ]);
  assert.match(down.stdout, /Deleting unneeded instances: worker\/[0-9a-f-]{36} \(3\)/);
  rows = await vmRows();
  assert.equal(rows.filter((r) => r['instance']!.startsWith('worker/')).length, 3);

  // One kubelet property changes: the three workers are updated in place, nothing else is touched.
  const workerIps = rows.filter((r) => r['instance']!.startsWith('worker/')).map((r) => r['ips']!);
  const changed = await countedDeploy([
    LOCAL_OPS,
    join(repoRoot, 'test', 'fixtures', 'deploy-journey', 'kubelet-max-pods.yml'),
  ]);
  assert.equal(changed.counter.mutating('cpi'), 0, JSON.stringify([...changed.counter.calls]));
  assert.deepEqual([...(changed.counter.targets.get('agent.apply') ?? [])].sort(), [...workerIps].sort());
  assert.match(changed.planText, /worker/);
  rows = await vmRows();
  assert.ok(
    rows.every((r) => r['process_state'] === 'running'),
    JSON.stringify(rows),
  );

  // The listings: processes per instance, variable names (never values), the manifest with its
  // ((placeholders)), task events newest first.
  const listed = JSON.parse((await director(['instances', '-d', NAME, '--ps', '--details', '--json'])).stdout).Tables[0]
    .Rows as Record<string, string>[];
  assert.equal(listed.filter((r) => r['process'] === 'etcd' && r['process_state'] === 'running').length, 3);
  const vars = (await director(['variables', '-d', NAME, '--json'])).stdout;
  assert.match(vars, /"name": "\/my-cluster\/tls-kubernetes"/);
  assert.doesNotMatch(vars, /BEGIN|sekret|private/i);
  const man = (await director(['manifest', '-d', NAME])).stdout;
  assert.match(man, /\(\(kubo-admin-password\)\)/);
  assert.doesNotMatch(man, /PRIVATE KEY/);
  const evs = JSON.parse((await director(['events', '-d', NAME, '--json'])).stdout).Tables[0].Rows as Record<
    string,
    string
  >[];
  assert.ok(evs.length > 10);
  assert.ok(Number(evs[0]!['task_id']) >= Number(evs.at(-1)!['task_id']));

  // ssh -c, logs, run-errand.
  const sshRun = await director(['ssh', '-d', NAME, 'master/0', '-c', 'ls jobs']);
  assert.match(sshRun.stdout, /^etcd$/m);
  // without -c: a shell reading the commands from stdin; its exit status is the command's failure
  const shell = await runDirector(
    ['ssh', '-d', NAME, 'master/0'],
    env,
    repoRoot,
    'echo "six times seven is $((6*7))"\nls jobs\nexit 3\n',
  );
  assert.equal(shell.code, 1, shell.stderr);
  assert.match(shell.stdout, /^six times seven is 42$/m);
  assert.match(shell.stdout, /^etcd$/m);
  assert.match(shell.stderr, /exited with 3/);
  await director(['logs', '-d', NAME, 'master/0', '--dir', home]);
  assert.equal(
    readdirSync(home).filter((f) => /^my-cluster\.master\.[0-9a-f-]{36}-\d{8}-\d{6}-\d{9}\.tgz$/.test(f)).length,
    1,
  );
  const errand = await director(['run-errand', 'smoke-tests', '-d', NAME]);
  assert.match(errand.stdout, /^Exit Code {2}0$/m);
  assert.match(errand.stdout, /smoke tests passed/);

  // recreate one instance: a new VM, the same address, running again.
  const w0 = (await vmRows()).find((r) => r['ips'] === '127.10.0.41')!;
  const recreated = await director(['recreate', '-d', NAME, 'worker/0', '-n']);
  assert.match(recreated.stdout, /Updating instance worker: worker\/[0-9a-f-]{36} \(0\) \(canary\)/);
  const w0After = (await vmRows()).find((r) => r['ips'] === '127.10.0.41')!;
  assert.notEqual(w0After['vm_cid'], w0['vm_cid']);
  assert.equal(w0After['process_state'], 'running');

  // stop / start; stop --hard deletes the VM and keeps the disk, start brings it back.
  await director(['stop', '-d', NAME, 'worker/0', '-n']);
  assert.equal(
    (await vmRows()).find((r) => r['instance']!.startsWith('worker/') && r['ips'] === workerIps.sort()[0])?.[
      'process_state'
    ],
    'stopped',
  );
  await director(['start', '-d', NAME, 'worker/0', '-n']);
  await director(['stop', '-d', NAME, 'master/1', '--hard', '-n']);
  assert.equal((await vmRows()).length, 5);
  withStore((s) => {
    const m1 = s.instances.list(NAME).find((i) => i.group === 'master' && i.index === 1)!;
    assert.equal(m1.state, 'detached');
    assert.deepEqual(
      s.disks.listByInstance(m1.uuid).map((d) => d.state),
      ['detached'],
    );
  });
  await director(['start', '-d', NAME, 'master/1', '-n']);
  rows = await vmRows();
  assert.equal(rows.length, 6);
  assert.ok(
    rows.every((r) => r['process_state'] === 'running'),
    JSON.stringify(rows),
  );

  // Resurrection: a master's VM host dies; cloud-check --auto brings it back, etcd data intact.
  await etcdPut(MASTERS[0]!, '/director/journey', 'written before the kill');
  const victim = rows.find((r) => r['ips'] === MASTERS[2])!;
  const cpi = (
    await environmentCpi(
      withStore((s) => s.environment.get()!),
      join(home, '.director', 'local'),
    )
  ).cpi;
  assert.ok(cpi instanceof LocalCpi);
  const pid = cpi.hostPid(victim['vm_cid']!);
  assert.ok(pid, `no host process for ${victim['vm_cid']}`);
  process.kill(pid, 'SIGKILL');
  await eventually('the VM host to be gone', async () => ((await cpi.hasVm(victim['vm_cid']!)) ? undefined : true));
  const dead = JSON.parse((await director(['vms', '-d', NAME, '--json'])).stdout).Tables[0].Rows as Record<
    string,
    string
  >[];
  assert.equal(dead.find((r) => r['vm_cid'] === victim['vm_cid'])?.['process_state'], 'unresponsive agent');
  const report = await runDirector(['cloud-check', '-d', NAME, '--report'], env);
  assert.equal(report.code, 1, report.stdout);
  assert.match(
    report.stdout,
    new RegExp(`missing_vm +VM for 'master/[0-9a-f-]{36} \\(2\\)' with cloud ID '${victim['vm_cid']}' missing\\.`),
  );
  const fixed = await director(['cloud-check', '-d', NAME, '--auto']);
  assert.match(fixed.stdout, /Applying problem resolutions: .*: Recreate VM/);
  assert.match(fixed.stdout, /Creating missing vms: master\/[0-9a-f-]{36} \(2\)/);
  rows = await vmRows();
  const back = rows.find((r) => r['ips'] === MASTERS[2])!;
  assert.notEqual(back['vm_cid'], victim['vm_cid']);
  assert.ok(
    rows.every((r) => r['process_state'] === 'running'),
    JSON.stringify(rows),
  );
  assert.equal(
    await eventually('the key on the resurrected member', () => etcdGet(MASTERS[2]!, '/director/journey')),
    'written before the kill',
  );
  const clean = await director(['cloud-check', '-d', NAME, '--report']);
  assert.match(clean.stdout, /^0 problems$/m);

  // delete-deployment leaves nothing: no process, no VM or disk folder, no state row.
  recordVms();
  await director(['delete-deployment', '-d', NAME, '-n']);
  assert.deepEqual(readdirSync(join(localRoot(), 'vms')), []);
  assert.deepEqual(readdirSync(join(localRoot(), 'disks')), []);
  assert.deepEqual((await cpi.listVms()).length + (await cpi.listDisks()).length, 0);
  for (const cid of seenVms) assert.deepEqual(findMarkedProcesses('DIRECTOR_VM_ID', cid), [], cid);
  withStore((s) => {
    assert.equal(s.deployments.get(NAME), undefined);
    assert.deepEqual(
      [
        s.instances.list(NAME).length,
        s.vms.list().length,
        s.ips.list().length,
        s.variables.list(NAME).length,
        s.disks.listOrphaned().length,
      ],
      [0, 0, 0, 0, 0],
    );
  });

  await director(['delete-env', '-n']);
  assert.equal(existsSync(localRoot()), false);
});
