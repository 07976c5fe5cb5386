import { DirectorError } from '../../errors.js';
import { goTypeName, isArray, isMap } from '../value.js';
import type { YamlKey, YamlMap, YamlValue } from '../value.js';

// bosh-cli's `\(\( ?(!?[-/\.\w\pL]+) ?\)\)`: Go's \w is ASCII, \pL any Unicode letter.
const NAME = String.raw`!?[-/.\w\p{L}]+`;
const REFERENCE = String.raw`\(\( ?(${NAME}) ?\)\)`;
const ANCHORED = new RegExp(`^${REFERENCE}$`, 'u');
/** Global, so its `lastIndex` is state: only `referencedNames` uses it, from 0 to the end, synchronously. */
const REFERENCES = new RegExp(REFERENCE, 'gu');

/** The result of looking a name up: `found: false` leaves the reference in place. */
export type Lookup = { readonly found: true; readonly value: YamlValue } | { readonly found: false };

/** Looks up a full reference name (`tls.ca`, without `!`). Throws for a lookup that fails. */
export type LookupFn = (name: string) => Promise<Lookup>;

/** The names referenced in a string, in order, with a leading `!` removed (duplicates kept). */
export function referencedNames(s: string): string[] {
  // Most strings of a manifest hold no reference: skip the (Unicode) regular expression for them.
  if (!s.includes('((')) return [];
  const names: string[] = [];
  REFERENCES.lastIndex = 0;
  for (let m = REFERENCES.exec(s); m !== null; m = REFERENCES.exec(s)) {
    const name = m[1] ?? '';
    names.push(name.startsWith('!') ? name.slice(1) : name);
  }
  return names;
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
  if (v === null || typeof v === 'string' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'boolean')
    return v;
  throw new DirectorError(
    `Invalid type '${goTypeName(v)}' for map key '${String(original)}' (a map key must be a scalar)`,
  );
}

/** A string of the document that holds `((`, in the order bosh-cli's walk reaches it. */
interface Occurrence {
  readonly text: string;
  /** A map key: its result must be a scalar. */
  readonly key: boolean;
}

/**
 * The strings that may hold references, in the order bosh-cli's interpolator visits them: depth
 * first, each map value before its key. Adds to `holding` every map and array that has one
 * inside; returns whether `node` has one.
 */
function collect(node: YamlValue, into: Occurrence[], holding: Set<YamlValue>): boolean {
  let found = false;
  if (isMap(node)) {
    for (const [k, v] of node) {
      if (collect(v, into, holding)) found = true;
      if (typeof k === 'string' && k.includes('((')) {
        into.push({ text: k, key: true });
        found = true;
      }
    }
  } else if (isArray(node)) {
    for (const item of node) if (collect(item, into, holding)) found = true;
  } else if (typeof node === 'string' && node.includes('((')) {
    into.push({ text: node, key: false });
    return true;
  }
  if (found) holding.add(node);
  return found;
}

/**
 * `node` with the strings that held `((` replaced, in `collect`'s order, by `next()`. Maps and
 * arrays with nothing to replace inside are shared, not copied (documents are immutable values).
 */
function rebuild(node: YamlValue, holding: ReadonlySet<YamlValue>, next: () => YamlValue): YamlValue {
  if (isMap(node)) {
    if (!holding.has(node)) return node;
    const out: YamlMap = new Map();
    for (const [k, v] of node) {
      const value = rebuild(v, holding, next);
      out.set(typeof k === 'string' && k.includes('((') ? (next() as YamlKey) : k, value);
    }
    return out;
  }
  if (isArray(node)) return holding.has(node) ? node.map((item) => rebuild(item, holding, next)) : node;
  if (typeof node === 'string' && node.includes('((')) return next();
  return node;
}

/**
 * bosh-cli's interpolator: replaces `((name))` references everywhere in `node`, map keys
 * included (each value is interpolated before its key). Returns the new value, which shares
 * the maps and arrays that hold no reference with `node`; `node` is not modified. A reference
 * whose name is not found stays as it is.
 *
 * The lookups (and their failures) happen one at a time in the order of bosh-cli's walk; only
 * the strings that hold `((` are looked at, and the copy is then built without awaiting per node.
 */
export async function interpolate(node: YamlValue, lookup: LookupFn): Promise<YamlValue> {
  const occurrences: Occurrence[] = [];
  const holding = new Set<YamlValue>();
  collect(node, occurrences, holding);
  const results: YamlValue[] = [];
  for (const o of occurrences) {
    const value = await interpolateString(o.text, lookup);
    results.push(o.key ? asKey(value, o.text) : value);
  }
  let i = 0;
  return rebuild(node, holding, () => results[i++] as YamlValue);
}
