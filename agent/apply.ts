// apply: installs packages and rendered job templates (content-addressed, so the same spec twice
// changes nothing) and hands the supervisor the new processes. Only changed jobs restart.
import {
  cpSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { dirname, join, resolve, sep } from 'node:path';
import { AgentFailure } from './failure.js';
import { canonicalJson, replaceSymlink, sha256 } from './files.js';
import type { AgentLayout } from './layout.js';
import type { ApplyRequest, ApplyValue, JobSpec, PackageSpec } from './protocol.js';
import { extractTar } from './tar.js';

const NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]*$/;

/** The content hash of a job: templates, packages, processes and properties. */
export function jobHash(job: JobSpec): string {
  return sha256(
    canonicalJson({
      name: job.name,
      templates: job.templates,
      packages: [...job.packages].map((p) => [p.name, p.sha256]).sort(),
      processes: job.processes,
      properties: job.properties ?? {},
    }),
  );
}

/** Throws bad_request naming the first invalid field. */
export function validateApply(req: ApplyRequest): void {
  if (req === null || typeof req !== 'object' || !Array.isArray(req.jobs))
    throw new AgentFailure('bad_request', 'apply: expected {jobs: [...]}');
  const seen = new Set<string>();
  req.jobs.forEach((job, i) => {
    const at = `jobs[${i}]`;
    if (typeof job?.name !== 'string' || !NAME.test(job.name))
      throw new AgentFailure('bad_request', `apply: ${at}.name must be a plain name`);
    if (seen.has(job.name)) throw new AgentFailure('bad_request', `apply: job '${job.name}' appears twice`);
    seen.add(job.name);
    if (job.templates === null || typeof job.templates !== 'object')
      throw new AgentFailure('bad_request', `apply: ${at}.templates must be a map of path to content`);
    for (const [path, content] of Object.entries(job.templates)) {
      if (path.startsWith('/') || path.split('/').some((s) => s === '..' || s === '') || typeof content !== 'string') {
        throw new AgentFailure(
          'bad_request',
          `apply: ${at}.templates['${path}'] must be a relative path inside the job with string content`,
        );
      }
    }
    if (!Array.isArray(job.packages)) throw new AgentFailure('bad_request', `apply: ${at}.packages must be a list`);
    (job.packages as readonly PackageSpec[]).forEach((p, j) => {
      if (
        typeof p?.name !== 'string' ||
        !NAME.test(p.name) ||
        typeof p.sha256 !== 'string' ||
        !/^[0-9a-f]{64}$/.test(p.sha256) ||
        typeof p.path !== 'string'
      ) {
        throw new AgentFailure('bad_request', `apply: ${at}.packages[${j}] must be {name, sha256 (hex), path}`);
      }
    });
    if (!Array.isArray(job.processes)) throw new AgentFailure('bad_request', `apply: ${at}.processes must be a list`);
    const names = new Set<string>();
    (job.processes as JobSpec['processes']).forEach((p, j) => {
      if (typeof p?.name !== 'string' || !NAME.test(p.name) || names.has(p.name))
        throw new AgentFailure('bad_request', `apply: ${at}.processes[${j}].name must be a unique plain name`);
      names.add(p.name);
      if (typeof p.executable !== 'string' || p.executable === '')
        throw new AgentFailure('bad_request', `apply: ${at}.processes[${j}].executable must be a path or command`);
      if (!Array.isArray(p.args) || p.args.some((a: unknown) => typeof a !== 'string'))
        throw new AgentFailure('bad_request', `apply: ${at}.processes[${j}].args must be a list of strings`);
    });
  });
}

function inside(root: string, rel: string): string {
  const abs = resolve(root, rel);
  if (abs !== root && !abs.startsWith(root + sep))
    throw new AgentFailure('bad_request', `path '${rel}' is outside the agent root`);
  return abs;
}

