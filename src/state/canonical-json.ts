import { createHash } from 'node:crypto';
import type { JsonValue } from './json.js';

/** JSON with object keys sorted at every level, so equal values give equal text. */
export function canonicalJson(value: JsonValue): string {
  return JSON.stringify(sortKeys(value));
}

/** sha256 (hex) of the canonical JSON of `value`. */
export function jsonSha256(value: JsonValue): string {
  return createHash('sha256').update(canonicalJson(value)).digest('hex');
}

function sortKeys(value: JsonValue): JsonValue {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const obj = value as { readonly [key: string]: JsonValue };
    return Object.fromEntries(
      Object.keys(obj)
        .sort()
        .map((k) => [k, sortKeys(obj[k] as JsonValue)]),
    );
  }
  return value;
}
