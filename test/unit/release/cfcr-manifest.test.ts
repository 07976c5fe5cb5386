import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { X509Certificate } from 'node:crypto';
import { parseYaml } from '../../../src/manifest/yaml.js';
import { isMap, toPlain, type YamlValue } from '../../../src/manifest/value.js';
import { Ops, opsFromDefinitions } from '../../../src/manifest/patch/index.js';
import { evaluateTemplate } from '../../../src/manifest/variables/template.js';
import { StaticVariables } from '../../../src/manifest/variables/static-variables.js';
import { MemoryVariableStore } from '../../../src/manifest/variables/memory-variable-store.js';
import { parseCloudConfig } from '../../../src/plan/cloud-config.js';
import { parseDeploymentManifest } from '../../../src/plan/deployment-manifest.js';
import { planDeployment } from '../../../src/plan/plan.js';
import { openStateStore } from '../../../src/state/index.js';
import { openBlobstore } from '../../../src/release/blobstore.js';
import { uploadRelease } from '../../../src/release/upload-release.js';
import { findReleaseView } from '../../../src/release/release-view.js';
import { repoRoot } from './repo-root.js';

const root = repoRoot();
const readYaml = (rel: string): YamlValue => parseYaml(readFileSync(join(root, rel), 'utf8'), rel);
const withOps = (files: readonly string[]): YamlValue =>
  new Ops(files.map((f) => opsFromDefinitions(readYaml(f), f))).apply(readYaml('manifests/cfcr.yml'));
const env = toPlain(readYaml('manifests/env.yml')) as Record<string, unknown>;
const cloud = parseCloudConfig(env['cloud_config']);

/** Every combination the ops-files' comments document, with the variables they need. */
// local.yml first: its certificate options are the ones the shared store generates with.
const combinations: readonly { readonly files: readonly string[]; readonly vars?: Record<string, YamlValue> }[] = [
  { files: ['ops-files/local.yml'] },
  { files: [] },
  { files: ['ops-files/local.yml', 'ops-files/worker_count.yml'], vars: { worker_count: 5 } },
  { files: ['ops-files/local.yml', 'ops-files/single-master.yml', 'ops-files/local-single-master.yml'] },
  { files: ['ops-files/local.yml', 'ops-files/separate-etcd.yml', 'ops-files/local-separate-etcd.yml'] },
  { files: ['ops-files/use-vm-extensions.yml'] },
  {
    files: [
      'ops-files/worker_count.yml',
      'ops-files/single-master.yml',
      'ops-files/separate-etcd.yml',
      'ops-files/use-vm-extensions.yml',
    ],
    vars: { worker_count: 2 },
  },
  {
    files: ['ops-files/use-vm-extensions.yml', 'ops-files/azure-cloud-provider.yml'],
    vars: Object.fromEntries(
      [
        'azure_cloud_name',
        'location',
        'primary_availability_set',
        'resource_group_name',
        'default_security_group',
        'subnet_name',
        'subscription_id',
        'tenant_id',
        'vnet_name',
        'vnet_resource_group_name',
      ].map((n) => [n, `${n}-value`]),
    ),
  },
];

/** One store for the file, as one --vars-store would be: certificates are generated once (RSA keys are slow). */
const variables = new MemoryVariableStore();

