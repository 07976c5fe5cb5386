/**
 * What changes in an instance, attribute by attribute, as terraform prints a plan: the path of
 * the attribute, its value before and after. Values are plain JSON; secrets are masked before
 * they get here (see `secretMask`), so a change can be printed and logged.
 */

/** A JSON value as a change shows it (`undefined`: the attribute is absent on that side). */
export type Shown = string | number | boolean | null | readonly Shown[] | { readonly [key: string]: Shown };

/**
 * Turns a value into one that can be shown: every occurrence of a secret's value in a string
 * becomes its `((name))`, as the manifest wrote it. `secrets` maps a value to its name; values
 * shorter than 8 characters are masked only where they are the whole string (a short value
 * would otherwise mask unrelated text).
 */
export function secretMask(secrets: ReadonlyMap<string, string>): (value: unknown) => Shown {
  const long = [...secrets].filter(([v]) => v.length >= 8).sort((a, b) => b[0].length - a[0].length);
  const maskString = (s: string): string => {
    const exact = secrets.get(s);
    if (exact !== undefined) return `((${exact}))`;
    let out = s;
    for (const [v, name] of long) if (out.includes(v)) out = out.split(v).join(`((${name}))`);
    return out;
  };
  const mask = (value: unknown): Shown => {
    if (typeof value === 'string') return maskString(value);
    if (value === null || value === undefined) return null;
    if (typeof value === 'number' || typeof value === 'boolean') return value;
    if (Array.isArray(value)) return value.map(mask);
    if (typeof value === 'object')
      return Object.fromEntries(Object.entries(value as Record<string, unknown>).map(([k, v]) => [k, mask(v)]));
    return String(value);
  };
  return mask;
}

/** Masks nothing (no secret known). */
export const noMask = secretMask(new Map());

/**
 * Secret values of a variable, by the name a manifest would reference them with: a password is
 * `name`, a certificate's parts `name.certificate`, `name.private_key`, `name.ca`.
 */
export function secretLeaves(name: string, value: unknown, into: Map<string, string>): void {
  if (typeof value === 'string') {
    if (value !== '') into.set(value, name);
  } else if (typeof value === 'number' || typeof value === 'boolean') {
    // numbers and booleans are not secrets a manifest can leak by accident
  } else if (Array.isArray(value)) {
    value.forEach((v, i) => secretLeaves(`${name}.${i}`, v, into));
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value as Record<string, unknown>)) secretLeaves(`${name}.${k}`, v, into);
  }
}

/** One attribute that differs: `cloud_properties.instance_type: "a" → "b"`. */
export interface AttributeDiff {
  readonly path: string;
  readonly before?: Shown;
  readonly after?: Shown;
}

const isObject = (v: unknown): v is { readonly [key: string]: Shown } =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * The attributes that differ between two shown values, by dotted path under `prefix`: maps are
 * compared key by key, everything else (scalars, lists) as a whole.
 */
export function diffAttributes(prefix: string, before: Shown | undefined, after: Shown | undefined): AttributeDiff[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => diffAttributes(`${prefix}.${k}`, before[k], after[k]));
  }
  if (sameShown(before, after)) return [];
  return [{ path: prefix, ...(before === undefined ? {} : { before }), ...(after === undefined ? {} : { after }) }];
}

function sameShown(a: Shown | undefined, b: Shown | undefined): boolean {
  return stable(a) === stable(b);
}

/** JSON with map keys sorted, so key order never counts as a change. */
function stable(v: Shown | undefined): string {
  if (v === undefined) return 'undefined';
  if (Array.isArray(v)) return `[${v.map(stable).join(',')}]`;
  if (isObject(v))
    return `{${Object.keys(v)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${stable(v[k])}`)
      .join(',')}}`;
  return JSON.stringify(v);
}

/** A shown value on one line, as terraform quotes it: strings in quotes, structures as JSON. */
export function formatShown(v: Shown | undefined): string {
  if (v === undefined) return '(none)';
  return JSON.stringify(v);
}
