import { DirectorError } from '../errors.js';
import { parseYaml } from '../manifest/yaml.js';
import { toPlain } from '../manifest/value.js';
import type { ReleaseView } from '../plan/plan.js';
import type { ReleaseRecord } from '../state/records.js';
import type { ReleaseState } from '../state/state-store.js';
import type { Blobstore } from './blobstore.js';
import { parseJobSpec, type JobSpec } from './job-spec.js';
import { unpackTar } from './tar.js';

interface LoadedJob {
  readonly spec: JobSpec;
  readonly templates: Readonly<Record<string, string>>;
}

/**
 * The planner's view of an uploaded release, read from its recorded blobs (jobs are unpacked on
 * first use). `packageDigests` lists the job's packages and everything they depend on, each by
 * its blob's sha256 — the id the agent fetches it by.
 */
export function storedReleaseView(record: ReleaseRecord, blobstore: Blobstore): ReleaseView {
  const label = `${record.name}/${record.version}`;
  const jobs = new Map<string, LoadedJob>();
  const packages = new Map(record.packages.map((p) => [p.name, p]));
  const load = (job: string): LoadedJob => {
    const cached = jobs.get(job);
    if (cached) return cached;
    const art = record.jobs.find((j) => j.name === job);
    if (!art)
      throw new DirectorError(
        `Job '${job}' is not in release ${label} (it has: ${record.jobs.map((j) => j.name).join(', ')})`,
      );
    try {
      const entries = unpackTar(blobstore.get(art.blobstorePath));
      const specEntry = entries.find((e) => e.path === 'spec.yml');
      if (!specEntry?.data) throw new DirectorError('the job blob has no spec.yml');
      const file = `${label}:jobs/${job}/spec.yml`;
      const spec = parseJobSpec(toPlain(parseYaml(specEntry.data.toString('utf8'), file)), file);
      const templates: Record<string, string> = {};
      for (const e of entries)
        if (e.data && e.path.startsWith('templates/'))
          templates[e.path.slice('templates/'.length)] = e.data.toString('utf8');
      const loaded = { spec, templates };
      jobs.set(job, loaded);
      return loaded;
    } catch (err) {
      throw new DirectorError(`Reading job '${job}' of release ${label}`, { cause: err });
    }
  };
  return {
    name: record.name,
    version: record.version,
    jobSpec: (job) => load(job).spec,
    jobTemplates: (job) => load(job).templates,
    packageDigests(job) {
      const out: Record<string, string> = {};
      const add = (name: string) => {
        if (out[name] !== undefined) return;
        const p = packages.get(name);
        if (!p) throw new DirectorError(`Package '${name}' of job '${job}' is not in release ${label}`);
        out[name] = p.blobstorePath;
        p.dependencies.forEach(add);
      };
      load(job).spec.packages.forEach(add);
      return Object.fromEntries(Object.entries(out).sort(([a], [b]) => (a < b ? -1 : 1)));
    },
  };
}

/** The view of release `name`/`version` as recorded; DirectorError if it was never uploaded. */
export function findReleaseView(
  store: { readonly releases: ReleaseState },
  blobstore: Blobstore,
  name: string,
  version: string,
): ReleaseView {
  const record = store.releases.find(name, version);
  if (!record)
    throw new DirectorError(
      `Release '${name}/${version}' has not been uploaded (releases: ${
        store.releases
          .list()
          .map((r) => `${r.name}/${r.version}`)
          .join(', ') || 'none'
      })`,
    );
  return storedReleaseView(record, blobstore);
}