async function uploaded(t: { after: (fn: () => void) => void }) {
  const dir = mkdtempSync(join(tmpdir(), 'cfcr-test-'));
  const store = openStateStore(join(dir, 'state.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const blobs = openBlobstore(join(dir, 'blobs'));
  // No network here: every source is unreachable, so containerd, etcd and kubernetes take their fallbacks.
  const up = await uploadRelease(join(root, 'release'), store, blobs, {
    fetch: () => Promise.reject(new Error('offline (test)')),
  });
  assert.deepEqual(up.fallbacks.map((f) => f.package).sort(), ['containerd', 'etcd', 'kubernetes']);
  return findReleaseView(store, blobs, up.record.name, up.record.version);
}

test('every documented ops-file combination applies and the result plans and renders every job', async (t) => {
  const view = await uploaded(t);
  let n = 0;
  for (const combo of combinations) {
    const label = combo.files.join(' ') || 'cfcr.yml alone';
    const doc = await evaluateTemplate(withOps(combo.files), {
      vars: new StaticVariables([['deployment_name', 'cfcr'], ...Object.entries(combo.vars ?? {})]),
      store: variables,
      expectAllKeys: true,
    });
    const manifest = parseDeploymentManifest(toPlain(doc), cloud);
    const plan = planDeployment({
      manifest,
      cloud,
      recorded: [],
      releases: new Map([['kubo', view]]),
      newUuid: () => `uuid-${n++}`,
    });
    const rendered = [...plan.rendered.values()].flat();
    assert.ok(rendered.length > 0, label);
    for (const job of rendered)
      for (const [path, text] of Object.entries(job.templates))
        assert.ok(!text.includes('undefined'), `${label}: ${job.name}/${path} renders 'undefined'`);
    const groups = Object.fromEntries(plan.groups.map((g) => [g.group.name, g.plans.length]));
    if (combo.files.includes('ops-files/single-master.yml')) assert.equal(groups['master'], 1, label);
    if (combo.files.includes('ops-files/separate-etcd.yml')) assert.equal(groups['etcd'], 3, label);
    if (combo.vars?.['worker_count'] !== undefined) assert.equal(groups['worker'], combo.vars['worker_count'], label);
  }
});

test('cfcr.yml with local.yml: 3 masters and 3 workers, real certificates, cluster wiring through links', async (t) => {
  const view = await uploaded(t);
  const doc = await evaluateTemplate(withOps(['ops-files/local.yml']), {
    vars: new StaticVariables([['deployment_name', 'cfcr']]),
    store: variables,
    expectAllKeys: true,
  });
  assert.ok(isMap(doc));
  const manifest = parseDeploymentManifest(toPlain(doc), cloud);
  let n = 0;
  const plan = planDeployment({
    manifest,
    cloud,
    recorded: [],
    releases: new Map([['kubo', view]]),
    newUuid: () => `uuid-${n++}`,
  });
  assert.deepEqual(
    plan.groups.map(
      (g) => `${g.group.name}: ${g.plans.map((p) => `${p.desired!.az}/${p.desired!.networks[0]!.ip}`).join(' ')}`,
    ),
    [
      'apply-addons: z1/127.10.0.40',
      'master: z1/127.10.0.10 z2/127.10.0.11 z3/127.10.0.12',
      'worker: z1/127.10.0.41 z2/127.10.0.42 z3/127.10.0.43',
      'smoke-tests: z1/127.10.0.44',
    ],
  );
  const master0 = plan.groups[1]!.plans[0]!;
  assert.deepEqual(master0.desired!.cloudProperties, { load_balancer: 'cfcr-lb' });
  assert.equal(master0.desired!.persistentDisk.size, 5120);
  const jobs = new Map(plan.rendered.get(master0.desired!.uuid)!.map((j) => [j.name, j]));
  assert.deepEqual([...jobs.keys()], ['kube-apiserver', 'kube-controller-manager', 'kube-scheduler', 'etcd']);

  const etcd = jobs.get('etcd')!;
  assert.deepEqual(etcd.processes, [{ name: 'etcd', executable: 'jobs/etcd/bin/etcd_ctl', args: [], env: {} }]);
  const utils = etcd.templates['bin/utils.sh']!;
  assert.match(utils, /^BOOTSTRAP=true$/m);
  assert.match(
    utils,
    /^ALL_PEERS="uuid-1=https:\/\/127\.10\.0\.10:2380,uuid-2=https:\/\/127\.10\.0\.11:2380,uuid-3=https:\/\/127\.10\.0\.12:2380"$/m,
  );
  const cert = new X509Certificate(etcd.templates['config/etcd.crt']!);
  assert.match(cert.subjectAltName!, /IP Address:127\.10\.0\.10/);
  assert.ok(cert.verify(new X509Certificate(etcd.templates['config/etcd-ca.crt']!).publicKey));

  const api = jobs.get('kube-apiserver')!;
  const ctl = api.templates['bin/kube_apiserver_ctl']!;
  assert.match(
    ctl,
    /"--etcd-servers=https:\/\/127\.10\.0\.10:2379,https:\/\/127\.10\.0\.11:2379,https:\/\/127\.10\.0\.12:2379"/,
  );
  assert.match(ctl, /"--secure-port=8443"/);
  assert.match(ctl, /"--tls-cert-file=\$\{ROOT\}\/jobs\/kube-apiserver\/config\/kubernetes\.pem"/);
  // cfcr's ((tls-kubernetes.certificate))((tls-kubernetes.ca)): the chain, leaf first.
  const chain = api.templates['config/kubernetes.pem']!;
  assert.equal(chain.match(/BEGIN CERTIFICATE/g)!.length, 2);
  const leaf = new X509Certificate(chain);
  assert.match(leaf.subjectAltName!, /IP Address:127\.10\.0\.250/);
  const admin = (await variables.get('kubo-admin-password')) as string;
  assert.ok(api.templates['config/tokens.csv']!.startsWith(`${admin},admin,admin,"system:masters"\n`));
  assert.deepEqual(Object.keys(api.packages), ['kube-standin', 'kubernetes']);

  const worker0 = plan.groups[2]!.plans[0]!;
  const kubelet = plan.rendered.get(worker0.desired!.uuid)!.find((j) => j.name === 'kubelet')!;
  assert.match(kubelet.templates['config/kubeconfig']!, /server: https:\/\/127\.10\.0\.250:8443/);
  assert.match(kubelet.templates['bin/drain']!, /drain-node --kubeconfig="\$KC" --node=uuid-4\n/);
});
