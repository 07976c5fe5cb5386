import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { DirectorError } from '../errors.js';
import { parseYaml } from '../manifest/yaml.js';
import { toPlain, type Plain } from '../manifest/value.js';
import { problemsFromZod, ValidationError, type Problem } from '../plan/validation.js';
import { parseJobSpec, type JobSpec } from './job-spec.js';
import { parsePackageSpec, type PackageSpec } from './package-spec.js';

/**
 * A release as a folder on disk (this project's release format):
 *
 *   release.yml                      name, version
 *   jobs/<job>/spec.yml              the job spec (job-spec.ts)
 *   jobs/<job>/templates/<file>      EJS templates named in the spec
 *   packages/<pkg>/spec.yml          the package spec (package-spec.ts)
 *   packages/<pkg>/<folder>          its `files` or `fallback` folder
 */
export interface ReleaseDir {
  readonly dir: string;
  readonly name: string;
  readonly version: string;
  readonly jobs: ReadonlyMap<string, ReleaseDirJob>;
  readonly packages: ReadonlyMap<string, ReleaseDirPackage>;
}

export interface ReleaseDirJob {
  readonly name: string;
  readonly dir: string;
  readonly spec: JobSpec;
  readonly specText: string;
  /** Template source name → text. */
  readonly templates: Readonly<Record<string, string>>;
}

export interface ReleaseDirPackage {
  readonly name: string;
  readonly dir: string;
  readonly spec: PackageSpec;
}

const releaseSchema = z.object({
  name: z.string().min(1),
  version: z.union([z.string().min(1), z.number()]).transform(String),
});

function readDoc(root: string, rel: string, problems: Problem[]): Plain | undefined {
  const file = join(root, rel);
  if (!existsSync(file)) {
    problems.push({ path: rel, message: 'file is missing' });
    return undefined;
  }
  try {
    return toPlain(parseYaml(readFileSync(file, 'utf8'), rel));
  } catch (err) {
    problems.push({
      path: rel,
      message: err instanceof Error ? err.message.replace(/^Parsing YAML file '[^']*': /, '') : String(err),
    });
    return undefined;
  }
}

function at(file: string, ps: readonly Problem[]): Problem[] {
  return ps.map((p) => ({ path: p.path ? `${file}: ${p.path}` : file, message: p.message }));
}

function subdirs(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => e.isDirectory())
    .map((e) => e.name)
    .sort();
}

/**
 * Reads and validates a release folder. Every problem of every file is reported at once, each
 * with its file and the path inside it; ValidationError otherwise.
 */
export function loadReleaseDir(dir: string): ReleaseDir {
  const root = resolve(dir);
  if (!existsSync(root) || !statSync(root).isDirectory())
    throw new DirectorError(`Loading release '${dir}': not a directory`);
  const problems: Problem[] = [];

  let name = '';
  let version = '';
  const relDoc = readDoc(root, 'release.yml', problems);
  if (relDoc !== undefined) {
    const r = releaseSchema.safeParse(relDoc ?? {});
    if (r.success) ({ name, version } = r.data);
    else problems.push(...at('release.yml', problemsFromZod(r.error.issues)));
  }

  const packages = new Map<string, ReleaseDirPackage>();
  for (const pkg of subdirs(join(root, 'packages'))) {
    const rel = `packages/${pkg}/spec.yml`;
    const doc = readDoc(root, rel, problems);
    if (doc === undefined) continue;
    const r = parsePackageSpec(doc);
    problems.push(...at(rel, r.problems));
    if (!r.spec) continue;
    if (r.spec.name !== pkg)
      problems.push({ path: `${rel}: name`, message: `must be '${pkg}' (the folder's name), found '${r.spec.name}'` });
    const pdir = join(root, 'packages', pkg);
    for (const key of ['files', 'fallback'] as const) {
      const folder = r.spec[key];
      if (folder !== undefined && !(existsSync(join(pdir, folder)) && statSync(join(pdir, folder)).isDirectory())) {
        problems.push({ path: `${rel}: ${key}`, message: `folder 'packages/${pkg}/${folder}' does not exist` });
      }
    }
    packages.set(pkg, { name: pkg, dir: pdir, spec: r.spec });
  }
  for (const p of packages.values()) {
    p.spec.dependencies.forEach((d, i) => {
      if (!packages.has(d))
        problems.push({
          path: `packages/${p.name}/spec.yml: dependencies[${i}]`,
          message: `package '${d}' is not in the release`,
        });
    });
  }
  const cycle = findCycle(packages);
  if (cycle)
    problems.push({
      path: `packages/${cycle[0]}/spec.yml: dependencies`,
      message: `dependency cycle: ${cycle.join(' -> ')}`,
    });

  const jobs = new Map<string, ReleaseDirJob>();
  for (const job of subdirs(join(root, 'jobs'))) {
    const rel = `jobs/${job}/spec.yml`;
    const doc = readDoc(root, rel, problems);
    if (doc === undefined) continue;
    let spec: JobSpec;
    try {
      spec = parseJobSpec(doc, rel);
    } catch (err) {
      if (err instanceof ValidationError) problems.push(...at(rel, err.problems));
      else problems.push({ path: rel, message: err instanceof Error ? err.message : String(err) });
      continue;
    }
    if (spec.name !== job)
      problems.push({ path: `${rel}: name`, message: `must be '${job}' (the folder's name), found '${spec.name}'` });
    const jdir = join(root, 'jobs', job);
    const templates: Record<string, string> = {};
    for (const src of Object.keys(spec.templates)) {
      const file = join(jdir, 'templates', src);
      if (src.split('/').includes('..') || !existsSync(file))
        problems.push({
          path: `${rel}: templates.${src}`,
          message: `template file 'jobs/${job}/templates/${src}' is missing`,
        });
      else templates[src] = readFileSync(file, 'utf8');
    }
    spec.packages.forEach((p, i) => {
      if (!packages.has(p))
        problems.push({ path: `${rel}: packages[${i}]`, message: `package '${p}' is not in the release` });
    });
    jobs.set(job, { name: job, dir: jdir, spec, specText: readFileSync(join(root, rel), 'utf8'), templates });
  }
  if (problems.length > 0) throw new ValidationError(`Loading release '${dir}'`, problems);
  return { dir: root, name, version, jobs, packages };
}

function findCycle(packages: ReadonlyMap<string, ReleaseDirPackage>): string[] | undefined {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (n: string, path: string[]): string[] | undefined => {
    if (state.get(n) === 'done' || !packages.has(n)) return undefined;
    if (state.get(n) === 'visiting') return [...path.slice(path.indexOf(n)), n];
    state.set(n, 'visiting');
    for (const d of packages.get(n)!.spec.dependencies) {
      const c = visit(d, [...path, n]);
      if (c) return c;
    }
    state.set(n, 'done');
    return undefined;
  };
  for (const n of [...packages.keys()].sort()) {
    const c = visit(n, []);
    if (c) return c;
  }
  return undefined;
}

/** Every file under `dir` as tar entries with paths relative to `dir` (modes kept, sorted). */
export function folderEntries(dir: string, prefix = ''): { path: string; mode: number; data?: Buffer }[] {
  const out: { path: string; mode: number; data?: Buffer }[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const full = join(dir, e.name);
    const rel = `${prefix}${e.name}`;
    if (e.isDirectory()) {
      out.push({ path: `${rel}/`, mode: 0o755 });
      out.push(...folderEntries(full, `${rel}/`));
    } else if (e.isFile()) {
      out.push({ path: rel, mode: statSync(full).mode & 0o111 ? 0o755 : 0o644, data: readFileSync(full) });
    }
  }
  return out;
}
