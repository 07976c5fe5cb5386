// Debian's kubectl (package kubernetes-client, installed by scripts/install-peers.sh) against a
// cluster the director deploys on the local CPI, through the kubeconfig `director kubeconfig`
// writes: nodes (one Ready per worker instance), namespaces, pods, api-resources, cluster-info,
// cordon/uncordon, a deployment (stored, 0 ready), a ConfigMap applied through the load balancer
// and read from the other master, and workers scaled 3 → 5 → 3 leaving exactly 3 nodes. Its own
// loopback /24 (test/fixtures/kubectl/), so it runs beside the deploy journey.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStateStore } from '../../src/state/index.js';
import { repoRoot, runDirector, type DirectorRun } from '../helpers/director-process.js';
import { isListening, killMarkedProcesses } from '../helpers/processes.js';

const NAME = 'kube';
const LB = '127.62.0.250';
const OTHER_MASTER = '127.62.0.11';
const FIXTURES = join(repoRoot, 'test', 'fixtures', 'kubectl');
const CFCR = join(repoRoot, 'manifests', 'cfcr.yml');
const ANSI_COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g');

/**
 * Debian's kubectl: unpacked by install-peers.sh beside another package's /usr/bin/kubectl, or
 * /usr/bin/kubectl when dpkg says kubernetes-client owns it. Checked to be Debian's build.
 */
function debianKubectl(): { path: string; version: string } | string {
  const candidates = ['/opt/debian-kubernetes-client/usr/bin/kubectl'];
  try {
    if (
      /^kubernetes-client:/.test(
        execFileSync('dpkg-query', ['-S', '/usr/bin/kubectl'], {
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'ignore'],
        }),
      )
    )
      candidates.push('/usr/bin/kubectl');
  } catch {
    // not owned by any package
  }
  for (const path of candidates) {
    if (!existsSync(path)) continue;
    const v = JSON.parse(execFileSync(path, ['version', '--client', '-o', 'json'], { encoding: 'utf8' })) as {
      clientVersion: { gitVersion: string; gitTreeState: string };
    };
    // Debian builds kubectl from the source archive: gitTreeState "archive" (upstream's say "clean").
    if (v.clientVersion.gitTreeState === 'archive') return { path, version: v.clientVersion.gitVersion };
  }
  return `Debian's kubectl (package kubernetes-client) not found at ${candidates.join(' or ')}: run scripts/install-peers.sh`;
}

const found = debianKubectl();
let home: string;
let env: Record<string, string>;
let kubeconfig: string;
const seenVms = new Set<string>();

async function director(args: readonly string[]): Promise<DirectorRun> {
  const r = await runDirector(args, env);
  assert.equal(r.code, 0, `director ${args.join(' ')} failed:\n${r.stdout.slice(-3000)}\n${r.stderr}`);
  return r;
}

