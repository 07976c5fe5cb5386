import type { JsonValue } from './json.js';

/** Replaces known secret values in text with `<redacted>` before it is stored in a task log. */
export interface Redactor {
  add(values: Iterable<string>): void;
  apply(text: string): string;
}

/** Values shorter than this are not treated as secrets: redacting "a" would shred every line. */
const MIN_SECRET_LENGTH = 4;

export function createRedactor(): Redactor {
  const secrets = new Set<string>();
  let ordered: string[] = [];
  return {
    add(values) {
      let changed = false;
      for (const v of values) {
        for (const form of forms(v)) {
          if (form.length >= MIN_SECRET_LENGTH && !secrets.has(form)) {
            secrets.add(form);
            changed = true;
          }
        }
      }
      // Longest first, so a secret containing another is replaced whole.
      if (changed) ordered = [...secrets].sort((a, b) => b.length - a.length);
    },
    apply(text) {
      let out = text;
      for (const s of ordered) if (out.includes(s)) out = out.split(s).join('<redacted>');
      return out;
    },
  };
}

/**
 * The ways a secret shows up in a log line: as is, JSON-escaped (a PEM key inside a JSON
 * payload), and each line of a multi-line secret on its own.
 */
function forms(value: string): string[] {
  const out = [value, JSON.stringify(value).slice(1, -1)];
  if (value.includes('\n')) {
    for (const line of value.split('\n')) {
      const t = line.trim();
      // PEM armour lines are not secret and would redact every certificate.
      if (t !== '' && !t.startsWith('-----')) out.push(t);
    }
  }
  return out;
}

/** `value` with `redact` applied to every string in it (keys included), structure untouched. */
export function redactJson(value: JsonValue, redact: (text: string) => string): JsonValue {
  if (typeof value === 'string') return redact(value);
  if (Array.isArray(value)) return value.map((v: JsonValue) => redactJson(v, redact));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [redact(k), redactJson(v, redact)]));
  }
  return value;
}

/** Every string inside a JSON value (the secrets of a variable). */
export function stringsIn(value: unknown): string[] {
  if (typeof value === 'string') return [value];
  if (Array.isArray(value)) return value.flatMap(stringsIn);
  if (value !== null && typeof value === 'object') return Object.values(value).flatMap(stringsIn);
  return [];
}
