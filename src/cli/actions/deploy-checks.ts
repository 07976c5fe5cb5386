import { evaluateTemplate, type Variables } from '../../manifest/variables/index.js';
import { toPlain, type YamlValue } from '../../manifest/value.js';
import { parseYaml } from '../../manifest/yaml.js';
import { parseCloudConfig } from '../../plan/cloud-config.js';
import { checkManifestRoot } from '../../plan/manifest-rules.js';
import { ValidationError } from '../../plan/validation.js';
import { precheckDeploymentManifest } from '../../plan/manifest-checks.js';
import type { Blobstore } from '../../release/blobstore.js';
import type { JobSpec } from '../../release/job-spec.js';
import { storedReleaseView } from '../../release/release-view.js';
import type { ReleaseView } from '../../plan/plan.js';
import type { StateStore } from '../../state/index.js';

/**
 * Refuses a deployment manifest before `deploy` writes anything (no deployment row, no
 * variables, no release upload): its shape, variable definitions, cloud-config references and
 * links, judged against the environment's recorded cloud-config and uploaded releases. Reads the
 * state and writes nothing. `file` is the manifest path as the operator gave it.
 */
export async function checkBeforeDeploy(
  store: StateStore,
  blobstore: Blobstore,
  deployment: string,
  file: string,
  raw: YamlValue,
  given: Variables,
): Promise<void> {
  const what = `deployment manifest '${file}'`;
  checkManifestRoot(toPlain(raw), what);
  // `-d NAME` answers ((deployment_name)) as the deploy itself does.
  const named: Variables = {
    get: (n) => given.get(n) ?? (n === 'deployment_name' ? deployment : undefined),
    names: () => [...given.names(), 'deployment_name'],
  };
  const doc = toPlain(await evaluateTemplate(raw, { vars: named }));
  const found = (doc as Record<string, unknown>)['name'];
  if (typeof found === 'string' && found !== deployment && !found.includes('((')) {
    throw new ValidationError(`Validating ${what}`, [
      { path: 'name', message: `the manifest is for deployment '${found}', not '${deployment}' (-d ${deployment})` },
    ]);
  }
  const cc = store.cloudConfigs.latest();
  if (!cc) return; // prepare says "No cloud-config: run create-env first"
  const cloud = parseCloudConfig(toPlain(parseYaml(cc.content, 'cloud-config')), `cloud-config version ${cc.version}`);
  const views = new Map<string, ReleaseView | undefined>();
  const versions = new Map<string, string>();
  const releases = (doc as { releases?: unknown }).releases;
  if (Array.isArray(releases))
    for (const r of releases as { name?: unknown; version?: unknown }[])
      if (r && typeof r.name === 'string') versions.set(r.name, String(r.version ?? 'latest'));
  const view = (name: string): ReleaseView | undefined => {
    if (!views.has(name)) {
      const all = store.releases.list().filter((r) => r.name === name);
      const want = versions.get(name);
      const rec =
        want === 'latest'
          ? all.sort((a, b) => a.version.localeCompare(b.version, undefined, { numeric: true })).pop()
          : all.find((r) => r.version === want);
      views.set(name, rec ? storedReleaseView(rec, blobstore) : undefined);
    }
    return views.get(name);
  };
  const specOf = (release: string, job: string): JobSpec | undefined => {
    try {
      return view(release)?.jobSpec(job);
    } catch {
      return undefined; // a job the release lacks: the full validation names it
    }
  };
  precheckDeploymentManifest({ doc, what, cloud, given: new Set(given.names()), specOf });
}
