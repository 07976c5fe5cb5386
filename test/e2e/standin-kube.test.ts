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
import {
  eventually,
  installJobs,
  readLog,
  runScript,
  startProcesses,
  stopAll,
  type Started,
} from '../unit/release/job-runner.js';

const MASTER = '127.78.0.10';
const WORKER = '127.78.0.20';

const cloud = parseCloudConfig({
  azs: [{ name: 'z1' }, { name: 'z2' }, { name: 'z3' }],
  vm_types: [{ name: 'minimal' }, { name: 'small' }, { name: 'small-highmem' }],
  networks: [
    {
      name: 'default',
      subnets: [
        {
          range: '127.78.0.0/24',
          gateway: '127.78.0.1',
          reserved: ['127.78.0.2-127.78.0.9'],
          static: [MASTER, WORKER],
          azs: ['z1', 'z2', 'z3'],
        },
      ],
    },
  ],
});

// manifests/cfcr.yml as it is, scaled to one master and one worker on this test's addresses.
const ops = `
- {type: replace, path: /instance_groups/name=master/instances, value: 1}
- {type: replace, path: /instance_groups/name=master/networks/name=default/static_ips?, value: [${MASTER}]}
- {type: replace, path: /instance_groups/name=worker/instances, value: 1}
- {type: replace, path: /instance_groups/name=worker/networks/name=default/static_ips?, value: [${WORKER}]}
- {type: replace, path: /variables/name=tls-kubernetes/options/alternative_names/-, value: ${MASTER}}
- {type: replace, path: /variables/name=tls-etcd-v0-29-0/options/alternative_names?, value: [${MASTER}, 127.0.0.1]}
- {type: replace, path: /instance_groups/name=master/jobs/name=kube-controller-manager/properties/k8s-args/node-monitor-grace-period?, value: 3s}
- {type: replace, path: /instance_groups/name=master/jobs/name=kube-controller-manager/properties/k8s-args/node-monitor-period?, value: 500ms}
- {type: replace, path: /instance_groups/name=worker/jobs/name=kubelet/properties/kubelet-configuration/nodeStatusUpdateFrequency?, value: 1s}
- {type: replace, path: /instance_groups/name=smoke-tests/jobs/name=smoke-tests/properties/timeout-sec?, value: 2}
`;

interface Reply {
  readonly status: number;
  readonly body: string;
}

function https(
  path: string,
  opts: {
    ca: string;
    token?: string;
    cert?: string;
    key?: string;
    method?: string;
    body?: unknown;
    contentType?: string;
  },
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: MASTER,
        port: 8443,
        path,
        method: opts.method ?? 'GET',
        ca: opts.ca,
        cert: opts.cert,
        key: opts.key,
        headers: {
          ...(opts.token ? { authorization: `Bearer ${opts.token}` } : {}),
          ...(opts.body ? { 'content-type': opts.contentType ?? 'application/json' } : {}),
        },
        timeout: 5000,
      },
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

/** A watch on `path` (?watch=true): the events received so far, and a stop function. */
function watchEvents(
  path: string,
  opts: { ca: string; token: string },
): { events: { type: string; name: string; unschedulable: boolean }[]; stop: () => void } {
  const events: { type: string; name: string; unschedulable: boolean }[] = [];
  const req = request(
    { host: MASTER, port: 8443, path, ca: opts.ca, headers: { authorization: `Bearer ${opts.token}` } },
    (res) => {
      let buf = '';
      res.on('data', (c: Buffer) => {
        buf += c.toString();
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const ev = JSON.parse(buf.slice(0, nl)) as {
            type: string;
            object: { metadata: { name: string }; spec?: { unschedulable?: boolean } };
          };
          buf = buf.slice(nl + 1);
          events.push({
            type: ev.type,
            name: ev.object.metadata.name,
            unschedulable: ev.object.spec?.unschedulable === true,
          });
        }
      });
      res.on('error', () => {});
    },
  );
  req.on('error', () => {});
  req.end();
  return { events, stop: () => req.destroy() };
}