/** Installs a package into packages/.store/<sha256> (once) and points packages/<name> at it. */
function installPackage(layout: AgentLayout, pkg: PackageSpec): void {
  const stored = join(layout.packagesStore, pkg.sha256);
  if (!existsSync(stored)) {
    const source = inside(layout.root, pkg.path);
    let st;
    try {
      st = statSync(source);
    } catch {
      throw new AgentFailure('not_found', `package '${pkg.name}': no uploaded blob at '${pkg.path}'`);
    }
    const tmp = `${stored}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    if (st.isDirectory()) {
      cpSync(source, tmp, { recursive: true, verbatimSymlinks: true });
    } else {
      const raw = readFileSync(source);
      if (sha256(raw) !== pkg.sha256)
        throw new AgentFailure(
          'bad_request',
          `package '${pkg.name}': blob '${pkg.path}' does not have sha256 ${pkg.sha256}`,
        );
      try {
        extractTar(raw, tmp);
      } catch (err) {
        rmSync(tmp, { recursive: true, force: true });
        throw new AgentFailure('bad_request', `package '${pkg.name}': ${(err as Error).message}`);
      }
    }
    renameSync(tmp, stored);
  }
  replaceSymlink(`.store/${pkg.sha256}`, join(layout.packagesDir, pkg.name));
}

function currentJobHash(layout: AgentLayout, job: string): string | undefined {
  try {
    const link = layout.jobDir(job);
    if (!lstatSync(link).isSymbolicLink()) return undefined;
    return readlinkSync(link).replace(/^\.store\//, '');
  } catch {
    return undefined;
  }
}

/** Writes a job's templates into jobs/.store/<hash> (once) and points jobs/<job> at it. */
function installJob(layout: AgentLayout, job: JobSpec, hash: string): void {
  const stored = join(layout.jobsStore, hash);
  if (!existsSync(stored)) {
    const tmp = `${stored}.tmp-${process.pid}`;
    rmSync(tmp, { recursive: true, force: true });
    mkdirSync(tmp, { recursive: true, mode: 0o750 });
    for (const [path, content] of Object.entries(job.templates)) {
      const file = join(tmp, path);
      mkdirSync(dirname(file), { recursive: true, mode: 0o750 });
      writeFileSync(file, content, { mode: path.startsWith('bin/') ? 0o750 : 0o640 });
    }
    mkdirSync(join(tmp, '.bosh'), { mode: 0o700 });
    writeFileSync(join(tmp, '.bosh', 'properties.json'), JSON.stringify(job.properties ?? {}), { mode: 0o600 });
    renameSync(tmp, stored);
  }
  replaceSymlink(`.store/${hash}`, layout.jobDir(job.name));
  mkdirSync(layout.jobLogDir(job.name), { recursive: true });
  mkdirSync(layout.jobRunDir(job.name), { recursive: true });
}

/** Removes stored job and package versions nothing points at any more. */
export function collectGarbage(
  layout: AgentLayout,
  liveJobs: ReadonlySet<string>,
  livePackages: ReadonlySet<string>,
): void {
  for (const [store, live] of [
    [layout.jobsStore, liveJobs],
    [layout.packagesStore, livePackages],
  ] as const) {
    if (!existsSync(store)) continue;
    for (const entry of readdirSync(store))
      if (!live.has(entry)) rmSync(join(store, entry), { recursive: true, force: true });
  }
}

export interface ApplyOutcome extends ApplyValue {
  readonly hashes: ReadonlyMap<string, string>;
  readonly livePackages: ReadonlySet<string>;
}

/** Installs everything; the caller hands the supervisor the new desired state, then calls removeStale. */
export function installJobs(layout: AgentLayout, req: ApplyRequest, previousJobs: readonly string[]): ApplyOutcome {
  validateApply(req);
  const changed: string[] = [];
  const unchanged: string[] = [];
  const hashes = new Map<string, string>();
  const livePackages = new Set<string>();
  for (const job of req.jobs) {
    for (const pkg of job.packages) {
      installPackage(layout, pkg);
      livePackages.add(pkg.sha256);
    }
    const hash = jobHash(job);
    hashes.set(job.name, hash);
    if (currentJobHash(layout, job.name) === hash && existsSync(join(layout.jobsStore, hash))) unchanged.push(job.name);
    else {
      installJob(layout, job, hash);
      changed.push(job.name);
    }
  }
  const wanted = new Set(req.jobs.map((j) => j.name));
  const onDisk = existsSync(layout.jobsDir) ? readdirSync(layout.jobsDir).filter((n) => !n.startsWith('.')) : [];
  const removed = [...new Set([...previousJobs, ...onDisk])].filter((n) => !wanted.has(n) && !n.includes('.tmp-'));
  return { changed, unchanged, removed, hashes, livePackages };
}

/**
 * Removes what the applied spec no longer has: the links of removed jobs and unused packages, then
 * the stored versions nothing points at. Called once the supervisor has stopped the removed jobs'
 * processes, so that none of them is restarted from a folder that is already gone.
 */
export function removeStale(layout: AgentLayout, outcome: ApplyOutcome): void {
  for (const name of outcome.removed) rmSync(layout.jobDir(name), { recursive: true, force: true });
  for (const name of existsSync(layout.packagesDir) ? readdirSync(layout.packagesDir) : []) {
    if (name.startsWith('.')) continue;
    const link = join(layout.packagesDir, name);
    const target = lstatSync(link).isSymbolicLink() ? readlinkSync(link).replace(/^\.store\//, '') : undefined;
    if (target === undefined || !outcome.livePackages.has(target)) rmSync(link, { recursive: true, force: true });
  }
  collectGarbage(layout, new Set(outcome.hashes.values()), outcome.livePackages);
}
