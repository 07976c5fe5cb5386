import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { DirectorError } from '../../errors.js';
import { parseYaml, parseYamlNamedKeys } from '../yaml.js';
import { goTypeName, isMap } from '../value.js';
import type { YamlValue } from '../value.js';
import { StaticVariables } from './static-variables.js';

/** The variable flags of a command, as given (each list in command-line order). */
export interface VarFlags {
  /** `-v name=value` */
  readonly varKVs: readonly string[];
  /** `--var-file name=path` */
  readonly varFiles: readonly string[];
  /** `-l path` */
  readonly varsFiles: readonly string[];
  /** `--vars-env PREFIX` */
  readonly varsEnv: readonly string[];
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly cwd: string;
  /** For `~` in `--var-file` and `--vars-store` paths (default: the user's home). */
  readonly home?: string | undefined;
}

/** bosh-utils' ExpandPath: `~` is the home folder; the result is absolute. */
export function expandPath(path: string, cwd: string, home: string = homedir()): string {
  let p = path;
  if (p === '~') p = home;
  else if (p.startsWith('~/')) p = join(home, p.slice(2));
  return isAbsolute(p) ? p : resolve(cwd, p);
}

function trimWrappingQuotes(s: string): string {
  if (s.length >= 2 && ((s.startsWith('"') && s.endsWith('"')) || (s.startsWith("'") && s.endsWith("'"))))
    return s.slice(1, -1);
  return s;
}

/**
 * `-v name=value`: the value is read as YAML (so `-v port=8080` is an integer and `-v m='{a: 1}'`
 * a map); a value that reads as a string is kept as typed, minus wrapping quotes.
 */
export function parseVarKV(arg: string): readonly [string, YamlValue] {
  const eq = arg.indexOf('=');
  if (eq < 0) throw new DirectorError(`Expected var '${arg}' to be in format 'name=value'`);
  const name = arg.slice(0, eq);
  const raw = arg.slice(eq + 1);
  if (name.length === 0) throw new DirectorError(`Expected var '${arg}' to specify non-empty name`);
  if (raw.length === 0) throw new DirectorError(`Expected var '${arg}' to specify non-empty value`);
  let value: YamlValue;
  try {
    value = parseYaml(raw, `-v ${name}`);
  } catch (err) {
    // bosh-cli names the whole argument; its value may be a secret, so only the name here.
    throw new DirectorError(`Deserializing variables '${name}=...'`, { cause: err });
  }
  return [name, typeof value === 'string' ? trimWrappingQuotes(raw) : value];
}

/** `--var-file name=path`: the file's content, as a string. */
export function readVarFile(arg: string, cwd: string, home?: string): readonly [string, YamlValue] {
  const eq = arg.indexOf('=');
  if (eq < 0) throw new DirectorError(`Expected var '${arg}' to be in format 'name=path'`);
  const name = arg.slice(0, eq);
  const path = arg.slice(eq + 1);
  if (name.length === 0) throw new DirectorError(`Expected var '${arg}' to specify non-empty name`);
  if (path.length === 0) throw new DirectorError(`Expected var '${arg}' to specify non-empty path`);
  const abs = expandPath(path, cwd, home);
  try {
    return [name, readFileSync(abs, 'utf8')];
  } catch (err) {
    throw new DirectorError(`Reading variable from file '${abs}'`, { cause: err });
  }
}

/** `-l path`: a YAML map of names to values (an empty file has none). */
export function readVarsFile(path: string, cwd: string): [string, YamlValue][] {
  if (path.length === 0) throw new DirectorError('Expected file path to be non-empty');
  const abs = resolve(cwd, path);
  let text: string;
  try {
    text = readFileSync(abs, 'utf8');
  } catch (err) {
    throw new DirectorError(`Reading variables file '${path}'`, { cause: err });
  }
  let doc: YamlValue;
  try {
    doc = parseYamlNamedKeys(text, path);
  } catch (err) {
    throw new DirectorError(`Deserializing variables file '${path}'`, { cause: err });
  }
  if (doc === null) return [];
  if (!isMap(doc))
    throw new DirectorError(`Deserializing variables file '${path}': expected a map, found '${goTypeName(doc)}'`);
  return [...doc].map(([k, v]) => [String(k), v]);
}

/** `--vars-env PREFIX`: every `PREFIX_name` environment variable, its value read as YAML. */
export function varsFromEnv(prefix: string, env: Readonly<Record<string, string | undefined>>): [string, YamlValue][] {
  if (prefix.length === 0) throw new DirectorError('Expected environment variable prefix to be non-empty');
  const out: [string, YamlValue][] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined || !key.startsWith(`${prefix}_`)) continue;
    try {
      out.push([key.slice(prefix.length + 1), parseYaml(value, `environment variable '${key}'`)]);
    } catch (err) {
      throw new DirectorError(`Deserializing YAML from environment variable '${key}'`, { cause: err });
    }
  }
  return out;
}

/**
 * The command line's values, with bosh-cli's precedence (VarFlags.AsVariables): by kind, not by
 * position — `-v` over `--var-file` over `-l` over `--vars-env`; within a kind, the later flag
 * wins. Top-level names only are merged (a later `-l` file replaces a map, it does not merge
 * into it). The vars store is not part of this: it is consulted after all of these.
 */
export function varsFromFlags(flags: VarFlags): StaticVariables {
  const merged = new Map<string, YamlValue>();
  const setAll = (entries: Iterable<readonly [string, YamlValue]>) => {
    for (const [k, v] of entries) {
      merged.delete(k); // the later flag also decides where the name sits
      merged.set(k, v);
    }
  };
  for (const prefix of flags.varsEnv) setAll(varsFromEnv(prefix, flags.env));
  for (const path of flags.varsFiles) setAll(readVarsFile(path, flags.cwd));
  for (const arg of flags.varFiles) setAll([readVarFile(arg, flags.cwd, flags.home)]);
  for (const arg of flags.varKVs) setAll([parseVarKV(arg)]);
  return new StaticVariables(merged);
}
