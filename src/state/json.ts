import { z } from 'zod';
import { DirectorError } from '../errors.js';

/** A value that survives a JSON round trip: what the JSON columns of the state hold. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
export interface JsonObject {
  readonly [key: string]: JsonValue;
}

const jsonValue: z.ZodType<JsonValue> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z.number().finite(),
    z.string(),
    z.array(jsonValue),
    z.record(z.string(), jsonValue),
  ]),
);

/** Schemas for the JSON columns, checked when a row is written and again when it is read. */
export const jsonSchemas = {
  value: jsonValue,
  object: z.record(z.string(), jsonValue) as z.ZodType<JsonObject>,
  strings: z.array(z.string()) as z.ZodType<readonly string[]>,
} as const;

/** Serializes `value` for a JSON column after checking it against `schema`. */
export function toJsonColumn<T>(schema: z.ZodType<T>, value: T, what: string): string {
  const checked = schema.safeParse(value);
  if (!checked.success) {
    throw new DirectorError(`Writing ${what}: not valid JSON data (${describeIssue(checked.error)})`);
  }
  return JSON.stringify(checked.data);
}

/** Parses a JSON column read back from the state file and checks it against `schema`. */
export function fromJsonColumn<T>(schema: z.ZodType<T>, text: string, what: string): T {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (err) {
    throw new DirectorError(`Reading ${what} from the state file: stored JSON is corrupt`, { cause: err });
  }
  const checked = schema.safeParse(raw);
  if (!checked.success) {
    throw new DirectorError(`Reading ${what} from the state file: unexpected shape (${describeIssue(checked.error)})`);
  }
  return checked.data;
}

function describeIssue(err: z.ZodError): string {
  const issue = err.issues[0];
  if (issue === undefined) return 'invalid';
  const path = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
  return `${path}: ${issue.message}`;
}
