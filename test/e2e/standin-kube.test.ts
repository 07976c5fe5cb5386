import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { request } from 'node:https';
import { request as httpRequest } from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml } from '../../src/manifest/yaml.js';
import { toPlain } from '../../src/manifest/value.js';
import { opsFromDefinitions } from '../../src/manifest/patch/index.js';
import { evaluateTemplate } from '../../src/manifest/variables/template.js';
import { StaticVariables } from '../../src/manifest/variables/static-variables.js';
import { MemoryVariableStore } from '../../src/manifest/variables/memory-variable-store.js';
import { parseCloudConfig } from '../../src/plan/cloud-config.js';
import { parseDeploymentManifest } from '../../src/plan/deployment-manifest.js';
import { planDeployment, type RenderedJob } from '../../src/plan/plan.js';
import { openStateStore } from '../../src/state/index.js';
import { openBlobstore } from '../../src/release/blobstore.js';
import { uploadRelease } from '../../src/release/upload-release.js';
import { findReleaseView } from '../../src/release/release-view.js';
import { repoRoot } from '../unit/release/repo-root.js';
import { eventually, installJobs, readLog, runScript, startProcesses, stopAll, type Started } from '../unit/release/job-runner.js';

const MASTER = '127.78.0.10';
const WORKER = '127.78.0.20';

const cloud = parseCloudConfig({
  azs: [{ name: 'z1' }, { name: 'z2' }, { name: 'z3' }],
  vm_types: [{ name: 'minimal' }, { name: 'small' }, { name: 'small-highmem' }],
  networks: [{ name: 'default', subnets: [{ range: '127.78.0.0/24', gateway: '127.78.0.1', reserved: ['127.78.0.2-127.78.0.9'], static: [MASTER, WORKER], azs: ['z1', 'z2', 'z3'] }] }],
});

// manifests/cfcr.yml as it is, scaled to one master and one worker on this test's addresses.
const ops = `
- {type: replace, path: /instance_groups/name=master/instances, value: 1}
- {type: replace, path: /instance_groups/name=master/networks/name=default/static_ips?, value: [${MASTER}]}
- {type: replace, path: /instance_groups/name=worker/instances, value: 1}
- {type: replace, path: /instance_groups/name=worker/networks/name=default/static_ips?, value: [${WORKER}]}
- {type: replace, path: /variables/name=tls-kubernetes/options/alternative_names/-, value: ${MASTER}}
- {type: replace, path: /variables/name=tls-etcd-v0-29-0/options/alternative_names?, value: [${MASTER}, 127.0.0.1]}
`;

interface Reply {
  readonly status: number;
  readonly body: string;
}

function https(path: string, opts: { ca: string; token?: string; cert?: string; key?: string; method?: string; body?: unknown }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      { host: MASTER, port: 8443, path, method: opts.method ?? 'GET', ca: opts.ca, cert: opts.cert, key: opts.key, headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {}, timeout: 5000 },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c.toString()));
        res.on('end', () => resolve({ status: res.statusCode!, body }));
      },
    );
    req.on('error', reject);
    req.end(opts.body ? JSON.stringify(opts.body) : undefined);
  });
}

function healthz(host: string, port: number): Promise<Reply> {
  return new Promise((resolve, reject) => {
    httpRequest({ host, port, path: '/healthz', timeout: 5000 }, (res) => {
      let body = '';
      res.on('data', (c: Buffer) => (body += c.toString()));
      res.on('end', () => resolve({ status: res.statusCode!, body }));
    })
      .on('error', reject)
      .end();
  });
}

