/**
 * The document model of the manifest layer: what YAML reads into, what ops-files patch, what
 * variables are interpolated into, what the YAML writer prints.
 *
 * Mappings are `Map`s, not plain objects, because bosh-cli (gopkg.in/yaml.v2) keeps map keys
 * typed: `yes:` is the boolean key `true`, `8080:` is the integer key 8080, and both print back
 * unquoted. A plain object would turn them into the strings "true" and "8080".
 */
export type YamlKey = string | number | bigint | boolean | null;
export type YamlMap = Map<YamlKey, YamlValue>;
/**
 * Integers are numbers while they fit in a double exactly; larger ones (yaml.v2 keeps int64 and
 * uint64) are bigints, so `12345678901234567890` prints back as it was written.
 */
export type YamlValue = null | boolean | number | bigint | string | YamlValue[] | YamlMap;

export function isMap(v: unknown): v is YamlMap {
  return v instanceof Map;
}

export function isArray(v: unknown): v is YamlValue[] {
  return Array.isArray(v);
}

/** A deep copy; scalars are shared. */
export function clone<T extends YamlValue>(v: T): T {
  return cloneValue(v) as T;
}

function cloneValue(v: YamlValue): YamlValue {
  if (v instanceof Map) {
    const m: YamlMap = new Map();
    for (const [k, val] of v) m.set(k, cloneValue(val));
    return m;
  }
  if (Array.isArray(v)) return v.map(cloneValue);
  return v;
}

/** Deep equality as Go's reflect.DeepEqual sees decoded YAML (map key order does not matter). */
export function deepEqual(a: YamlValue, b: YamlValue): boolean {
  if (a === b) return true;
  if (typeof a === 'number' && typeof b === 'number') return Number.isNaN(a) && Number.isNaN(b);
  if (a instanceof Map) {
    if (!(b instanceof Map) || a.size !== b.size) return false;
    for (const [k, v] of a) {
      if (!b.has(k) || !deepEqual(v, b.get(k) as YamlValue)) return false;
    }
    return true;
  }
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i] as YamlValue));
  }
  return false;
}

/** The Go type name bosh-cli's errors print for a decoded YAML value (`%T`). */
export function goTypeName(v: YamlValue | undefined): string {
  if (v === null || v === undefined) return '<nil>';
  if (v instanceof Map) return 'map[interface {}]interface {}';
  if (Array.isArray(v)) return '[]interface {}';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int' : 'float64';
  if (typeof v === 'bigint') return v > 9223372036854775807n ? 'uint64' : 'int';
  return 'string';
}

/** Plain JSON-shaped data (for JSON output, validation and templates); map keys become strings. */
export type Plain = null | boolean | number | string | Plain[] | { [key: string]: Plain };

export function toPlain(v: YamlValue): Plain {
  if (v instanceof Map) {
    const o: { [key: string]: Plain } = {};
    for (const [k, val] of v) {
      Object.defineProperty(o, String(k), {
        value: toPlain(val),
        enumerable: true,
        writable: true,
        configurable: true,
      });
    }
    return o;
  }
  if (Array.isArray(v)) return v.map(toPlain);
  // JSON has no bigints: a number as close as a double gets (templates and validation only).
  if (typeof v === 'bigint') return Number(v);
  return v;
}

export function fromPlain(v: unknown): YamlValue {
  if (v === undefined || v === null) return null;
  if (Array.isArray(v)) return v.map(fromPlain);
  if (typeof v === 'object') {
    const m: YamlMap = new Map();
    for (const [k, val] of Object.entries(v as Record<string, unknown>)) m.set(k, fromPlain(val));
    return m;
  }
  if (typeof v === 'boolean' || typeof v === 'number' || typeof v === 'bigint' || typeof v === 'string') return v;
  return String(v);
}

/** Builds a YamlMap from entries, in order; handy in tests and generators. */
export function ymap(entries: Record<string, YamlValue> | [YamlKey, YamlValue][]): YamlMap {
  return new Map(Array.isArray(entries) ? entries : Object.entries(entries));
}