const isReady = (node: { status: { conditions: { type: string; status: string }[] } }) =>
  node.status.conditions.some((c) => c.type === 'Ready' && c.status === 'True');

test(
  'the stand-in control plane: nodes in etcd follow their kubelets, drain deletes the node, NotReady after the grace period, errands tell the truth',
  { timeout: 120_000 },
  async (t) => {
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
    const up = await uploadRelease(join(root, 'release'), store, blobs, {
      fetch: () => Promise.reject(new Error('offline (test)')),
    });
    const view = findReleaseView(store, blobs, 'kubo', up.record.version);
    const cfcr = parseYaml(readFileSync(join(root, 'manifests/cfcr.yml'), 'utf8'), 'manifests/cfcr.yml');
    const patched = opsFromDefinitions(parseYaml(ops, 'test-ops.yml'), 'test-ops.yml').apply(cfcr);
    const vars = new MemoryVariableStore();
    const doc = await evaluateTemplate(patched, {
      vars: new StaticVariables([['deployment_name', 'cfcr']]),
      store: vars,
    });
    let n = 0;
    const plan = planDeployment({
      manifest: parseDeploymentManifest(toPlain(doc), cloud),
      cloud,
      recorded: [],
      releases: new Map([['kubo', view]]),
      newUuid: () => `id-${n++}`,
    });

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

    // The master's etcd first: the stand-in API server keeps its objects there, as the real one does.
    assert.equal((await runScript(master.root, 'etcd', 'bin/pre-start')).code, 0);
    started.push(...startProcesses(master.root, master.job('etcd')));
    assert.equal((await runScript(master.root, 'etcd', 'bin/post-start')).code, 0);
    for (const job of ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler'])
      started.push(...startProcesses(master.root, master.job(job)));
    let kubelet = startProcesses(worker.root, worker.job('kubelet'));
    started.push(...kubelet, ...startProcesses(worker.root, worker.job('kube-proxy')));

    const ca = readFileSync(join(master.root, 'jobs/kube-apiserver/config/kubernetes-ca.pem'), 'utf8');
    const admin = (await vars.get('kubo-admin-password')) as string;
    const node = async () => {
      const r = await https(`/api/v1/nodes/${worker.uuid}`, { ca, token: admin });
      return r.status === 200 ? JSON.parse(r.body) : undefined;
    };
    try {
      await eventually('apiserver /healthz', async () => (await https('/healthz', { ca })).body === 'ok', 30_000);
      await eventually(`node ${worker.uuid} registered and Ready`, async () => isReady(await node()), 30_000);
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
    assert.deepEqual(
      JSON.parse(byCert.body).items.map((i: { metadata: { name: string } }) => i.metadata.name),
      [worker.uuid],
    );

    for (const [host, port] of [
      [MASTER, 10259],
      [WORKER, 10248],
      [WORKER, 10256],
    ] as const) {
      assert.deepEqual(await healthz(host, port), { status: 200, body: 'ok' }, `${host}:${port}`);
    }
    // the controller-manager's secure port: HTTPS with its tls.kube-controller-manager certificate
    const kcmCa = readFileSync(join(master.root, 'jobs/kube-controller-manager/config/ca.pem'), 'utf8');
    const kcm = await new Promise<Reply>((resolve, reject) =>
      request(
        { host: MASTER, port: 10257, path: '/healthz', ca: kcmCa, checkServerIdentity: () => undefined, timeout: 5000 },
        (res) => {
          let body = '';
          res.on('data', (c: Buffer) => (body += c.toString()));
          res.on('end', () => resolve({ status: res.statusCode!, body }));
        },
      )
        .on('error', reject)
        .end(),
    );
    assert.deepEqual(kcm, { status: 200, body: 'ok' });
    for (const s of started.filter((p) => p.name !== 'etcd/etcd'))
      assert.match(readLog(s), /running the STAND-IN .*kube-standin\.mjs/, s.name);
    const etcdGet = (k: string) =>
      new Promise<string>((resolve, reject) =>
        execFile(join(master.root, 'jobs/etcd/bin/etcdctl'), ['get', k, '--print-value-only'], (err, out) =>
          err ? reject(err) : resolve(out),
        ),
      );
    // The node and the namespaces live in etcd, where every master's API server finds them.
    assert.equal(JSON.parse(await etcdGet(`/registry/minions/${worker.uuid}`)).metadata.name, worker.uuid);
    assert.equal(JSON.parse(await etcdGet('/registry/namespaces/kube-system')).metadata.name, 'kube-system');

    // The smoke-tests errand counts the Ready node of the one worker instance.
    const smokeRun = await runScript(smoke.root, 'smoke-tests', 'bin/run');
    assert.equal(smokeRun.code, 0, smokeRun.stderr);
    assert.match(
      smokeRun.stdout,
      new RegExp(`node ${worker.uuid}: Ready\\n1 of 1 worker instances have a Ready node\\nsmoke tests passed`),
    );

    // apply-addons applies its specs into the API: the objects are stored (and never run).
    const addonsRun = await runScript(addons.root, 'apply-specs', 'bin/run');
    assert.equal(addonsRun.code, 0, addonsRun.stderr + addonsRun.stdout);
    assert.match(addonsRun.stdout, /deployment\.apps\/coredns created/);
    assert.match(addonsRun.stdout, /namespace\/kubernetes-dashboard created/);
    const coredns = JSON.parse(
      (await https('/apis/apps/v1/namespaces/kube-system/deployments/coredns', { ca, token: admin })).body,
    );
    assert.deepEqual([coredns.spec.replicas, coredns.status.readyReplicas], [2, 0]);
    assert.equal((await https('/api/v1/namespaces/kube-system/services/kube-dns', { ca, token: admin })).status, 200);
    const again = await runScript(addons.root, 'apply-specs', 'bin/run');
    assert.equal(again.code, 0, again.stderr);
    assert.match(again.stdout, /deployment\.apps\/coredns unchanged/);

    // Optimistic concurrency through etcd: a write with a stale resourceVersion is refused with 409.
    const cmPath = '/api/v1/namespaces/default/configmaps';
    const created = await https(cmPath, {
      ca,
      token: admin,
      method: 'POST',
      body: { metadata: { name: 'rv-check' }, data: { a: '1' } },
    });
    assert.equal(created.status, 201, created.body);
    const rv1 = JSON.parse(created.body).metadata.resourceVersion as string;
    const updated = await https(`${cmPath}/rv-check`, {
      ca,
      token: admin,
      method: 'PUT',
      body: { metadata: { name: 'rv-check', resourceVersion: rv1 }, data: { a: '2' } },
    });
    assert.equal(updated.status, 200, updated.body);
    assert.notEqual(JSON.parse(updated.body).metadata.resourceVersion, rv1);
    const stale = await https(`${cmPath}/rv-check`, {
      ca,
      token: admin,
      method: 'PUT',
      body: { metadata: { name: 'rv-check', resourceVersion: rv1 }, data: { a: '3' } },
    });
    assert.equal(stale.status, 409, stale.body);
    assert.equal(JSON.parse(stale.body).reason, 'Conflict');
    const stalePatch = await https(`${cmPath}/rv-check`, {
      ca,
      token: admin,
      method: 'PATCH',
      contentType: 'application/merge-patch+json',
      body: { metadata: { resourceVersion: rv1 }, data: { a: '4' } },
    });
    assert.equal(stalePatch.status, 409, stalePatch.body);
    assert.equal(JSON.parse((await https(`${cmPath}/rv-check`, { ca, token: admin })).body).data.a, '2');
    assert.equal(
      (await https(cmPath, { ca, token: admin, method: 'POST', body: { metadata: { name: 'rv-check' } } })).status,
      409,
    );
    // A pod is stored and stays Pending, with an event saying why.
    const pod = await https('/api/v1/namespaces/default/pods', {
      ca,
      token: admin,
      method: 'POST',
      body: { metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } },
    });
    assert.equal(pod.status, 201, pod.body);
    assert.equal(JSON.parse(pod.body).status.phase, 'Pending');
    const events = JSON.parse(
      (await https('/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3Dp1', { ca, token: admin }))
        .body,
    ).items;
    assert.deepEqual(
      events.map((e: { reason: string }) => e.reason),
      ['FailedScheduling'],
    );
    assert.match(events[0].message, /runs no containers/);

    // BOSH drain (before an update or a deletion): cordon, then the node is deleted; a watch sees both.
    const watch = watchEvents(`/api/v1/nodes?watch=true&resourceVersion=${(await node()).metadata.resourceVersion}`, {
      ca,
      token: admin,
    });
    t.after(() => watch.stop());
    const drain = await runScript(worker.root, 'kubelet', 'bin/drain');
    assert.equal(drain.stdout, '0\n', drain.stderr);
    assert.equal(drain.code, 0);
    assert.match(drain.stderr, new RegExp(`node/${worker.uuid} cordoned\\nnode/${worker.uuid} deleted`));
    assert.equal(await node(), undefined);
    await eventually(
      'the watch to see the cordon and the deletion',
      () => watch.events.some((e) => e.type === 'DELETED'),
      10_000,
    );
    assert.deepEqual(
      watch.events
        .filter((e) => e.type !== 'MODIFIED' || e.unschedulable)
        .slice(0, 2)
        .map((e) => [e.type, e.name, e.unschedulable]),
      [
        ['MODIFIED', worker.uuid, true],
        ['DELETED', worker.uuid, true],
      ],
    );
    // the kubelet, still running, does not bring it back (as a real one, it registers when it starts)
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal(await node(), undefined);
    const smokeWithout = await runScript(smoke.root, 'smoke-tests', 'bin/run');
    assert.equal(smokeWithout.code, 1, smokeWithout.stdout);
    assert.match(smokeWithout.stdout, new RegExp(`worker instance ${worker.uuid}: no node registered`));
    assert.match(smokeWithout.stderr, /0 Ready nodes of current worker instances, expected 1 \(1 worker instances\)/);
    const post = await runScript(worker.root, 'kubelet', 'bin/post-start');
    assert.equal(post.code, 0, post.stderr);

    // The kubelet restarts (the job is started again after an update): its node is back and Ready.
    await stopAll(kubelet);
    kubelet = startProcesses(worker.root, worker.job('kubelet'));
    started.push(...kubelet);
    await eventually('the node registered again', async () => isReady(await node()), 20_000);
    assert.equal(
      JSON.parse((await https(`/api/v1/nodes/${worker.uuid}`, { ca, token: admin })).body).spec.unschedulable,
      undefined,
    );

    // The kubelet stops posting status: the controller-manager's node lifecycle marks it NotReady
    // after the grace period (3 s here), and the smoke tests fail.
    await stopAll(kubelet);
    await eventually(
      'the node NotReady',
      async () => {
        const ready = (await node()).status.conditions.find((c: { type: string }) => c.type === 'Ready');
        return ready.status === 'Unknown' && ready.reason === 'NodeStatusUnknown';
      },
      20_000,
    );
    const smokeNotReady = await runScript(smoke.root, 'smoke-tests', 'bin/run');
    assert.equal(smokeNotReady.code, 1, smokeNotReady.stdout);
    assert.match(smokeNotReady.stdout, new RegExp(`node ${worker.uuid}: NotReady\\n`));

    // Secrets stay out of the logs.
    for (const s of started) assert.ok(!readLog(s).includes(admin), `${s.name} log holds the admin password`);
  },
);