test('the stand-in control plane serves TLS and health, a stand-in kubelet registers, drain cordons, errands pass', { timeout: 90_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'standin-e2e-'));
  const started: Started[] = [];
  const store = openStateStore(join(dir, 'state.db'));
  t.after(async () => {
    await stopAll(started);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const root = repoRoot();
  const blobs = openBlobstore(join(dir, 'blobs'));
  const up = await uploadRelease(join(root, 'release'), store, blobs, { fetch: () => Promise.reject(new Error('offline (test)')) });
  const view = findReleaseView(store, blobs, 'kubo', up.record.version);
  const cfcr = parseYaml(readFileSync(join(root, 'manifests/cfcr.yml'), 'utf8'), 'manifests/cfcr.yml');
  const patched = opsFromDefinitions(parseYaml(ops, 'test-ops.yml'), 'test-ops.yml').apply(cfcr);
  const vars = new MemoryVariableStore();
  const doc = await evaluateTemplate(patched, { vars: new StaticVariables([['deployment_name', 'cfcr']]), store: vars });
  let n = 0;
  const plan = planDeployment({ manifest: parseDeploymentManifest(toPlain(doc), cloud), cloud, recorded: [], releases: new Map([['kubo', view]]), newUuid: () => `id-${n++}` });

  const instance = (group: string) => {
    const p = plan.groups.find((g) => g.group.name === group)!.plans[0]!.desired!;
    const jobs = plan.rendered.get(p.uuid)!;
    const dirOf = join(dir, group);
    installJobs(dirOf, jobs, blobs);
    return { uuid: p.uuid, root: dirOf, job: (name: string): RenderedJob => jobs.find((j) => j.name === name)! };
  };
  const master = instance('master');
  const worker = instance('worker');
  const smoke = instance('smoke-tests');
  const addons = instance('apply-addons');

  // The master's etcd first: the stand-in API server keeps its nodes there, as the real one does.
  assert.equal((await runScript(master.root, 'etcd', 'bin/pre-start')).code, 0);
  started.push(...startProcesses(master.root, master.job('etcd')));
  assert.equal((await runScript(master.root, 'etcd', 'bin/post-start')).code, 0);
  for (const job of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler']) started.push(...startProcesses(master.root, master.job(job)));
  for (const job of ['kubelet', 'kube-proxy']) started.push(...startProcesses(worker.root, worker.job(job)));

  const ca = readFileSync(join(master.root, 'jobs/kube-apiserver/config/kubernetes-ca.pem'), 'utf8');
  const admin = (await vars.get('kubo-admin-password')) as string;
  try {
    await eventually('apiserver /healthz', async () => (await https('/healthz', { ca })).body === 'ok', 30_000);
    await eventually(`node ${worker.uuid} registered and Ready`, async () => {
      const r = await https(`/api/v1/nodes/${worker.uuid}`, { ca, token: admin });
      return r.status === 200 && JSON.parse(r.body).status.conditions.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
    }, 30_000);
  } catch (err) {
    throw new Error(`${String(err)}\n${started.map((s) => `--- ${s.name}\n${readLog(s)}`).join('\n')}`);
  }
  assert.equal(JSON.parse((await https('/version', { ca })).body).standin, true);
  assert.equal((await https('/api/v1/nodes', { ca })).status, 401);
  assert.equal((await https('/api/v1/nodes', { ca, token: 'wrong' })).status, 401);
  const cert = readFileSync(join(master.root, 'jobs/kube-apiserver/config/kubelet-client-cert.pem'), 'utf8');
  const key = readFileSync(join(master.root, 'jobs/kube-apiserver/config/kubelet-client-key.pem'), 'utf8');
  const byCert = await https('/api/v1/nodes', { ca, cert, key });
  assert.equal(byCert.status, 200);
  assert.deepEqual(JSON.parse(byCert.body).items.map((i: { metadata: { name: string } }) => i.metadata.name), [worker.uuid]);

  for (const [host, port] of [[MASTER, 10252], [MASTER, 10251], [WORKER, 10248], [WORKER, 10256]] as const) {
    assert.deepEqual(await healthz(host, port), { status: 200, body: 'ok' }, `${host}:${port}`);
  }
  for (const s of started.filter((p) => p.name !== 'etcd/etcd')) assert.match(readLog(s), /running the STAND-IN .*kube-standin\.mjs/, s.name);
  // The node lives in etcd, where every master's API server finds it.
  const stored = await new Promise<string>((resolve, reject) =>
    execFile(join(master.root, 'jobs/etcd/bin/etcdctl'), ['get', `/registry/minions/${worker.uuid}`, '--print-value-only'], (err, out) => (err ? reject(err) : resolve(out))),
  );
  assert.equal(JSON.parse(stored).metadata.name, worker.uuid);

  // BOSH drain: cordon through the API server, print 0; post-start uncordons.
  const drain = await runScript(worker.root, 'kubelet', 'bin/drain');
  assert.equal(drain.stdout, '0\n', drain.stderr);
  assert.equal(drain.code, 0);
  assert.equal(JSON.parse((await https(`/api/v1/nodes/${worker.uuid}`, { ca, token: admin })).body).spec.unschedulable, true);
  assert.equal((await runScript(worker.root, 'kubelet', 'bin/post-start')).code, 0);
  assert.equal(JSON.parse((await https(`/api/v1/nodes/${worker.uuid}`, { ca, token: admin })).body).spec.unschedulable, false);

  const smokeRun = await runScript(smoke.root, 'smoke-tests', 'bin/run');
  assert.equal(smokeRun.code, 0, smokeRun.stderr);
  assert.match(smokeRun.stdout, new RegExp(`node ${worker.uuid}: Ready\\nsmoke tests passed`));
  const addonsRun = await runScript(addons.root, 'apply-specs', 'bin/run');
  assert.equal(addonsRun.code, 0, addonsRun.stderr);
  assert.match(addonsRun.stdout, /STAND-IN API server: addons not applied \(coredns, metrics-server, kubernetes-dashboard\)/);

  // Secrets stay out of the logs.
  for (const s of started) assert.ok(!readLog(s).includes(admin), `${s.name} log holds the admin password`);
});