function kubectl(args: readonly string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  assert.ok(typeof found !== 'string');
  return new Promise((resolve) => {
    execFile(
      found.path,
      [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(home, 'kube-cache')}`, ...args],
      { timeout: 60_000, env: { PATH: process.env['PATH'] ?? '/usr/bin:/bin', HOME: home } },
      (err, stdout, stderr) => {
        const code = err
          ? typeof (err as { code?: unknown }).code === 'number'
            ? (err as { code: number }).code
            : 1
          : 0;
        // kubectl colours cluster-info even into a pipe
        resolve({ code, stdout: stdout.replace(ANSI_COLOUR, ''), stderr });
      },
    );
  });
}

async function ok(args: readonly string[]): Promise<string> {
  const r = await kubectl(args);
  assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

function workerIds(): string[] {
  const s = openStateStore(join(home, '.director', 'local', 'state.db'));
  try {
    s.vms.list().forEach((v) => v.cid && seenVms.add(v.cid));
    return s.instances
      .list(NAME)
      .filter((i) => i.group === 'worker')
      .map((i) => i.uuid)
      .sort();
  } finally {
    s.close();
  }
}

/** The node table's rows: name → status. */
async function nodes(): Promise<Map<string, string>> {
  const out = await ok(['get', 'nodes', '--no-headers']);
  return new Map(
    out
      .trim()
      .split('\n')
      .filter(Boolean)
      .map((l) => l.split(/\s+/) as [string, string]),
  );
}

async function eventually(what: string, check: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached in ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 500));
  }
}

async function deployWorkers(count: number): Promise<void> {
  await director([
    'deploy',
    '-d',
    NAME,
    CFCR,
    '-o',
    join(FIXTURES, 'cluster.yml'),
    '-o',
    join(repoRoot, 'ops-files', 'worker_count.yml'),
    '-v',
    `worker_count=${count}`,
    '-n',
  ]);
}

before(async () => {
  home = await mkdtemp(join(tmpdir(), 'director-kubectl-'));
  env = { HOME: home, DIRECTOR_HOME: join(home, '.director') };
  kubeconfig = join(home, 'kubeconfig');
});

after(async () => {
  if (existsSync(join(home, '.director', 'local', 'state.db'))) workerIds();
  await runDirector(['delete-env', '--force', '-n'], env);
  for (const cid of seenVms) await killMarkedProcesses('DIRECTOR_VM_ID', cid);
  await rm(home, { recursive: true, force: true });
});

test("Debian's kubectl against the deployed cluster", { timeout: 600_000 }, async (t) => {
  if (typeof found === 'string') {
    if (process.env['CI'] === 'true') assert.fail(found);
    t.skip(found);
    return;
  }
  assert.match(found.version, /^v1\.\d+\.\d+$/);
  assert.equal(
    await isListening(LB, 8443),
    false,
    `something already listens on ${LB}:8443: another kubectl e2e is running`,
  );
  await director(['create-env', join(repoRoot, 'manifests', 'env.yml'), '-o', join(FIXTURES, 'env-ops.yml')]);
  await director(['upload-release', join(repoRoot, 'release')]);
  await deployWorkers(3);
  writeFileSync(kubeconfig, (await director(['kubeconfig', '-d', NAME])).stdout, { mode: 0o600 });

  // get nodes: one Ready node per worker instance, named after it
  let workers = workerIds();
  assert.equal(workers.length, 3);
  await eventually(
    'three Ready nodes',
    async () => [...(await nodes()).values()].filter((s) => s === 'Ready').length === 3,
  );
  assert.deepEqual([...(await nodes()).keys()].sort(), workers);

  const ns = await ok(['get', 'namespaces']);
  assert.match(ns, /^NAME +STATUS +AGE$/m);
  for (const n of ['default', 'kube-system', 'kube-public']) assert.match(ns, new RegExp(`^${n} +Active +\\S+$`, 'm'));

  const pods = await kubectl(['get', 'pods', '-A']);
  assert.equal(pods.code, 0, pods.stderr);
  assert.match(pods.stderr, /No resources found/);

  const resources = await ok(['api-resources', '--no-headers', '-o', 'name']);
  assert.deepEqual(resources.trim().split('\n').sort(), [
    'configmaps',
    'daemonsets.apps',
    'deployments.apps',
    'events',
    'namespaces',
    'nodes',
    'pods',
    'replicasets.apps',
    'secrets',
    'serviceaccounts',
    'services',
  ]);

  assert.match(
    await ok(['cluster-info']),
    new RegExp(`^Kubernetes (control plane|master) is running at https://${LB.replace(/\./g, '\\.')}:8443$`, 'm'),
  );

  // cordon / uncordon
  const victim = workers[0]!;
  assert.match(await ok(['cordon', victim]), new RegExp(`node/${victim} cordoned`));
  assert.equal((await nodes()).get(victim), 'Ready,SchedulingDisabled');
  assert.match(await ok(['uncordon', victim]), new RegExp(`node/${victim} uncordoned`));
  assert.equal((await nodes()).get(victim), 'Ready');

  // a deployment is stored, never run: 0 of 1 ready, and no pod pretends to run
  assert.match(await ok(['create', 'deployment', 'web', '--image=nginx']), /deployment\.apps\/web created/);
  assert.match(await ok(['get', 'deployment', 'web', '--no-headers']), /^web +0\/1 +0 +0 +\S+$/m);

  // apply -f through the load balancer, get from the other master directly
  const cm = join(home, 'settings.yaml');
  writeFileSync(cm, 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\ndata:\n  colour: blue\n');
  assert.match(await ok(['apply', '-f', cm]), /configmap\/settings created/);
  const fromOther = await ok([
    `--server=https://${OTHER_MASTER}:8443`,
    'get',
    'configmap',
    'settings',
    '-o',
    'jsonpath={.data.colour}',
  ]);
  assert.equal(fromOther, 'blue');

  // workers 3 → 5 → 3: the nodes follow the instances
  await deployWorkers(5);
  workers = workerIds();
  assert.equal(workers.length, 5);
  await eventually(
    'five Ready nodes',
    async () => [...(await nodes()).values()].filter((s) => s === 'Ready').length === 5,
  );
  await deployWorkers(3);
  workers = workerIds();
  assert.equal(workers.length, 3);
  const left = await nodes();
  assert.deepEqual([...left.keys()].sort(), workers);
  assert.deepEqual([...left.values()], ['Ready', 'Ready', 'Ready']);
  const errand = await director(['run-errand', 'smoke-tests', '-d', NAME]);
  assert.match(errand.stdout, /3 of 3 worker instances have a Ready node/);
});
