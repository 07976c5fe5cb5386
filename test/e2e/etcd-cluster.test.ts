import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { parseYaml } from '../../src/manifest/yaml.js';
import { toPlain } from '../../src/manifest/value.js';
import { evaluateTemplate } from '../../src/manifest/variables/template.js';
import { StaticVariables } from '../../src/manifest/variables/static-variables.js';
import { MemoryVariableStore } from '../../src/manifest/variables/memory-variable-store.js';
import { parseCloudConfig } from '../../src/plan/cloud-config.js';
import { parseDeploymentManifest } from '../../src/plan/deployment-manifest.js';
import { planDeployment } from '../../src/plan/plan.js';
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

const run = promisify(execFile);
const IPS = ['127.77.0.10', '127.77.0.11', '127.77.0.12'];

const cloud = parseCloudConfig({
  azs: [{ name: 'z1' }, { name: 'z2' }, { name: 'z3' }],
  vm_types: [{ name: 'small' }],
  networks: [
    {
      name: 'default',
      subnets: [
        { range: '127.77.0.0/24', gateway: '127.77.0.1', static: ['127.77.0.10-127.77.0.19'], azs: ['z1', 'z2', 'z3'] },
      ],
    },
  ],
});

// The etcd part of manifests/cfcr.yml (same properties, same variables, with the certificates
// naming the members' addresses as ops-files/local.yml makes them).
const manifestText = `
name: etcd-e2e
releases: [{name: kubo, version: RELEASE_VERSION}]
stemcells: [{alias: default, os: ubuntu-jammy, version: "1.0"}]
update: {canaries: 1, max_in_flight: 1, canary_watch_time: 1000, update_watch_time: 1000}
instance_groups:
- name: etcd
  azs: [z1, z2, z3]
  instances: 3
  vm_type: small
  stemcell: default
  persistent_disk: 1024
  networks: [{name: default, static_ips: [${IPS.join(', ')}]}]
  jobs:
  - name: etcd
    release: kubo
    properties:
      etcd: {dns_suffix: etcd.cfcr.internal}
      tls:
        etcd: {ca: ((etcd_ca.certificate)), certificate: ((tls-etcd-v0-29-0.certificate)), private_key: ((tls-etcd-v0-29-0.private_key))}
        etcdctl: {ca: ((tls-etcdctl-v0-29-0.ca)), certificate: ((tls-etcdctl-v0-29-0.certificate)), private_key: ((tls-etcdctl-v0-29-0.private_key))}
        peer: {ca: ((tls-etcd-v0-29-0.ca)), certificate: ((tls-etcd-v0-29-0.certificate)), private_key: ((tls-etcd-v0-29-0.private_key))}
variables:
- name: etcd_ca
  type: certificate
  options: {common_name: etcd.ca, is_ca: true}
- name: tls-etcd-v0-29-0
  type: certificate
  options: {ca: etcd_ca, common_name: '*.etcd.cfcr.internal', alternative_names: [${IPS.join(', ')}, 127.0.0.1], extended_key_usage: [client_auth, server_auth]}
- name: tls-etcdctl-v0-29-0
  type: certificate
  options: {ca: etcd_ca, common_name: etcdClient, extended_key_usage: [client_auth]}
`;

test('three etcd instances rendered from the release form a healthy TLS cluster', { timeout: 120_000 }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'etcd-e2e-'));
  const started: Started[] = [];
  const store = openStateStore(join(dir, 'state.db'));
  t.after(async () => {
    await stopAll(started);
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const blobs = openBlobstore(join(dir, 'blobs'));
  const up = await uploadRelease(join(repoRoot(), 'release'), store, blobs, {
    fetch: () => Promise.reject(new Error('offline (test)')),
  });
  const view = findReleaseView(store, blobs, 'kubo', up.record.version);
  const doc = await evaluateTemplate(
    parseYaml(manifestText.replace('RELEASE_VERSION', JSON.stringify(up.record.version)), 'etcd-e2e.yml'),
    { vars: new StaticVariables(), store: new MemoryVariableStore() },
  );
  let n = 0;
  const plan = planDeployment({
    manifest: parseDeploymentManifest(toPlain(doc), cloud),
    cloud,
    recorded: [],
    releases: new Map([['kubo', view]]),
    newUuid: () => `etcd-${n++}`,
  });

  const roots = plan.groups[0]!.plans.map((p) => {
    const root = join(dir, p.desired!.uuid);
    installJobs(root, plan.rendered.get(p.desired!.uuid)!, blobs);
    return root;
  });
  for (const root of roots) assert.equal((await runScript(root, 'etcd', 'bin/pre-start')).code, 0);
  // All three at once: the bootstrap member starts a new cluster, the others wait and join.
  for (const [i, root] of roots.entries()) started.push(...startProcesses(root, plan.rendered.get(`etcd-${i}`)![0]!));

  const etcdctl = (root: string, ...args: string[]) =>
    run(join(root, 'jobs/etcd/bin/etcdctl'), args, { timeout: 20_000 });
  try {
    await eventually(
      'etcd cluster healthy',
      async () => {
        // etcdctl 3.4 prints the health lines on stderr.
        const { stdout, stderr } = await etcdctl(roots[0]!, 'endpoint', 'health', '--cluster');
        return IPS.every((ip) => `${stdout}${stderr}`.includes(`https://${ip}:2379 is healthy`));
      },
      90_000,
    );
  } catch (err) {
    throw new Error(`${String(err)}\n${started.map((s) => `--- ${s.name}\n${readLog(s)}`).join('\n')}`);
  }
  const { stdout: members } = await etcdctl(roots[1]!, 'member', 'list', '-w', 'simple');
  assert.deepEqual(
    members
      .trim()
      .split('\n')
      .map((l) => l.split(', ').slice(1, 4).join(' '))
      .sort(),
    IPS.map((ip, i) => `started etcd-${i} https://${ip}:2380`),
  );
  for (const root of roots) assert.equal((await runScript(root, 'etcd', 'bin/post-start')).code, 0);
  assert.match(readLog(started[0]!), /initial cluster \(new\): etcd-0=https:\/\/127\.77\.0\.10:2380/);
  assert.match(readLog(started[2]!), /initial cluster \(existing\)/);

  // A write through one member is read back through another, over TLS with client certificates.
  await etcdctl(roots[2]!, 'put', '/director/e2e', 'hello');
  const ca = join(roots[0]!, 'jobs/etcd/config/etcd-ca.crt');
  const { stdout: got } = await run(
    '/usr/bin/etcdctl',
    [
      '--endpoints=https://127.77.0.10:2379',
      `--cacert=${ca}`,
      `--cert=${join(roots[0]!, 'jobs/etcd/config/etcdctl.crt')}`,
      `--key=${join(roots[0]!, 'jobs/etcd/config/etcdctl.key')}`,
      'get',
      '/director/e2e',
      '--print-value-only',
    ],
    { env: { ...process.env, ETCDCTL_API: '3' } },
  );
  assert.equal(got.trim(), 'hello');
  // Without a client certificate the member refuses the client.
  await assert.rejects(
    run(
      '/usr/bin/etcdctl',
      [
        '--endpoints=https://127.77.0.10:2379',
        `--cacert=${ca}`,
        '--dial-timeout=2s',
        '--command-timeout=3s',
        'get',
        '/director/e2e',
      ],
      { env: { ...process.env, ETCDCTL_API: '3' } },
    ),
  );
  // The drain script follows BOSH's protocol.
  assert.deepEqual(await runScript(roots[0]!, 'etcd', 'bin/drain'), { code: 0, stdout: '0\n', stderr: '' });
});
