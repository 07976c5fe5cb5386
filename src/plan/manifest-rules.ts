import { itemPath, ValidationError, type Problem } from './validation.js';

/** The variable types the director generates: config-server's four, plus CredHub's `user`. */
export const VARIABLE_TYPES: readonly string[] = ['certificate', 'password', 'rsa', 'ssh', 'user'];

/**
 * Keys of a v1 deployment manifest (bosh before cloud-config) and where their v2 form lives.
 * bosh-cli's v2 manifests name vm_type/networks/azs per instance group, the rest in the cloud-config.
 */
const V1_KEYS: Readonly<Record<string, string>> = {
  resource_pools:
    "a v1 key: give each instance group a 'vm_type' and 'stemcell', and define vm_types in the cloud-config",
  networks: "a v1 key: networks belong in the cloud-config; instance groups name them under 'networks'",
  compilation: 'a v1 key: compilation belongs in the cloud-config',
  disk_pools: "a v1 key: give instance groups a 'persistent_disk_type', and define disk_types in the cloud-config",
  jobs: "a v1 key: v2 manifests list 'instance_groups', each with its 'jobs'",
};

const goKind = (v: unknown): string =>
  v === null
    ? 'null'
    : Array.isArray(v)
      ? 'a list'
      : typeof v === 'string'
        ? `a string ${short(v)}`
        : `${typeof v} ${short(v)}`;

/** A value as an error may show it: short, on one line. */
export function short(v: unknown): string {
  const s = typeof v === 'string' ? `'${v}'` : (JSON.stringify(v) ?? String(v));
  const line = s.replace(/\s*\n\s*/g, ' ');
  return line.length > 60 ? `${line.slice(0, 57)}...` : line;
}

/**
 * The root of a deployment manifest: a map (not empty, not a list or a scalar), with a `name`,
 * and none of the v1 keys. Throws one ValidationError naming `what` (the file) and each problem.
 */
export function checkManifestRoot(doc: unknown, what: string): void {
  if (doc === null || doc === undefined)
    throw new ValidationError(`Validating ${what}`, [
      {
        path: '',
        message: 'the manifest is empty (expected a map with name, releases, stemcells, update and instance_groups)',
      },
    ]);
  if (typeof doc !== 'object' || Array.isArray(doc))
    throw new ValidationError(`Validating ${what}`, [
      { path: '', message: `expected a map at the root, found ${goKind(doc)}` },
    ]);
  const root = doc as Record<string, unknown>;
  const problems: Problem[] = [];
  if (root['name'] === undefined || root['name'] === null || root['name'] === '')
    problems.push({ path: 'name', message: 'is required (the deployment name)' });
  for (const [key, v2] of Object.entries(V1_KEYS)) if (key in root) problems.push({ path: key, message: `is ${v2}` });
  if (problems.length) throw new ValidationError(`Validating ${what}`, problems);
}

interface VariableEntry {
  readonly name?: unknown;
  readonly type?: unknown;
  readonly options?: unknown;
}

/**
 * The `variables:` section: every entry has a known type; a certificate's `ca` names a
 * certificate defined there, or a value the command line gives (`given`, when known).
 */
export function variableProblems(section: unknown, given?: ReadonlySet<string>): Problem[] {
  if (!Array.isArray(section)) return [];
  const entries = section as (VariableEntry | null)[];
  const types = new Map<string, unknown>();
  for (const v of entries) if (v && typeof v.name === 'string') types.set(v.name, v.type);
  const problems: Problem[] = [];
  entries.forEach((v, i) => {
    if (!v || typeof v !== 'object') return;
    const at = itemPath('variables', i, typeof v.name === 'string' ? v.name : undefined);
    if (v.type === undefined || v.type === null || v.type === '') {
      problems.push({ path: `${at}.type`, message: `is required (one of ${VARIABLE_TYPES.join(', ')})` });
      return;
    }
    if (typeof v.type !== 'string' || !VARIABLE_TYPES.includes(v.type)) {
      problems.push({
        path: `${at}.type`,
        message: `unknown type ${short(v.type)} (expected one of ${VARIABLE_TYPES.join(', ')})`,
      });
      return;
    }
    const options =
      v.options && typeof v.options === 'object' && !Array.isArray(v.options)
        ? (v.options as Record<string, unknown>)
        : {};
    const ca = options['ca'];
    if (v.type !== 'certificate' || ca === undefined || ca === null || (typeof ca === 'string' && ca.includes('((')))
      return;
    if (typeof ca !== 'string' || ca === '') {
      problems.push({
        path: `${at}.options.ca`,
        message: `expected the name of a certificate variable, found ${short(ca)}`,
      });
      return;
    }
    if (types.has(ca)) {
      if (types.get(ca) !== 'certificate')
        problems.push({
          path: `${at}.options.ca`,
          message: `'${ca}' is not a certificate (its type is ${short(types.get(ca))})`,
        });
    } else if (given !== undefined && !given.has(ca)) {
      problems.push({
        path: `${at}.options.ca`,
        message: `'${ca}' is not defined (no variable of that name, and none given with -v, -l or --var-file)`,
      });
    }
  });
  return problems;
}

/** An update block's values that its schema cannot judge alone: watch ranges and percentages. */
export function checkUpdate(
  u: {
    readonly max_in_flight?: string | number | undefined;
    readonly canary_watch_time?: string | number | undefined;
    readonly update_watch_time?: string | number | undefined;
  },
  at: string,
  problems: Problem[],
): void {
  for (const key of ['canary_watch_time', 'update_watch_time'] as const) {
    const w = u[key];
    if (typeof w !== 'string' || !w.includes('-')) continue;
    const [min, max] = w.split('-').map((x) => Number(x.trim()));
    if (min! > max!)
      problems.push({
        path: `${at}.${key}`,
        message: `the minimum is greater than the maximum, found ${short(w)} (write 'min-max' in milliseconds)`,
      });
  }
  const m = u.max_in_flight;
  if (typeof m === 'string' && m.trim().endsWith('%')) {
    const pct = Number(m.trim().slice(0, -1));
    if (!(pct > 0 && pct <= 100))
      problems.push({
        path: `${at}.max_in_flight`,
        message: `expected a percentage from 1% to 100%, found ${short(m)}`,
      });
  } else if (typeof m === 'string' && Number(m) < 1) {
    problems.push({ path: `${at}.max_in_flight`, message: `expected at least 1, found ${short(m)}` });
  }
}
