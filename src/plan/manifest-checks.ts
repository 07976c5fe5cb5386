import type { JobSpec } from '../release/job-spec.js';
import type { CloudConfig } from './cloud-config.js';
import { parseDeploymentManifest } from './deployment-manifest.js';
import { resolveLinks } from './links.js';
import { checkManifestRoot, variableProblems } from './manifest-rules.js';
import { formatPath, ValidationError, type Problem } from './validation.js';

/** The places (as formatPath prints them) of every string holding a `((placeholder))`. */
function placeholderPaths(doc: unknown): string[] {
  const out: string[] = [];
  const walk = (v: unknown, path: PropertyKey[]): void => {
    if (typeof v === 'string') {
      if (v.includes('((')) out.push(formatPath(path, doc));
    } else if (Array.isArray(v)) v.forEach((x, i) => walk(x, [...path, i]));
    else if (v !== null && typeof v === 'object') for (const [k, x] of Object.entries(v)) walk(x, [...path, k]);
  };
  walk(doc, []);
  return out;
}

/** True when `problem` is about a value a variable will fill in later (so it is not the operator's mistake yet). */
function awaitsVariable(problem: Problem, placeholders: readonly string[]): boolean {
  if (problem.path.includes('((') || problem.message.includes('((')) return true;
  return placeholders.some(
    (ph) =>
      ph === problem.path ||
      problem.path.startsWith(`${ph}.`) ||
      /^(\[\d+\]|\.[^.[' ]+| '[^']*')$/.test(ph.startsWith(problem.path) ? ph.slice(problem.path.length) : ''),
  );
}

export interface PrecheckInput {
  /** The manifest with ops-files and the command line's variables applied (plain JSON). */
  readonly doc: unknown;
  /** What the errors name: `deployment manifest 'cfcr.yml'`. */
  readonly what: string;
  readonly cloud: CloudConfig;
  /** Names the command line gives values for (`-v`, `-l` ...). */
  readonly given: ReadonlySet<string>;
  /** The job's spec from an uploaded release, `undefined` when it is not uploaded yet. */
  readonly specOf: (release: string, job: string) => JobSpec | undefined;
}

/**
 * Everything that can be refused before a deploy writes anything: the manifest's shape, its
 * variable definitions, its references into the cloud-config and its links against the release
 * specs. Values still to come from generated variables are not judged here (the full validation
 * after interpolation judges them). Throws one ValidationError with every problem.
 */
export function precheckDeploymentManifest(input: PrecheckInput): void {
  const { doc, what } = input;
  checkManifestRoot(doc, what);
  const problems = variableProblems((doc as Record<string, unknown>)['variables'], input.given);
  const placeholders = placeholderPaths(doc);
  let manifest: ReturnType<typeof parseDeploymentManifest> | undefined;
  try {
    manifest = parseDeploymentManifest(doc, input.cloud, what);
  } catch (e) {
    if (!(e instanceof ValidationError)) throw e;
    problems.push(...e.problems.filter((p) => !awaitsVariable(p, placeholders)));
  }
  if (manifest && problems.length === 0) {
    const specs = manifest.instanceGroups.flatMap((g) => g.jobs.map((j) => input.specOf(j.release, j.name)));
    if (specs.every((s) => s !== undefined)) {
      try {
        resolveLinks(manifest.name, manifest.instanceGroups, (r, j) => input.specOf(r, j)!, new Map());
      } catch (e) {
        if (!(e instanceof ValidationError)) throw e;
        problems.push(...e.problems.filter((p) => !awaitsVariable(p, placeholders)));
      }
    }
  }
  const unique = problems.filter(
    (p, i) => problems.findIndex((q) => q.path === p.path && q.message === p.message) === i,
  );
  if (unique.length) throw new ValidationError(`Validating ${what}`, unique);
}
