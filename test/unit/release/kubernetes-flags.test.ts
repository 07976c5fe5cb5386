// Every flag the job templates render for a Kubernetes component must be one that component
// accepts: release/kubernetes-flags/<component>.txt holds its flag list, each file naming the
// upstream page it was read from and the version that page documents.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseYaml } from '../../../src/manifest/yaml.js';
import { toPlain, type YamlValue } from '../../../src/manifest/value.js';
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
const flagsDir = join(root, 'release', 'kubernetes-flags');

interface FlagList {
  readonly version: string;
  readonly header: string;
  readonly flags: ReadonlySet<string>;
}

function readFlagList(component: string): FlagList {
  const lines = readFileSync(join(flagsDir, `${component}.txt`), 'utf8').split('\n');
  const comments = lines.filter((l) => l.startsWith('#')).map((l) => l.replace(/^#\s?/, ''));
  const header = comments.join(' ');
  const version = /^version: (v\d+\.\d+)$/.exec(comments.find((c) => c.startsWith('version:')) ?? '')?.[1] ?? '';
  return { version, header, flags: new Set(lines.filter((l) => l.trim() && !l.startsWith('#')).map((l) => l.trim())) };
}

/** The component each job's ctl script runs, and that script's path. */
const CTL: Record<string, { readonly job: string; readonly script: string }> = {
  'kube-apiserver': { job: 'kube-apiserver', script: 'bin/kube_apiserver_ctl' },
  'kube-controller-manager': { job: 'kube-controller-manager', script: 'bin/kube_controller_manager_ctl' },
  'kube-scheduler': { job: 'kube-scheduler', script: 'bin/kube_scheduler_ctl' },
  kubelet: { job: 'kubelet', script: 'bin/kubelet_ctl' },
  'kube-proxy': { job: 'kube-proxy', script: 'bin/kube_proxy_ctl' },
};

/** The --flags a rendered ctl script passes to `run_kube`. */
function renderedFlags(script: string): string[] {
  const call = script.slice(script.indexOf('run_kube '));
  return [...call.matchAll(/"--([a-z0-9-]+)=/g)].map((m) => m[1]!);
}

test('each flag list names its upstream page and the version it documents', () => {
  const files = readdirSync(flagsDir).filter((f) => f.endsWith('.txt'));
  assert.ok(files.length >= 3, files.join(', '));
  for (const f of files) {
    const list = readFlagList(f.replace(/\.txt$/, ''));
    assert.match(
      list.header,
      /kubernetes\/website content\/(en|uk)\/docs\/reference\/command-line-tools-reference\/[a-z-]+\.md/,
      f,
    );
    assert.match(list.version, /^v1\.\d+$/, f);
    assert.ok(list.flags.size > 50, `${f}: ${list.flags.size} flags`);
    for (const flag of list.flags) assert.match(flag, /^[a-z0-9][a-z0-9_-]*$/, `${f}: '${flag}'`);
  }
  // The flags kubo v0.34's manifest passed that Kubernetes has since removed are not in them.
  assert.equal(readFlagList('kube-apiserver').flags.has('enable-swagger-ui'), false);
  assert.equal(readFlagList('kube-controller-manager').flags.has('port'), false);
  assert.equal(readFlagList('kube-scheduler').flags.has('address'), false);
});

test('every flag the templates render (cfcr.yml + local.yml) is in its component flag list', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'flags-test-'));
  const store = openStateStore(join(dir, 'state.db'));
  t.after(() => {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const blobs = openBlobstore(join(dir, 'blobs'));
  const up = await uploadRelease(join(root, 'release'), store, blobs, {
    fetch: () => Promise.reject(new Error('offline (test)')),
  });
  const view = findReleaseView(store, blobs, up.record.name, up.record.version);
  const readYaml = (rel: string): YamlValue => parseYaml(readFileSync(join(root, rel), 'utf8'), rel);
  const doc = await evaluateTemplate(
    new Ops([opsFromDefinitions(readYaml('ops-files/local.yml'), 'ops-files/local.yml')]).apply(
      readYaml('manifests/cfcr.yml'),
    ),
    {
      vars: new StaticVariables([['deployment_name', 'cfcr']]),
      store: new MemoryVariableStore(),
    },
  );
  const cloud = parseCloudConfig((toPlain(readYaml('manifests/env.yml')) as Record<string, unknown>)['cloud_config']);
  let n = 0;
  const plan = planDeployment({
    manifest: parseDeploymentManifest(toPlain(doc), cloud),
    cloud,
    recorded: [],
    releases: new Map([['kubo', view]]),
    newUuid: () => `uuid-${n++}`,
  });
  const rendered = [...plan.rendered.values()].flat();

  const checked: string[] = [];
  for (const file of readdirSync(flagsDir).filter((f) => f.endsWith('.txt'))) {
    const component = file.replace(/\.txt$/, '');
    const ctl = CTL[component];
    assert.ok(ctl, `no job runs ${component}`);
    const list = readFlagList(component);
    const job = rendered.find((j) => j.name === ctl.job);
    assert.ok(job, `no instance renders job ${ctl.job}`);
    const flags = renderedFlags(job.templates[ctl.script]!);
    assert.ok(flags.length >= 3, `${ctl.job}/${ctl.script}: ${flags.join(' ')}`);
    const unknown = flags.filter((f) => !list.flags.has(f));
    assert.deepEqual(
      unknown,
      [],
      `${ctl.job} renders flags ${component} ${list.version} does not have: ${unknown.map((f) => `--${f}`).join(', ')}`,
    );
    checked.push(component);
  }
  assert.deepEqual(checked.sort(), [
    'kube-apiserver',
    'kube-controller-manager',
    'kube-proxy',
    'kube-scheduler',
    'kubelet',
  ]);
});
