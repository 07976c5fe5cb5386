import { DirectorError } from '../../errors.js';
import { goTypeName, isArray, isMap } from '../value.js';
import type { YamlKey, YamlMap, YamlValue } from '../value.js';

// bosh-cli's `\(\( ?(!?[-/\.\w\pL]+) ?\)\)`: Go's \w is ASCII, \pL any Unicode letter.
const NAME = String.raw`!?[-/.\w\p{L}]+`;
const REFERENCE = String.raw`\(\( ?(${NAME}) ?\)\)`;
const ANCHORED = new RegExp(`^${REFERENCE}$`, 'u');

/** The result of looking a name up: `found: false` leaves the reference in place. */
export type Lookup = { readonly found: true; readonly value: YamlValue } | { readonly found: false };

/** Looks up a full reference name (`tls.ca`, without `!`). Throws for a lookup that fails. */
export type LookupFn = (name: string) => Promise<Lookup>;

/** The names referenced in a string, in order, with a leading `!` removed (duplicates kept). */
export function referencedNames(s: string): string[] {
  return [...s.matchAll(new RegExp(REFERENCE, 'gu'))].map((m) => (m[1] ?? '').replace(/^!/, ''));
}

/** Whether the whole string is exactly one reference (then the value keeps its type). */
export function isWholeReference(s: string): boolean {
  return ANCHORED.test(s);
}

function isStringable(v: YamlValue): v is string | number {
  // Go's switch accepts string and the integer types; float64, bool, nil, maps and slices fail.
  return typeof v === 'string' || typeof v === 'bigint' || (typeof v === 'number' && Number.isInteger(v));
}

async function interpolateString(node: string, lookup: LookupFn): Promise<YamlValue> {
  let result = node;
  for (const name of referencedNames(node)) {
    let found: Lookup;
    try {
      found = await lookup(name);
    } catch (err) {
      throw new DirectorError(`Finding variable '${name}'`, { cause: err });
    }
    if (!found.found) continue;
    if (isWholeReference(result)) return found.value;
    if (!isStringable(found.value)) {
      // bosh-cli also prints the value ('%v'); it may be a secret, so it is left out here.
      throw new DirectorError(
        `Invalid type '${goTypeName(found.value)}' for variable '${name}'. Supported types for interpolation within a string are integers and strings.`,
      );
    }
    const text = String(found.value);
    // Like bosh-cli, only the exact forms `((name))` and `((!name))` are replaced in a string.
    result = result.split(`((${name}))`).join(text).split(`((!${name}))`).join(text);
  }
  return result;
}

function asKey(v: YamlValue, original: YamlKey): YamlKey {
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean') return v;
  throw new DirectorError(`Invalid type '${goTypeName(v)}' for map key '${String(original)}' (a map key must be a scalar)`);
}

/**
 * bosh-cli's interpolator: replaces `((name))` references everywhere in `node`, map keys
 * included (each value is interpolated before its key). Returns a new value; `node` is not
 * modified. A reference whose name is not found stays as it is.
 */
export async function interpolate(node: YamlValue, lookup: LookupFn): Promise<YamlValue> {
  if (isMap(node)) {
    const out: YamlMap = new Map();
    for (const [k, v] of node) {
      const value = await interpolate(v, lookup);
      const key = typeof k === 'string' ? asKey(await interpolateString(k, lookup), k) : k;
      out.set(key, value);
    }
    return out;
  }
  if (isArray(node)) {
    const out: YamlValue[] = [];
    for (const item of node) out.push(await interpolate(item, lookup));
    return out;
  }
  if (typeof node === 'string') return interpolateString(node, lookup);
  return node;
}
