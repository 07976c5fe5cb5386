import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { DirectorError } from '../errors.js';
import { FindOp, Ops, opsFromDefinitions, parsePointer, type Op } from './patch/index.js';
// The variables stage's own modules, not its index: the index also exports the generators, which
// (with node:crypto) load only when a value is generated.
import { FileVarsStore } from './variables/file-vars-store.js';
import { evaluateTemplate } from './variables/template.js';
import { varsFromFlags, type VarFlags } from './variables/var-flags.js';
import type { VariableStore } from './variables/variables.js';
import type { YamlValue } from './value.js';
import { parseYaml, stringifyYaml } from './yaml.js';

/**
 * The interpolation stage shared by `int`, `create-env` and `deploy`, in bosh-cli's fixed order:
 * parse → ops-files → variables → `--path`. Each failure names the file and the path inside it.
 */
export interface InterpolateRequest {
  /** The manifest file, or `-` for standard input (then `stdinText` holds it). */
  readonly manifest: string;
  readonly stdinText?: string;
  readonly opsFiles: readonly string[];
  readonly varFlags: VarFlags;
  /** `--vars-store PATH`, or a store of the caller's (the deploy-time config server). */
  readonly varsStore?: string | VariableStore;
  readonly expectAllKeys?: boolean;
  readonly expectAllVarsUsed?: boolean;
  /** `--path /pointer`: extract one value after variables are resolved. */
  readonly path?: string;
  readonly home?: string;
}

function readFile(path: string, cwd: string, what: string): string {
  try {
    return readFileSync(resolve(cwd, path), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    throw new DirectorError(
      `Reading ${what} '${path}': ${code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'is a directory' : (err as Error).message}`,
    );
  }
}

/** Reads a YAML file into the document model; errors name the file, line and column. */
export function loadYamlFile(path: string, cwd: string, what = 'file'): YamlValue {
  return parseYaml(readFile(path, cwd, what), path);
}

/** Reads the ops-files into one op, in order. */
export function loadOps(paths: readonly string[], cwd: string): Op {
  return new Ops(paths.map((p) => opsFromDefinitions(loadYamlFile(p, cwd, 'ops-file'), p)));
}

/** The manifest with its ops-files applied, before variables: what deploy records and diffs. */
export function manifestWithOps(
  req: Pick<InterpolateRequest, 'manifest' | 'stdinText' | 'opsFiles' | 'varFlags'>,
): YamlValue {
  const cwd = req.varFlags.cwd;
  const text = req.manifest === '-' ? (req.stdinText ?? '') : readFile(req.manifest, cwd, 'manifest');
  const doc = parseYaml(text, req.manifest === '-' ? '<stdin>' : req.manifest);
  return loadOps(req.opsFiles, cwd).apply(doc);
}

/** Runs the whole stage and returns the document (or the value at `path`). */
export async function interpolateManifest(req: InterpolateRequest): Promise<YamlValue> {
  const doc = manifestWithOps(req);
  const vars = varsFromFlags(req.varFlags);
  const store =
    typeof req.varsStore === 'string'
      ? FileVarsStore.fromFlag(req.varsStore, req.varFlags.cwd, req.home)
      : req.varsStore;
  const evaluated = await evaluateTemplate(doc, {
    vars,
    store,
    expectAllKeys: req.expectAllKeys ?? false,
    expectAllVarsUsed: req.expectAllVarsUsed ?? false,
  });
  if (req.path === undefined) return evaluated;
  return new FindOp(parsePointer(req.path)).apply(evaluated);
}

/** What `int` prints: YAML as bosh-cli prints it; a string found with `--path` is printed raw. */
export function formatInterpolated(value: YamlValue, withPath: boolean): string {
  if (withPath && typeof value === 'string') return `${value}\n`;
  return stringifyYaml(value);
}
